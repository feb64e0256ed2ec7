"""Background work of accounts: forget old failed-login records."""

from __future__ import annotations

from typing import Any

from app.accounts.services import prune_login_attempts
from app.db import transaction


async def prune_login_attempts_job(ctx: dict[str, Any]) -> int:
    async with transaction(ctx["session_factory"]) as session:
        return await prune_login_attempts(session)
