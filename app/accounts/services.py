"""Account rules: logging in (with throttling), sessions and what ends them, creating and loading
users. Passwords: app/accounts/passwords.py; bearer tokens: tokens.py; the caller as a Principal:
principals.py; reminders and the calendar secret: preferences.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts import throttle
from app.accounts.models import ApiToken, PasswordReset, Role, User, UserRole, UserSession
from app.accounts.passwords import (
    account_key,
    hash_password,
    normalise_email,
    sha256,
    verify_password,
)
from app.db import utcnow

# ---------------------------------------------------------------- logging in


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt; `error` is the Dutch message to show, the same for any account.

    `retry_after` (seconds) is set when the address must wait before trying this account again.
    """

    user: User | None
    error: str | None
    retry_after: int | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after is not None


BAD_CREDENTIALS = "Het e-mailadres of het wachtwoord klopt niet."


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    wait = "een minuut" if minutes == 1 else f"{minutes} minuten"
    return (
        f"Te veel mislukte inlogpogingen vanaf dit adres. Probeer het over {wait} opnieuw, "
        "of stel een nieuw wachtwoord in via ‘Wachtwoord vergeten?’."
    )


async def authenticate(
    session: AsyncSession,
    email: str,
    password: str,
    ip: str,
    *,
    demo_allowed: bool,
    rules: throttle.ThrottleRules | None = None,
) -> LoginResult:
    """Check credentials with throttling per account and address; never tells whether an account exists."""
    rules = rules or throttle.ThrottleRules()
    email = normalise_email(email)
    key = account_key(email)
    until = await throttle.blocked_until(session, key, ip, rules)
    if until is not None:
        seconds = throttle.seconds_until(until)
        return LoginResult(None, throttled_message(seconds), seconds)
    user = (await session.scalars(select(User).where(User.email == email))).one_or_none()
    # Always run one argon2 verification so timing does not reveal whether the account exists;
    # in a thread, as it takes a good part of a second of CPU that the event loop cannot spare.
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else "", password)
    if not (user and ok and user.active and (demo_allowed or not user.is_demo)):
        throttle.record(session, key, ip)
        return LoginResult(None, BAD_CREDENTIALS)
    await throttle.forget_failures(session, key, ip)
    user.last_login_at = utcnow()
    return LoginResult(user, None)


async def prune_login_attempts(session: AsyncSession, rules: throttle.ThrottleRules) -> int:
    return await throttle.prune(session, rules)


# ---------------------------------------------------------------- sessions


async def start_session(session: AsyncSession, user: User, hours: int) -> tuple[str, UserSession]:
    """A fresh random session id (never reused across logins: no session fixation)."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=sha256(token),
        user_id=user.id,
        expires_at=utcnow() + dt.timedelta(hours=hours),
    )
    session.add(row)
    await session.flush()
    return token, row


async def end_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


async def end_all_sessions(
    session: AsyncSession, user_id: int, *, keep_session_id: int | None = None
) -> None:
    """End the user's browser sessions, all of them or all but the one given."""
    condition = [UserSession.user_id == user_id, UserSession.ended_at.is_(None)]
    if keep_session_id is not None:
        condition.append(UserSession.id != keep_session_id)
    await session.execute(update(UserSession).where(*condition).values(ended_at=utcnow()))


async def revoke_user_tokens(session: AsyncSession, user_id: int) -> None:
    """Revoke every API token issued to the user (organisation API keys are not theirs)."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def end_all_access(
    session: AsyncSession, user: User, *, keep_session_id: int | None = None
) -> None:
    """End every session (but the one kept) and every API token of the user, unused reset links too.

    Called on a password change (keeping the session that made it), a password reset and a
    deactivation. Long-lived connections (plan sockets, event streams) learn it from
    `still_valid`.
    """
    now = utcnow()
    await end_all_sessions(session, user.id, keep_session_id=keep_session_id)
    await revoke_user_tokens(session, user.id)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    user.credentials_revoked_at = now


async def change_password(
    session: AsyncSession, user: User, new_password: str, *, keep_session_id: int | None
) -> None:
    """Set a new password (the caller checked the rules) and end every other way in."""
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    user.is_demo = False
    await end_all_access(session, user, keep_session_id=keep_session_id)


async def session_user(session: AsyncSession, token: str) -> tuple[UserSession, User] | None:
    now = utcnow()
    row = (
        await session.scalars(
            select(UserSession).where(
                UserSession.token_hash == sha256(token),
                UserSession.ended_at.is_(None),
                UserSession.expires_at > now,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > dt.timedelta(minutes=5):
        row.last_seen_at = now
    return row, user


# ---------------------------------------------------------------- users


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    organisation_id: int,
    roles: set[Role],
    password: str | None = None,
    password_hash: str | None = None,
    phone: str = "",
    is_demo: bool = False,
) -> User:
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        phone=phone,
        organisation_id=organisation_id,
        password_hash=password_hash or (hash_password(password) if password else ""),
        is_demo=is_demo,
        role_rows=[UserRole(role=role) for role in sorted(roles)],
    )
    session.add(user)
    await session.flush()
    return user


async def set_roles(session: AsyncSession, user: User, roles: set[Role]) -> None:
    await session.refresh(user, ["role_rows"])
    current = {Role(r.role): r for r in user.role_rows}
    for role, row in current.items():
        if role not in roles:
            user.role_rows.remove(row)
    for role in roles - set(current):
        user.role_rows.append(UserRole(role=role))


async def load_user(session: AsyncSession, user_id: int) -> User | None:
    return (
        await session.scalars(
            select(User).options(selectinload(User.role_rows)).where(User.id == user_id)
        )
    ).one_or_none()
