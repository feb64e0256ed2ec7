"""Meeting series rules: the cadence, keeping the coming meetings in existence, finding meetings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import visible_series
from app.db import utcnow
from app.meetings.models import AgendaItem, Meeting, MeetingSeries, MeetingStatus, SeriesMember
from app.principal import Principal

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
ACTIVE_MEETING = (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED, MeetingStatus.IN_PROGRESS)


def _anchor(series: MeetingSeries) -> dt.date:
    anchor = series.anchor_on or dt.date(2024, 1, 1)
    return anchor + dt.timedelta(days=(series.weekday - anchor.weekday()) % 7)


def occurrence_dates(series: MeetingSeries, first: dt.date, last: dt.date) -> list[dt.date]:
    """The meeting dates of a series between two dates (inclusive), on its weekday and cadence."""
    anchor = _anchor(series)
    step = max(1, series.cadence_weeks) * 7
    day = first + dt.timedelta(days=(series.weekday - first.weekday()) % 7)
    dates = []
    while day <= last:
        if ((day - anchor).days // 7) % max(1, series.cadence_weeks) == 0:
            dates.append(day)
            day += dt.timedelta(days=step)
        else:
            day += dt.timedelta(days=7)
    return dates


def starts_at(series: MeetingSeries, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, series.start_time, tzinfo=AMSTERDAM).astimezone(dt.UTC)


def describe_cadence(series: MeetingSeries) -> str:
    every = "elke week" if series.cadence_weeks == 1 else f"elke {series.cadence_weeks} weken"
    return f"{every} op {WEEKDAYS[series.weekday]} om {series.start_time:%H:%M} ({series.duration_minutes} minuten)"


async def ensure_meetings(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Create the meetings of the coming weeks for every active series; cancel ones its cadence dropped.

    Safe to run concurrently and repeatedly: (series, start) is unique and inserts skip conflicts.
    """
    now = now or utcnow()
    today = now.astimezone(AMSTERDAM).date()
    created = 0
    series_list = (
        (await session.scalars(select(MeetingSeries).where(MeetingSeries.active.is_(True))))
        .unique()
        .all()
    )
    dialect = session.get_bind().dialect.name
    for series in series_list:
        wanted = {
            starts_at(series, d)
            for d in occurrence_dates(
                series, today, today + dt.timedelta(weeks=series.horizon_weeks)
            )
        }
        wanted = {w for w in wanted if w > now}
        existing = (
            await session.scalars(
                select(Meeting).where(Meeting.series_id == series.id, Meeting.starts_at > now)
            )
        ).all()
        have = {m.slot_at or m.starts_at for m in existing}
        for start in sorted(wanted - have):
            values = {
                "series_id": series.id,
                "starts_at": start,
                "ends_at": start + dt.timedelta(minutes=series.duration_minutes),
                "status": MeetingStatus.PLANNED.value,
                "location": series.location,
                "online_url": series.online_url,
                "created_at": now,
                "updated_at": now,
            }
            stmt = (
                pg_insert(Meeting) if dialect == "postgresql" else sqlite_insert(Meeting)
            ).values(**values)
            result = await session.execute(
                stmt.on_conflict_do_nothing(index_elements=["series_id", "starts_at"])
            )
            created += int(getattr(result, "rowcount", 0) or 0)
        for meeting in existing:
            if (meeting.slot_at or meeting.starts_at) not in wanted and meeting.status in (
                MeetingStatus.PLANNED,
                MeetingStatus.PUBLISHED,
            ):
                meeting.status = MeetingStatus.CANCELLED
                meeting.sequence += 1
    await session.flush()
    return created


def meetings_query(p: Principal, start: dt.datetime, end: dt.datetime) -> Select[Meeting]:
    """Meetings of the series this principal may see, starting in [start, end), in time order."""
    return (
        select(Meeting)
        .join(MeetingSeries, MeetingSeries.id == Meeting.series_id)
        .where(visible_series(p), Meeting.starts_at >= start, Meeting.starts_at < end)
        .order_by(Meeting.starts_at, Meeting.id)
    )


def region_participants(region_id: int) -> Select[int]:
    """Ids of the users taking part in one of the region's series (a subquery)."""
    return (
        select(SeriesMember.user_id)
        .join(MeetingSeries, MeetingSeries.id == SeriesMember.series_id)
        .where(MeetingSeries.region_id == region_id)
    )


async def visible_meetings(
    session: AsyncSession, p: Principal, start: dt.datetime, end: dt.datetime
) -> list[Meeting]:
    return list((await session.scalars(meetings_query(p, start, end))).unique().all())


async def item_counts(session: AsyncSession, meeting_ids: list[int]) -> dict[int, int]:
    """Agenda items per meeting (those taken off not counted)."""
    if not meeting_ids:
        return {}
    rows = await session.execute(
        select(AgendaItem.meeting_id, func.count())
        .where(AgendaItem.meeting_id.in_(meeting_ids), AgendaItem.removed.is_(False))
        .group_by(AgendaItem.meeting_id)
    )
    return {int(meeting_id): int(n) for meeting_id, n in rows.all()}


async def next_meeting(session: AsyncSession, series_id: int, after: dt.datetime) -> Meeting | None:
    return (
        (
            await session.scalars(
                select(Meeting)
                .where(
                    Meeting.series_id == series_id,
                    Meeting.starts_at > after,
                    Meeting.status.in_(ACTIVE_MEETING),
                )
                .order_by(Meeting.starts_at)
                .limit(1)
            )
        )
        .unique()
        .first()
    )


async def agenda_history(session: AsyncSession, case_id: int) -> list[tuple[AgendaItem, Meeting]]:
    """Every agenda item of a case with its meeting, oldest first (for the case page)."""
    rows = (
        (
            await session.execute(
                select(AgendaItem, Meeting)
                .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                .where(
                    AgendaItem.case_id == case_id,
                    AgendaItem.removed.is_(False),
                    Meeting.status != MeetingStatus.CANCELLED,
                )
                .order_by(Meeting.starts_at)
            )
        )
        .unique()
        .all()
    )
    return list(rows)
