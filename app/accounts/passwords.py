"""Passwords (argon2id) and the hashes of secrets (SHA-256 for tokens and links), and the
normalised forms of an e-mail address."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with the library's RFC 9106 "low memory" profile: safe and fast enough for logins.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A Dutch message if a new password is too weak, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Kies een wachtwoord van minstens {MIN_PASSWORD_LENGTH} tekens."
    if password.lower() in {"demo-wachtwoord", "wachtwoord1234", "welkom123456"}:
        return "Dit wachtwoord is te bekend. Kies een ander wachtwoord."
    return None


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def account_key(email: str) -> str:
    """How throttling names an account: the hash of its normalised e-mail address."""
    return sha256(normalise_email(email))
