"""Building a meeting's agenda from the cases that are due, and the signals a chair needs per item.

Due (docs/domain.md, "The life of a case", step 3):
- instroom: an open case of the region that was never discussed for instroom;
- doorstroom: a case transferred to another institution since it was last discussed;
- uitstroom: expected release within the region's window and not yet discussed for it;
- vervolg: the follow-up date a meeting set has come;
- items deferred at the series' previous meeting, and whatever the chair added by hand.
Regenerating keeps the chair's choices: added items stay, removed items stay away, a hand-made
order stays (new items are appended). Running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import holidays
from sqlalchemy import Table, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.cases.models import (
    BasisdossierEntry,
    Case,
    CaseStatus,
    DetentionPeriod,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from app.db import utcnow
from app.meetings.models import (
    AgendaItem,
    AgendaReason,
    ItemStatus,
    Meeting,
    MeetingStatus,
    SeriesOrganisation,
)
from app.meetings.services import ACTIVE_MEETING, AMSTERDAM
from app.reference.models import Region

AGENDA_ITEMS = cast(Table, AgendaItem.__table__)
# First contact and screening within ten working days (docs/domain.md, "Deadlines").
SCREENING_WORKING_DAYS = 10


@dataclass(frozen=True)
class AgendaChange:
    """What a (re)build did."""

    added: int
    dropped: int
    total: int


def meeting_day(meeting: Meeting) -> dt.date:
    return meeting.starts_at.astimezone(AMSTERDAM).date()


def _discussed(reason: AgendaReason | None = None):  # type: ignore[no-untyped-def]
    item = aliased(AgendaItem)
    conditions = [item.case_id == Case.id, item.status == ItemStatus.DISCUSSED]
    if reason is not None:
        conditions.append(item.reason == reason)
    return exists().where(*conditions)


async def due_cases(
    session: AsyncSession, meeting: Meeting, region: Region
) -> dict[int, tuple[AgendaReason, dt.date]]:
    """case id -> (reason, date of entry) for every case due at this meeting.

    One query per reason (instroom, doorstroom, uitstroom, vervolg), each offering its cases; a case
    due for several reasons keeps the most pressing. The reasons read as one list on purpose: the
    rules of when a case comes back are this function (docs/domain.md, "Deadlines")."""
    day = meeting_day(meeting)
    due: dict[int, tuple[AgendaReason, dt.date]] = {}

    def offer(case_id: int, reason: AgendaReason, entered: dt.date) -> None:
        current = due.get(case_id)
        if current is None or reason.order < current[0].order:
            due[case_id] = (reason, entered)

    instroom = select(Case.id, Case.opened_on).where(
        Case.region_id == region.id,
        Case.status == CaseStatus.OPEN,
        Case.opened_on <= day,
        ~_discussed(AgendaReason.INSTROOM),
    )
    for case_id, opened in (await session.execute(instroom)).all():
        offer(case_id, AgendaReason.INSTROOM, opened)

    # When each case was last discussed (one grouped pass, not a subquery per case).
    last_discussed = (
        select(AgendaItem.case_id.label("case_id"), func.max(Meeting.starts_at).label("at"))
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.status == ItemStatus.DISCUSSED)
        .group_by(AgendaItem.case_id)
        .subquery()
    )
    transferred = (
        select(Case.id, Case.opened_on)
        .join(last_discussed, last_discussed.c.case_id == Case.id)
        .join(Notice, Notice.case_id == Case.id)
        .where(
            Case.region_id == region.id,
            Case.status == CaseStatus.OPEN,
            Notice.soort == NoticeKind.OVERPLAATSING,
            Notice.status == NoticeStatus.ACCEPTED,
            Notice.received_at > last_discussed.c.at,
        )
        .distinct()
    )
    for case_id, opened in (await session.execute(transferred)).all():
        offer(case_id, AgendaReason.DOORSTROOM, opened)

    window_end = day + dt.timedelta(days=region.uitstroom_window_days)
    item = aliased(AgendaItem)
    held = aliased(Meeting)
    uitstroom = (
        select(Case.id, Case.opened_on)
        .join(DetentionPeriod, DetentionPeriod.case_id == Case.id)
        .where(
            Case.region_id == region.id,
            Case.status == CaseStatus.OPEN,
            DetentionPeriod.released_on.is_(None),
            DetentionPeriod.expected_release_on.is_not(None),
            DetentionPeriod.expected_release_on >= day,
            DetentionPeriod.expected_release_on <= window_end,
            ~exists().where(
                item.case_id == Case.id,
                item.reason == AgendaReason.UITSTROOM,
                item.status == ItemStatus.DISCUSSED,
                held.id == item.meeting_id,
                held.starts_at >= func.coalesce(DetentionPeriod.created_at, Case.created_at),
            ),
        )
    )
    for case_id, opened in (await session.execute(uitstroom)).all():
        offer(case_id, AgendaReason.UITSTROOM, opened)

    vervolg = select(Case.id, Case.opened_on).where(
        Case.region_id == region.id,
        Case.status.in_([CaseStatus.OPEN, CaseStatus.NAZORG]),
        Case.follow_up_on.is_not(None),
        Case.follow_up_on <= day,
    )
    for case_id, opened in (await session.execute(vervolg)).all():
        offer(case_id, AgendaReason.VERVOLG, opened)
    return due


async def build_agenda(
    session: AsyncSession, meeting: Meeting, *, added_by: int | None = None
) -> AgendaChange:
    """(Re)build the agenda; works on plain rows and bulk statements, so it stays fast for big regions.

    Kept in one piece because every step reads and changes the same rows (what is due, what the
    chair added, removed or moved, what was deferred last time) before one bulk write."""
    series = meeting.series
    region = series.region
    due = await due_cases(session, meeting, region)

    # Items deferred at the previous meeting of this series come back.
    previous_id = await session.scalar(
        select(Meeting.id)
        .where(
            Meeting.series_id == series.id,
            Meeting.starts_at < meeting.starts_at,
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
    deferred: dict[int, str] = {}
    if previous_id is not None:
        rows = await session.execute(
            select(AgendaItem.case_id, AgendaItem.reason).where(
                AgendaItem.meeting_id == previous_id,
                AgendaItem.status == ItemStatus.DEFERRED,
                AgendaItem.removed.is_(False),
            )
        )
        deferred = {row.case_id: row.reason for row in rows}

    # Cases waiting on an earlier upcoming meeting of the same series are discussed there first.
    waiting_elsewhere = set(
        (
            await session.scalars(
                select(AgendaItem.case_id)
                .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                .where(
                    Meeting.series_id == series.id,
                    Meeting.id != meeting.id,
                    Meeting.starts_at < meeting.starts_at,
                    Meeting.starts_at > utcnow(),
                    Meeting.status.in_(ACTIVE_MEETING),
                    AgendaItem.status == ItemStatus.OPEN,
                    AgendaItem.removed.is_(False),
                )
            )
        ).all()
    )
    existing = {
        row.case_id: row
        for row in await session.execute(
            select(
                AgendaItem.id,
                AgendaItem.case_id,
                AgendaItem.origin,
                AgendaItem.removed,
                AgendaItem.status,
                AgendaItem.started_at,
            ).where(AgendaItem.meeting_id == meeting.id)
        )
    }
    wanted: dict[int, tuple[str, str]] = {
        case_id: (reason.value, "auto") for case_id, (reason, _e) in due.items()
    }
    for case_id, reason in deferred.items():
        wanted.setdefault(case_id, (reason, "deferred"))
    for case_id in waiting_elsewhere:
        wanted.pop(case_id, None)

    now = utcnow()
    new_rows = [
        {
            "meeting_id": meeting.id,
            "case_id": case_id,
            "reason": reason,
            "origin": origin,
            "position": 100_000,
            "removed": False,
            "status": ItemStatus.OPEN.value,
            "planned_minutes": series.item_minutes,
            "seconds_spent": 0,
            "decision": "",
            "added_by_id": added_by,
            "created_at": now,
            "updated_at": now,
        }
        for case_id, (reason, origin) in wanted.items()
        if case_id not in existing
    ]
    if new_rows:
        await session.execute(insert(AGENDA_ITEMS), new_rows)
    dropped = [
        row.id
        for case_id, row in existing.items()
        if row.origin in ("auto", "deferred")
        and not row.removed
        and row.status == ItemStatus.OPEN
        and row.started_at is None
        and case_id not in wanted
    ]
    if dropped:
        await session.execute(delete(AGENDA_ITEMS).where(AGENDA_ITEMS.c.id.in_(dropped)))
    await renumber(session, meeting)
    meeting.agenda_built_at = now
    total = await session.scalar(
        select(func.count())
        .select_from(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id, AgendaItem.removed.is_(False))
    )
    return AgendaChange(added=len(new_rows), dropped=len(dropped), total=int(total or 0))


async def renumber(session: AsyncSession, meeting: Meeting) -> None:
    """Positions 1..n: by reason, then date of entry; or, once the chair reordered, their order first."""
    rows = (
        await session.execute(
            select(
                AgendaItem.id,
                AgendaItem.position,
                AgendaItem.reason,
                AgendaItem.case_id,
                Case.opened_on,
            )
            .join(Case, Case.id == AgendaItem.case_id)
            .where(AgendaItem.meeting_id == meeting.id)
        )
    ).all()

    def natural(row: Any) -> tuple[int, dt.date, int]:
        return (AgendaReason(row.reason).order, row.opened_on, row.case_id)

    if meeting.agenda_reordered:
        ordered = sorted(rows, key=lambda r: (r.position, natural(r)))
    else:
        ordered = sorted(rows, key=natural)
    changes = [
        {"_id": row.id, "position": position}
        for position, row in enumerate(ordered, start=1)
        if row.position != position
    ]
    if changes:
        # Items loaded in this session must see the new positions too.
        for item in session.identity_map.values():
            if isinstance(item, AgendaItem) and item.meeting_id == meeting.id:
                session.expire(item, ["position"])
        await session.execute(
            update(AGENDA_ITEMS)
            .where(AGENDA_ITEMS.c.id == bindparam("_id"))
            .values(position=bindparam("position")),
            changes,
        )


async def items_of(
    session: AsyncSession, meeting: Meeting, *, include_removed: bool = False
) -> list[AgendaItem]:
    stmt = (
        select(AgendaItem)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    if not include_removed:
        stmt = stmt.where(AgendaItem.removed.is_(False))
    return list((await session.scalars(stmt)).unique().all())


async def move_item(
    session: AsyncSession, meeting: Meeting, item: AgendaItem, direction: int
) -> bool:
    items = await items_of(session, meeting)
    index = next((i for i, it in enumerate(items) if it.id == item.id), None)
    if index is None:
        return False
    target = index + direction
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, it in enumerate(items, start=1):
        it.position = position
    meeting.agenda_reordered = True
    return True


# ---------------------------------------------------------------- signals


@lru_cache(maxsize=8)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=[year, year + 1])


def add_working_days(start: dt.date, days: int) -> dt.date:
    """`days` working days after `start`, skipping weekends and Dutch public holidays."""
    current = start
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in _holidays(current.year):
            left -= 1
    return current


@dataclass(frozen=True)
class ItemSignals:
    """What the chair sees next to an item."""

    days_since_entry: int | None
    screening_due_on: dt.date | None
    screening_days_left: int | None
    days_to_release: int | None
    basisdossier_filled: int
    basisdossier_expected: int


async def signals_for(
    session: AsyncSession, meeting: Meeting, case_ids: list[int], today: dt.date
) -> dict[int, ItemSignals]:
    if not case_ids:
        return {}
    periods: dict[int, DetentionPeriod] = {}
    for row in (
        (
            await session.scalars(
                select(DetentionPeriod)
                .where(DetentionPeriod.case_id.in_(case_ids))
                .order_by(DetentionPeriod.entered_on, DetentionPeriod.id)
            )
        )
        .unique()
        .all()
    ):
        periods[row.case_id] = row
    filled = dict(
        (
            await session.execute(
                select(
                    BasisdossierEntry.case_id,
                    func.count(func.distinct(BasisdossierEntry.organisation_id)),
                )
                .where(BasisdossierEntry.case_id.in_(case_ids))
                .group_by(BasisdossierEntry.case_id)
            )
        ).all()
    )
    expected = (
        await session.scalar(
            select(func.count())
            .select_from(SeriesOrganisation)
            .where(SeriesOrganisation.series_id == meeting.series_id)
        )
        or 0
    )
    out: dict[int, ItemSignals] = {}
    for case_id in case_ids:
        period = periods.get(case_id)
        entered = period.entered_on if period else None
        screening = add_working_days(entered, SCREENING_WORKING_DAYS) if entered else None
        release = period.expected_release_on if period and not period.released_on else None
        out[case_id] = ItemSignals(
            days_since_entry=(today - entered).days if entered else None,
            screening_due_on=screening,
            screening_days_left=(screening - today).days if screening else None,
            days_to_release=(release - today).days if release else None,
            basisdossier_filled=int(filled.get(case_id, 0)),
            basisdossier_expected=int(expected),
        )
    return out
