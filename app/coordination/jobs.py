"""Background work of the coordination domain: keeping release moments in step, invitations,
reminders (the job functions; app/jobs.py schedules them)."""

from __future__ import annotations

from typing import Any

from app.coordination.appointments import sync_release_moments
from app.coordination.invitations import send_invitations_job
from app.coordination.reminders import send_reminders_job
from app.db import transaction, utcnow
from app.web import AMSTERDAM

__all__ = ["send_invitations_job", "send_reminders_job", "sync_release_moments_job"]


async def sync_release_moments_job(ctx: dict[str, Any]) -> int:
    """A safety net: notices move release moments at once; this catches any other path."""
    now = ctx.get("now") or utcnow()
    async with transaction(ctx["session_factory"]) as session:
        moved = await sync_release_moments(session, today=now.astimezone(AMSTERDAM).date())
    return len(moved)
