"""Login throttling: failed logins counted per (account, address) and per address, with waits that grow.

Counting per account alone hands an attacker a lockout: five wrong passwords from anywhere would
keep the rightful owner out. Here a wrong password only slows down the address it came from — for
that account (`LOGIN_MAX_FAILURES`) and, against one address trying many accounts, for every
account (`LOGIN_MAX_FAILURES_PER_ADDRESS`). At the limit the address waits one minute; every
further failure doubles the wait, up to `LOGIN_THROTTLE_MINUTES`, which is also how long a failure
is remembered. Attempts made while waiting are refused without looking at the password and are not
counted, so waiting out the time always helps. The owner elsewhere, or after a password reset
(which forgets the account's failures), logs in as usual. An account is named by the hash of its
e-mail address only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import LoginAttempt
from app.db import utcnow
from app.settings import Settings

LOGIN = "login"
RESET = "reset"
FIRST_WAIT = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class ThrottleRules:
    """How many failed logins are tolerated, where, and for how long they count."""

    max_failures: int = 5  # per account and address
    max_failures_per_address: int = 30  # per address, over all accounts
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottleRules:
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window=dt.timedelta(minutes=settings.login_throttle_minutes),
        )

    def wait_after(self, failures: int, limit: int) -> dt.timedelta | None:
        """No wait below the limit; from there one minute, doubling per failure, at most the window."""
        if failures < limit:
            return None
        doublings = min(failures - limit, 16)
        return min(FIRST_WAIT * 2**doublings, self.window)


async def _count_and_last(
    session: AsyncSession, *conditions: object
) -> tuple[int, dt.datetime | None]:
    row = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(*conditions)  # type: ignore[arg-type]
        )
    ).one()
    return int(row[0] or 0), row[1]


async def blocked_until(
    session: AsyncSession,
    account: str,
    ip: str,
    rules: ThrottleRules,
    now: dt.datetime | None = None,
) -> dt.datetime | None:
    """When this address may try this account (its e-mail hash) again; None: it may try now."""
    now = now or utcnow()
    since = now - rules.window
    recent = (LoginAttempt.kind == LOGIN, LoginAttempt.at >= since, LoginAttempt.ip == ip)
    pair = await _count_and_last(session, *recent, LoginAttempt.email_hash == account)
    address = await _count_and_last(session, *recent)
    until: dt.datetime | None = None
    for (count, last), limit in (
        (pair, rules.max_failures),
        (address, rules.max_failures_per_address),
    ):
        wait = rules.wait_after(count, limit)
        if wait is not None and last is not None and last + wait > now:
            until = max(until, last + wait) if until else last + wait
    return until


def seconds_until(moment: dt.datetime, now: dt.datetime | None = None) -> int:
    """Whole seconds to wait (for Retry-After), at least one."""
    return max(1, math.ceil((moment - (now or utcnow())).total_seconds()))


def record(session: AsyncSession, account: str, ip: str, kind: str = LOGIN) -> None:
    """Remember a failed login (or a reset request) of an account (its e-mail hash) from an address."""
    session.add(LoginAttempt(email_hash=account, ip=ip, kind=kind))


async def forget_failures(session: AsyncSession, account: str, ip: str | None = None) -> None:
    """Forget an account's failed logins: from one address (a good login there) or all (a reset)."""
    condition = [LoginAttempt.kind == LOGIN, LoginAttempt.email_hash == account]
    if ip is not None:
        condition.append(LoginAttempt.ip == ip)
    await session.execute(delete(LoginAttempt).where(*condition))


async def recent_resets_from(session: AsyncSession, ip: str, now: dt.datetime | None = None) -> int:
    """Password-reset requests from this address in the last hour (known and unknown addresses)."""
    since = (now or utcnow()) - dt.timedelta(hours=1)
    count, _last = await _count_and_last(
        session, LoginAttempt.kind == RESET, LoginAttempt.ip == ip, LoginAttempt.at >= since
    )
    return count


async def prune(session: AsyncSession, rules: ThrottleRules) -> int:
    """Forget what no longer counts: failures after the window, reset requests after an hour."""
    horizon = max(rules.window, dt.timedelta(hours=1))
    result = await session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - horizon))
    return int(getattr(result, "rowcount", 0) or 0)
