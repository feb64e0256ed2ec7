"""Background work of the coordination domain: keeping the release appointments in step, invitations,
reminders (the job functions; app/jobs.py schedules them)."""

from __future__ import annotations

from typing import Any

from app.coordination.invitations import send_invitations_job
from app.coordination.release import sync_release_appointments
from app.coordination.reminders import send_reminders_job
from app.db import transaction, utcnow
from app.web import AMSTERDAM

__all__ = ["send_invitations_job", "send_reminders_job", "sync_release_appointments_job"]


async def sync_release_appointments_job(ctx: dict[str, Any]) -> int:
    """A safety net: notices move release appointments at once; this catches any other path."""
    now = ctx.get("now") or utcnow()
    async with transaction(ctx["session_factory"]) as session:
        moved = await sync_release_appointments(session, today=now.astimezone(AMSTERDAM).date())
    return len(moved)
