"""Announcing a changed case to the meeting rooms that have it on the agenda right now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.models import AgendaItem, Meeting, MeetingStatus
from app.realtime import publish


async def announce_case(app: Any, factory: Any, case_id: int, event: str) -> None:
    """After a commit: tell rooms in progress that show this case to refresh one part of it."""
    async with factory() as session:
        meeting_ids = await rooms_with_case(session, case_id)
    for meeting_id in meeting_ids:
        publish(app, meeting_id, event, case_id=case_id)


async def rooms_with_case(session: AsyncSession, case_id: int) -> list[int]:
    return list(
        (
            await session.scalars(
                select(Meeting.id)
                .join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
                .where(
                    AgendaItem.case_id == case_id,
                    Meeting.status.in_(
                        [MeetingStatus.IN_PROGRESS, MeetingStatus.PUBLISHED, MeetingStatus.PLANNED]
                    ),
                )
            )
        ).all()
    )
