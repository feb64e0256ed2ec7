"""The demo world is made relative to the day it is loaded: on any date (year end, summer-time
nights, Koningsdag) it must hold together, with nothing in it dated after the moment it was made."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Case, DetentionPeriod, Notice, NoticeStatus
from app.coordination.models import ActionItem, ActionStatus, Appointment, AppointmentKind
from app.coordination.release import RELEASE_TIME
from app.db import utcnow
from app.meetings.models import AgendaItem, Meeting, MeetingSeries, MeetingStatus
from app.meetings.services import AMSTERDAM, ensure_meetings
from app.web import today_local


async def test_nothing_in_the_demo_happened_after_it_was_made(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now, today = utcnow(), today_local()
    async with sessions() as s:
        later_notices = await s.scalar(
            select(func.count()).select_from(Notice).where(Notice.received_at > now)
        )
        later_meetings = await s.scalar(
            select(func.count())
            .select_from(Meeting)
            .where(Meeting.status == MeetingStatus.FINISHED, Meeting.ended_at > now)
        )
        later_items = await s.scalar(
            select(func.count()).select_from(AgendaItem).where(AgendaItem.started_at > now)
        )
        opened = await s.scalar(select(func.max(Case.opened_on)))
        entered = await s.scalar(select(func.max(DetentionPeriod.entered_on)))
        released = await s.scalar(select(func.max(DetentionPeriod.released_on)))
    assert (later_notices, later_meetings, later_items) == (0, 0, 0)
    assert opened is not None
    assert entered is not None
    assert released is not None
    assert max(opened, entered, released) <= today


async def test_every_demo_notice_is_taken_in_whatever_the_date(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """No notice refused for a date (a birth or release in the future, say); one resident of a
    gemeente outside both regions is parked for the beheerder, on purpose."""
    async with sessions() as s:
        statuses = dict(
            (await s.execute(select(Notice.status, func.count()).group_by(Notice.status))).all()
        )
    assert set(statuses) == {NoticeStatus.ACCEPTED, NoticeStatus.PARKED}
    assert statuses[NoticeStatus.PARKED] == 1


async def test_demo_meetings_and_release_appointments_keep_their_local_time_across_summer_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
    async with sessions() as s:
        meetings = (
            await s.execute(
                select(Meeting.starts_at, MeetingSeries.weekday, MeetingSeries.start_time).join(
                    MeetingSeries, MeetingSeries.id == Meeting.series_id
                )
            )
        ).all()
        releases = (
            (
                await s.scalars(
                    select(Appointment).where(
                        Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT
                    )
                )
            )
            .unique()
            .all()
        )
    now = utcnow()
    assert any(starts < now for starts, _w, _t in meetings)  # the demo's history
    assert any(starts > now for starts, _w, _t in meetings)  # and the coming weeks
    for starts, weekday, start_time in meetings:
        local = starts.astimezone(AMSTERDAM)
        assert (local.weekday(), local.time()) == (weekday, start_time), starts
    assert releases
    assert {r.starts_at.astimezone(AMSTERDAM).time() for r in releases} == {RELEASE_TIME}


async def test_the_demo_has_work_overdue_and_coming_for_mijn_werk(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    today = today_local()
    async with sessions() as s:
        due = (
            await s.scalars(
                select(ActionItem.due_on).where(
                    ActionItem.status == ActionStatus.OPEN, ActionItem.due_on.is_not(None)
                )
            )
        ).all()
    dates = [d for d in due if d is not None]
    assert any(d < today for d in dates)
    assert any(today <= d <= today + dt.timedelta(days=7) for d in dates)
