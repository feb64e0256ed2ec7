"""Bearer tokens: a user's tokens and organisations' API keys, issuing, listing and revoking them,
and whether a session or token may still be used."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, User, UserSession
from app.accounts.passwords import sha256
from app.db import utcnow
from app.principal import Principal
from app.reference.models import Organisation

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
    of its user was ended after `opened_at` (`end_all_access`). One function, because the three
    batched lookups and the rules that read them belong together.
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
