"""Background work of accounts: forget old failed-login records and spent password-reset links."""

from __future__ import annotations

from typing import Any

from app.accounts import reset
from app.accounts.services import prune_login_attempts
from app.accounts.throttle import ThrottleRules
from app.db import transaction


async def prune_login_attempts_job(ctx: dict[str, Any]) -> int:
    async with transaction(ctx["session_factory"]) as session:
        pruned = await prune_login_attempts(session, ThrottleRules.from_settings(ctx["settings"]))
        return pruned + await reset.prune(session)
