"""Background work of the meetings domain: keep meetings in existence, build agendas ahead of time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from app.db import transaction, utcnow
from app.logs import get_logger
from app.meetings.agenda import build_agenda
from app.meetings.models import Meeting, MeetingSeries, MeetingStatus
from app.meetings.services import ensure_meetings

log = get_logger("app.meetings.jobs")


async def ensure_meetings_job(ctx: dict[str, Any]) -> int:
    """Every series has its meetings of the coming weeks (daily, and at start-up)."""
    async with transaction(ctx["session_factory"]) as session:
        created = await ensure_meetings(session, ctx.get("now") or utcnow())
    if created:
        log.info("meetings.created", count=created)
    return created


async def build_agendas_job(ctx: dict[str, Any]) -> int:
    """Build the agenda of each meeting that starts within its series' lead time and has none yet."""
    now: dt.datetime = ctx.get("now") or utcnow()
    built = 0
    async with transaction(ctx["session_factory"]) as session:
        meetings = (
            (
                await session.scalars(
                    select(Meeting)
                    .join(MeetingSeries, MeetingSeries.id == Meeting.series_id)
                    .where(
                        Meeting.status.in_([MeetingStatus.PLANNED, MeetingStatus.PUBLISHED]),
                        Meeting.agenda_built_at.is_(None),
                        Meeting.starts_at > now,
                        Meeting.starts_at <= now + dt.timedelta(hours=72),
                    )
                )
            )
            .unique()
            .all()
        )
        for meeting in meetings:
            if meeting.starts_at - dt.timedelta(hours=meeting.series.agenda_lead_hours) <= now:
                await build_agenda(session, meeting)
                built += 1
    if built:
        log.info("agendas.built", count=built)
    return built
