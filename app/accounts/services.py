"""Account rules: passwords, logging in, sessions, bearer tokens, whether they still hold, a Principal."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import math
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts import throttle
from app.accounts.models import ApiToken, PasswordReset, Role, User, UserRole, UserSession
from app.db import utcnow
from app.meetings.models import MeetingSeries, SeriesMember
from app.principal import Principal
from app.reference.models import Organisation, OrganisationKind

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


# ---------------------------------------------------------------- bearer tokens

TOKEN_PREFIX = "kt_"  # noqa: S105 - a recognisable prefix, not a secret


def _new_token_value() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)
    value = f"{TOKEN_PREFIX}{secret}"
    return value, value[: len(TOKEN_PREFIX) + 6]


async def issue_user_token(
    session: AsyncSession, user: User, hours: int, *, via: str = "api"
) -> str:
    value, prefix = _new_token_value()
    session.add(
        ApiToken(
            token_hash=sha256(value),
            prefix=prefix,
            name="API-token",
            user_id=user.id,
            created_by_id=user.id,
            expires_at=utcnow() + dt.timedelta(hours=hours),
            issued_via=via,
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
        issued_via="beheer" if created_by is not None else "cli",
    )
    session.add(row)
    await session.flush()
    return value, row


TOKEN_CHANNELS = {
    "api": "API, met e-mailadres en wachtwoord",
    "beheer": "Beheer",
    "cli": "Opdrachtregel",
}


def token_channel(token: ApiToken) -> str:
    """How a token was issued, in Dutch (tokens from before this was kept came from the API)."""
    return TOKEN_CHANNELS.get(token.issued_via or "api", token.issued_via)


async def user_tokens(session: AsyncSession, user_id: int) -> list[ApiToken]:
    """The user's API tokens that still work, newest first (for the profile page)."""
    now = utcnow()
    return list(
        (
            await session.scalars(
                select(ApiToken)
                .where(
                    ApiToken.user_id == user_id,
                    ApiToken.revoked_at.is_(None),
                    (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
                )
                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
            )
        ).all()
    )


async def revoke_own_token(session: AsyncSession, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or no longer works."""
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return getattr(result, "rowcount", 0) == 1


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


# ---------------------------------------------------------------- is it still valid?


@dataclass(frozen=True)
class Credential:
    """What a long-lived connection (plan socket, event stream) was opened with.

    `session_id` or `token_id` when it came with a browser session or a bearer token (as on its
    Principal); neither when it was opened with a single-use plan ticket, whose worth then rests on
    the user and `opened_at`.
    """

    user_id: int | None
    session_id: int | None = None
    token_id: int | None = None
    opened_at: dt.datetime | None = None

    @classmethod
    def of(cls, principal: Principal, opened_at: dt.datetime | None = None) -> Credential:
        return cls(
            user_id=principal.user_id,
            session_id=principal.session_id,
            token_id=principal.token_id,
            opened_at=opened_at or utcnow(),
        )


async def still_valid(
    session: AsyncSession,
    credentials: Collection[Credential],
    *,
    demo_allowed: bool = True,
    now: dt.datetime | None = None,
) -> set[Credential]:
    """Which of these credentials may go on being used now; at most three queries by primary key.

    A credential ends when its user is deactivated (or is a demo account where those are refused),
    its session ended (logout, password change elsewhere, reset) or expired, or its token was
    revoked or expired. One with neither session nor token (a plan ticket) ends when every access
    of its user was ended after `opened_at` (`end_all_access`).
    """
    now = now or utcnow()
    user_ids = {c.user_id for c in credentials if c.user_id is not None}
    session_ids = {c.session_id for c in credentials if c.session_id is not None}
    token_ids = {c.token_id for c in credentials if c.token_id is not None}
    users: dict[int, dt.datetime | None] = {}
    if user_ids:
        rows = await session.execute(
            select(User.id, User.credentials_revoked_at).where(
                User.id.in_(user_ids),
                User.active.is_(True),
                *(() if demo_allowed else (User.is_demo.is_(False),)),
            )
        )
        users = {row[0]: row[1] for row in rows}
    live_sessions: set[int] = set()
    if session_ids:
        live_sessions = set(
            (
                await session.scalars(
                    select(UserSession.id).where(
                        UserSession.id.in_(session_ids),
                        UserSession.ended_at.is_(None),
                        UserSession.expires_at > now,
                    )
                )
            ).all()
        )
    live_tokens: set[int] = set()
    if token_ids:
        live_tokens = set(
            (
                await session.scalars(
                    select(ApiToken.id).where(
                        ApiToken.id.in_(token_ids),
                        ApiToken.revoked_at.is_(None),
                        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
                    )
                )
            ).all()
        )
    valid: set[Credential] = set()
    for c in credentials:
        if c.user_id is not None and c.user_id not in users:
            continue
        if c.session_id is not None:
            ok = c.session_id in live_sessions
        elif c.token_id is not None:
            ok = c.token_id in live_tokens
        else:
            revoked = users.get(c.user_id) if c.user_id is not None else None
            ok = c.user_id is not None and (
                revoked is None or (c.opened_at is not None and c.opened_at > revoked)
            )
        if ok:
            valid.add(c)
    return valid


async def is_still_valid(
    session: AsyncSession, credential: Credential, *, demo_allowed: bool = True
) -> bool:
    """`still_valid` for one connection."""
    return credential in await still_valid(session, [credential], demo_allowed=demo_allowed)


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
    """A new feed URL for the user, at their request; the previous one stops working at once."""
    user.calendar_nonce = secrets.token_hex(16)
    secret = calendar_secret(secret_key, user.calendar_nonce)
    user.calendar_secret_hash = sha256(secret)
    user.calendar_revoked_at = None
    return secret


def revoke_calendar_secret(user: User) -> None:
    """Withdraw the feed; only the user makes a new one (on the profile page), nothing else does."""
    user.calendar_nonce = None
    user.calendar_secret_hash = None
    user.calendar_revoked_at = utcnow()


async def first_calendar_secret(session: AsyncSession, user: User, secret_key: str) -> None:
    """Give a user who never had a feed their first one (GET /api/v1/me shows it).

    Never after the user withdrew theirs. The UPDATE is conditional so two simultaneous first
    calls agree on one address.
    """
    if user.calendar_nonce or user.calendar_revoked_at is not None:
        return
    nonce = secrets.token_hex(16)
    await session.execute(
        update(User)
        .where(
            User.id == user.id,
            User.calendar_nonce.is_(None),
            User.calendar_revoked_at.is_(None),
        )
        .values(
            calendar_nonce=nonce, calendar_secret_hash=sha256(calendar_secret(secret_key, nonce))
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(user, ["calendar_nonce", "calendar_secret_hash", "calendar_revoked_at"])


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
