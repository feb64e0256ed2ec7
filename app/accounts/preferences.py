"""A user's own settings: which reminders they get, and the secret of their calendar feed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.accounts.passwords import sha256
from app.db import utcnow

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
