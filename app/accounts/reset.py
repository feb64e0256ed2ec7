"""Password reset by e-mail: a single-use, short-lived link whose secret is stored only as a hash.

Asking for a link answers the same whether the address is known or not; the work that depends on
the account (the link, the e-mail) is done after the answer has gone out, so its timing tells
nothing either. Requests are limited per address (`PASSWORD_RESET_REQUESTS_PER_HOUR`, answered
with 429) and e-mails per account (`PASSWORD_RESET_MAILS_PER_HOUR`, silently: saying so would
tell that the account exists). Using the link sets a new password under the usual rules and ends
every session, API token and other reset link of the account (services.end_all_access).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.accounts import throttle
from app.accounts.models import PasswordReset, User
from app.accounts.passwords import account_key, normalise_email, sha256
from app.accounts.services import change_password
from app.db import utcnow
from app.settings import Settings

MAIL_KIND = "password_reset"
RESET_PATH = "/wachtwoord-herstellen/"


@dataclass(frozen=True)
class ResetRules:
    """How long a link works and how many may be asked for."""

    minutes: int = 30
    mails_per_hour: int = 3  # per account
    requests_per_hour: int = 10  # per address

    @classmethod
    def from_settings(cls, settings: Settings) -> ResetRules:
        return cls(
            minutes=settings.password_reset_minutes,
            mails_per_hour=settings.password_reset_mails_per_hour,
            requests_per_hour=settings.password_reset_requests_per_hour,
        )


async def note_request(session: AsyncSession, email: str, ip: str, rules: ResetRules) -> bool:
    """Count a request from this address; False when the address asked too often this hour."""
    if await throttle.recent_resets_from(session, ip) >= rules.requests_per_hour:
        return False
    throttle.record(session, account_key(email), ip, kind=throttle.RESET)
    return True


async def issue(
    session: AsyncSession, email: str, rules: ResetRules, *, demo_allowed: bool
) -> tuple[User, str] | None:
    """A new reset link's secret for the account with this address, or None (unknown, inactive,
    a demo account where those are refused, or enough links this hour)."""
    user = (
        await session.scalars(select(User).where(User.email == normalise_email(email)))
    ).one_or_none()
    if user is None or not user.active or (user.is_demo and not demo_allowed):
        return None
    since = utcnow() - dt.timedelta(hours=1)
    recent = await session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at >= since)
    )
    if (recent or 0) >= rules.mails_per_hour:
        return None
    # Only the newest link works: an older one still lying in a mailbox is spent now.
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    secret = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            token_hash=sha256(secret),
            user_id=user.id,
            expires_at=utcnow() + dt.timedelta(minutes=rules.minutes),
        )
    )
    await session.flush()
    return user, secret


def link(settings: Settings, secret: str) -> str:
    return f"{settings.base_url}{RESET_PATH}{secret}"


async def queue_mail(
    session: AsyncSession, settings: Settings, user: User, secret: str, rules: ResetRules
) -> None:
    """The e-mail with the link, through the outbox; no name or other personal data in it."""
    text, html = mail.render("password_reset", link=link(settings, secret), minutes=rules.minutes)
    await mail.queue(
        session,
        kind=MAIL_KIND,
        dedupe_key=f"{MAIL_KIND}:{sha256(secret)}",
        recipient=user.email,
        subject="Nieuw wachtwoord instellen voor Ketentafel",
        body_text=text,
        body_html=html,
    )


async def pending(session: AsyncSession, secret: str) -> PasswordReset | None:
    """The unused, unexpired reset behind this secret, of an active account; else None."""
    if not secret or len(secret) > 100:
        return None
    row = (
        await session.scalars(
            select(PasswordReset).where(
                PasswordReset.token_hash == sha256(secret),
                PasswordReset.used_at.is_(None),
                PasswordReset.expires_at > utcnow(),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    return row if user is not None and user.active else None


async def complete(
    session: AsyncSession, secret: str, new_password: str, *, demo_allowed: bool
) -> User | None:
    """Spend the link (once, also under concurrent use) and set the new password; None if spent."""
    row = await pending(session, secret)
    if row is None:
        return None
    spent = await session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        return None
    user = await session.get(User, row.user_id)
    if user is None or (user.is_demo and not demo_allowed):
        return None
    await change_password(session, user, new_password, keep_session_id=None)
    # The owner is not kept out by failures someone else caused on this account.
    await throttle.forget_failures(session, account_key(user.email))
    return user


async def prune(session: AsyncSession) -> int:
    """Forget reset links a day after they were used or expired (they only count mails per hour)."""
    cutoff = utcnow() - dt.timedelta(days=1)
    result = await session.execute(
        delete(PasswordReset).where(
            (PasswordReset.expires_at < cutoff)
            | (PasswordReset.used_at.is_not(None) & (PasswordReset.used_at < cutoff))
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
