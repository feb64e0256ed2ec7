"""The chair's changes to a coming meeting's agenda: finding a case to add, adding it, taking an
item off and putting it back. (Building the agenda from the cases that are due is app/meetings/agenda.py.)"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import visible_cases
from app.cases.models import Case, Person
from app.cases.services import REFERENCE_PATTERN
from app.meetings import agenda as agenda_service
from app.meetings.models import AgendaItem, AgendaReason, Meeting
from app.principal import Principal

SEARCH_LIMIT = 10


async def addable_cases(
    session: AsyncSession, p: Principal, meeting: Meeting, term: str
) -> list[Case]:
    """Cases of the meeting's region the chair may see and that are not on its agenda, by
    reference or name (at most SEARCH_LIMIT)."""
    on_agenda = select(AgendaItem.case_id).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.removed.is_(False)
    )
    stmt = (
        select(Case)
        .join(Person, Person.id == Case.person_id)
        .where(
            visible_cases(p),
            Case.region_id == meeting.series.region_id,
            Case.id.not_in(on_agenda),
        )
        .limit(SEARCH_LIMIT)
    )
    if REFERENCE_PATTERN.match(term):
        stmt = stmt.where(Case.reference == term.upper())
    else:
        like = f"%{term.lower()}%"
        stmt = stmt.where(
            func.lower(Person.first_names + " " + Person.prefix + " " + Person.last_name).like(like)
        )
    return list((await session.scalars(stmt)).unique().all())


async def addable_case(
    session: AsyncSession, p: Principal, meeting: Meeting, case_id: int
) -> Case | None:
    """The case a chair asks to add, if they may see it and it is of the meeting's region."""
    return (
        (
            await session.scalars(
                select(Case).where(
                    Case.id == case_id,
                    visible_cases(p),
                    Case.region_id == meeting.series.region_id,
                )
            )
        )
        .unique()
        .one_or_none()
    )


async def add_case(
    session: AsyncSession,
    meeting: Meeting,
    case: Case,
    reason: AgendaReason,
    *,
    added_by: int | None,
) -> AgendaItem:
    """Put a case on the agenda by hand (again, if it was taken off), in its natural place."""
    item = (
        (
            await session.scalars(
                select(AgendaItem).where(
                    AgendaItem.meeting_id == meeting.id, AgendaItem.case_id == case.id
                )
            )
        )
        .unique()
        .one_or_none()
    )
    if item is None:
        item = AgendaItem(
            meeting_id=meeting.id,
            case_id=case.id,
            reason=reason,
            origin="manual",
            planned_minutes=meeting.series.item_minutes,
            added_by_id=added_by,
            position=100_000,
        )
        session.add(item)
    else:
        item.removed = False
        item.origin = "manual"
    await session.flush()
    await agenda_service.renumber(session, meeting)
    return item


async def item_of(session: AsyncSession, meeting: Meeting, item_id: int) -> AgendaItem | None:
    """An item of this meeting's agenda (also one taken off), None for any other id."""
    item = await session.get(AgendaItem, item_id)
    return item if item is not None and item.meeting_id == meeting.id else None


def take_off(item: AgendaItem) -> None:
    item.removed = True


async def put_back(session: AsyncSession, meeting: Meeting, item: AgendaItem) -> None:
    item.removed = False
    await agenda_service.renumber(session, meeting)
