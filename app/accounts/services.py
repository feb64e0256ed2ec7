"""Account rules: password hashing, sessions, bearer tokens, login throttling, loading a Principal."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.access import Principal
from app.accounts.models import ApiToken, LoginAttempt, Role, User, UserRole, UserSession
from app.db import utcnow
from app.meetings.models import MeetingSeries, SeriesMember
from app.reference.models import Organisation, OrganisationKind

# argon2id with the library's RFC 9106 "low memory" profile: safe and fast enough for logins.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has")

THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30
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


# ---------------------------------------------------------------- throttling


async def is_throttled(session: AsyncSession, email: str, ip: str) -> bool:
    since = utcnow() - THROTTLE_WINDOW
    per_account = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email_hash == sha256(normalise_email(email)), LoginAttempt.at >= since)
    )
    per_address = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.at >= since)
    )
    return (per_account or 0) >= MAX_FAILURES_PER_ACCOUNT or (
        per_address or 0
    ) >= MAX_FAILURES_PER_ADDRESS


async def record_failure(session: AsyncSession, email: str, ip: str) -> None:
    session.add(LoginAttempt(email_hash=sha256(normalise_email(email)), ip=ip))


async def clear_failures(session: AsyncSession, email: str) -> None:
    await session.execute(
        delete(LoginAttempt).where(LoginAttempt.email_hash == sha256(normalise_email(email)))
    )


async def prune_login_attempts(session: AsyncSession) -> int:
    result = await session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < utcnow() - THROTTLE_WINDOW * 4)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt; `error` is the Dutch message to show, the same for any account."""

    user: User | None
    error: str | None


BAD_CREDENTIALS = "Het e-mailadres of het wachtwoord klopt niet."
THROTTLED = (
    "Te veel mislukte inlogpogingen. Wacht een kwartier en probeer het dan opnieuw, "
    "of neem contact op met de beheerder van uw regio."
)


async def authenticate(
    session: AsyncSession, email: str, password: str, ip: str, *, demo_allowed: bool
) -> LoginResult:
    """Check credentials with throttling; never tells whether an account exists."""
    email = normalise_email(email)
    if await is_throttled(session, email, ip):
        return LoginResult(None, THROTTLED)
    user = (await session.scalars(select(User).where(User.email == email))).one_or_none()
    # Always run one argon2 verification so timing does not reveal whether the account exists.
    ok = verify_password(user.password_hash if user else "", password)
    if not (user and ok and user.active and (demo_allowed or not user.is_demo)):
        await record_failure(session, email, ip)
        return LoginResult(None, BAD_CREDENTIALS)
    await clear_failures(session, email)
    user.last_login_at = utcnow()
    return LoginResult(user, None)


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


async def end_all_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


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


# ---------------------------------------------------------------- bearer tokens

TOKEN_PREFIX = "kt_"  # noqa: S105 - a recognisable prefix, not a secret


def _new_token_value() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    value = f"{TOKEN_PREFIX}{secret}"
    return value, value[: len(TOKEN_PREFIX) + 6]


async def issue_user_token(session: AsyncSession, user: User, hours: int) -> str:
    value, prefix = _new_token_value()
    session.add(
        ApiToken(
            token_hash=sha256(value),
            prefix=prefix,
            name="API-token",
            user_id=user.id,
            created_by_id=user.id,
            expires_at=utcnow() + dt.timedelta(hours=hours),
        )
    )
    await session.flush()
    return value


async def issue_api_key(
    session: AsyncSession, organisation: Organisation, name: str, created_by: int | None
) -> tuple[str, ApiToken]:
    value, prefix = _new_token_value()
    row = ApiToken(
        token_hash=sha256(value),
        prefix=prefix,
        name=name,
        organisation_id=organisation.id,
        created_by_id=created_by,
    )
    session.add(row)
    await session.flush()
    return value, row


async def token_owner(session: AsyncSession, value: str) -> ApiToken | None:
    now = utcnow()
    row = (
        await session.scalars(
            select(ApiToken).where(
                ApiToken.token_hash == sha256(value), ApiToken.revoked_at.is_(None)
            )
        )
    ).one_or_none()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        row.last_used_at = now
    return row


# ---------------------------------------------------------------- reminders

REMINDER_KINDS: list[tuple[str, str]] = [
    ("invitations", "Uitnodigingen voor overleggen en momenten, met agenda-item"),
    ("agenda_published", "De agenda van een overleg is gepubliceerd"),
    ("action_due", "Een actie van mij moet over twee dagen klaar zijn"),
    ("action_overdue", "Een actie van mij is verlopen"),
    ("release", "Een vrijlating waarbij ik betrokken ben is over een week, en morgen"),
]


def wants(user: User, kind: str) -> bool:
    """Every reminder is on until the user turns it off on their profile page."""
    return bool((user.reminder_settings or {}).get(kind, True))


def set_reminders(user: User, chosen: set[str]) -> None:
    user.reminder_settings = {key: key in chosen for key, _ in REMINDER_KINDS}


# ---------------------------------------------------------------- calendar feed secret


def calendar_secret(secret_key: str, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), f"calendar:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def renew_calendar_secret(user: User, secret_key: str) -> str:
    """A new feed URL for the user; the previous one stops working at once."""
    user.calendar_nonce = secrets.token_hex(16)
    secret = calendar_secret(secret_key, user.calendar_nonce)
    user.calendar_secret_hash = sha256(secret)
    return secret


def revoke_calendar_secret(user: User) -> None:
    user.calendar_nonce = None
    user.calendar_secret_hash = None


def calendar_url(user: User, settings_base_url: str, secret_key: str) -> str | None:
    if not user.calendar_nonce:
        return None
    return f"{settings_base_url}/calendar/{calendar_secret(secret_key, user.calendar_nonce)}.ics"


async def user_by_calendar_secret(session: AsyncSession, secret: str) -> User | None:
    return (
        await session.scalars(
            select(User).where(User.calendar_secret_hash == sha256(secret), User.active.is_(True))
        )
    ).one_or_none()


# ---------------------------------------------------------------- principals


async def principal_for_user(
    session: AsyncSession, user: User, *, token_id: int | None = None, session_id: int | None = None
) -> Principal:
    rows = (
        await session.execute(
            select(MeetingSeries.id, MeetingSeries.region_id)
            .join(SeriesMember, SeriesMember.series_id == MeetingSeries.id)
            .where(SeriesMember.user_id == user.id, MeetingSeries.active.is_(True))
        )
    ).all()
    chaired = (
        await session.execute(
            select(MeetingSeries.id, MeetingSeries.region_id).where(
                MeetingSeries.chair_id == user.id, MeetingSeries.active.is_(True)
            )
        )
    ).all()
    org = user.organisation
    return Principal(
        user_id=user.id,
        token_id=token_id,
        session_id=session_id,
        name=user.name,
        email=user.email,
        organisation_id=org.id,
        organisation_name=org.name,
        organisation_kind=OrganisationKind(org.kind),
        organisation_region_id=org.region_id,
        municipality_code=org.municipality_code,
        roles=frozenset(user.roles),
        member_series_ids=frozenset(r[0] for r in rows),
        member_region_ids=frozenset(r[1] for r in rows),
        chaired_series_ids=frozenset(r[0] for r in chaired),
        chaired_region_ids=frozenset(r[1] for r in chaired),
    )


def principal_for_api_key(token: ApiToken, organisation: Organisation) -> Principal:
    return Principal(
        user_id=None,
        token_id=token.id,
        name=token.name,
        email="",
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        organisation_kind=OrganisationKind(organisation.kind),
        organisation_region_id=organisation.region_id,
        municipality_code=organisation.municipality_code,
        is_api_key=True,
    )


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
