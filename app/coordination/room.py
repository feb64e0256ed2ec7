"""The live meeting room's state: which item is current and for how long, the chair's moves,
closing an item (a discussed one fixes the plan as a version and sets the follow-up), the decision
on an item, and who attends how.

The functions change the session only; the route commits and then announces the new state on the
meeting's channel (app/coordination/routes/room.py), so no one is told of what was not stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import may_chair, visible_case_ids
from app.cases.models import Case
from app.coordination import appointments as appointment_service
from app.coordination import plans
from app.db import utcnow
from app.meetings import agenda as agenda_service
from app.meetings.models import (
    AgendaItem,
    Attendance,
    AttendanceMode,
    ItemStatus,
    Meeting,
    MeetingStatus,
)
from app.principal import Principal
from app.web import today_local

# The chair's controls, and the audit action each records.
CONTROL_ACTIONS = {
    "start": "meeting.started",
    "volgende": "meeting.moved",
    "vorige": "meeting.moved",
    "einde": "meeting.finished",
}
# The plan's text per section as it stands (the collab server's, handed in by the route).
PlanTexts = Callable[[Case], Awaitable[dict[str, str]]]


class MeetingOverError(Exception):
    """A finished or cancelled meeting does not start again."""


async def room_state(db: AsyncSession, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    """What the room shows this principal: the items, which cases they may see, the current one."""
    items = await agenda_service.items_of(db, meeting)
    visible = await visible_case_ids(db, principal, [i.case_id for i in items])
    current = next((i for i in items if i.id == meeting.current_item_id), None)
    return {
        "meeting": meeting,
        "items": items,
        "visible": visible,
        "current": current,
        "is_chair": may_chair(principal, meeting.series),
        "done": sum(1 for i in items if i.status != ItemStatus.OPEN),
        "now": utcnow(),
    }


async def item_in_room(db: AsyncSession, meeting: Meeting, item_id: int) -> AgendaItem | None:
    """An item on this meeting's agenda (not one taken off); None for any other id."""
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id or item.removed:
        return None
    return item


def _leave_current(meeting: Meeting, items: dict[int, AgendaItem], now: dt.datetime) -> None:
    current = items.get(meeting.current_item_id or 0)
    if current is not None and current.started_at is not None and current.ended_at is None:
        current.seconds_spent += int((now - current.started_at).total_seconds())
        current.ended_at = now


def _enter(meeting: Meeting, item: AgendaItem | None, now: dt.datetime) -> None:
    meeting.current_item_id = item.id if item else None
    if item is not None:
        item.started_at = now
        item.ended_at = None


async def move_to(db: AsyncSession, meeting: Meeting, target: AgendaItem | None) -> None:
    """Make `target` the current item (None: none), keeping the time spent on the one left."""
    items = {i.id: i for i in await agenda_service.items_of(db, meeting)}
    now = utcnow()
    _leave_current(meeting, items, now)
    _enter(meeting, target, now)
    meeting.room_version += 1


def _neighbour(
    items: list[AgendaItem], current_id: int | None, step: int, open_only: bool
) -> AgendaItem | None:
    index = next(
        (i for i, it in enumerate(items) if it.id == current_id), -1 if step > 0 else len(items)
    )
    position = index + step
    while 0 <= position < len(items):
        candidate = items[position]
        if not open_only or candidate.status == ItemStatus.OPEN:
            return candidate
        position += step
    return None


async def control(db: AsyncSession, meeting: Meeting, action: str, *, user_id: int | None) -> None:
    """The chair's controls (an action of CONTROL_ACTIONS): start (building the agenda if it was
    not built yet), next and previous item, end."""
    items = await agenda_service.items_of(db, meeting)
    now = utcnow()
    if action == "start":
        if meeting.status in (MeetingStatus.FINISHED, MeetingStatus.CANCELLED):
            raise MeetingOverError(meeting.id)
        if meeting.agenda_built_at is None:
            await agenda_service.build_agenda(db, meeting, added_by=user_id)
            items = await agenda_service.items_of(db, meeting)
        meeting.status = MeetingStatus.IN_PROGRESS
        meeting.started_at = meeting.started_at or now
        if meeting.current_item_id is None:
            await move_to(
                db, meeting, next((i for i in items if i.status == ItemStatus.OPEN), None)
            )
        else:
            meeting.room_version += 1
    elif action in ("volgende", "vorige"):
        target = _neighbour(
            items, meeting.current_item_id, 1 if action == "volgende" else -1, open_only=False
        )
        if target is not None:
            await move_to(db, meeting, target)
    elif action == "einde":
        await move_to(db, meeting, None)
        meeting.status = MeetingStatus.FINISHED
        meeting.ended_at = now
    else:
        raise ValueError(action)


async def finish(db: AsyncSession, meeting: Meeting) -> None:
    """End a meeting the chair did not end in the room (when the minutes are adopted)."""
    await move_to(db, meeting, None)
    meeting.status = MeetingStatus.FINISHED
    meeting.ended_at = meeting.ended_at or utcnow()


async def close_item(
    db: AsyncSession,
    meeting: Meeting,
    item: AgendaItem,
    status: ItemStatus,
    *,
    user_id: int | None,
    plan_texts: PlanTexts,
) -> None:
    """Discussed or deferred; a discussed item fixes the plan as a version and sets the follow-up."""
    item.status = status
    case = await db.get(Case, item.case_id)
    if case is None:
        raise LookupError(item.case_id)
    if status == ItemStatus.DISCUSSED:
        case.last_discussed_on = today_local()
        # The follow-up date becomes a vervolg appointment (in the casemanagers' calendars);
        # without one, a vervolg that has come round is done.
        await appointment_service.plan_follow_up(
            db, case, item.follow_up_on, user_id=user_id, meeting_id=meeting.id
        )
        await plans.record_version(
            db,
            case.id,
            await plan_texts(case),
            meeting_id=meeting.id,
            agenda_item_id=item.id,
            user_id=user_id,
        )
    items = await agenda_service.items_of(db, meeting)
    if meeting.current_item_id == item.id:
        await move_to(db, meeting, _neighbour(items, item.id, 1, open_only=True))
    else:
        meeting.room_version += 1


def decide(meeting: Meeting, item: AgendaItem, decision: str, follow_up_on: dt.date | None) -> None:
    """The decision on an item and the date it comes back (the follow-up)."""
    item.decision = decision.strip()[:4000]
    item.follow_up_on = follow_up_on
    meeting.room_version += 1


async def attendance(db: AsyncSession, meeting: Meeting) -> dict[int, Attendance]:
    """How each participant attends, by user id (those not recorded are missing)."""
    rows = await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))
    return {a.user_id: a for a in rows.unique().all()}


async def record_attendance(
    db: AsyncSession,
    meeting: Meeting,
    user_id: int,
    mode: AttendanceMode,
    *,
    recorded_by: int | None,
) -> None:
    row = (await attendance(db, meeting)).get(user_id)
    if row is None:
        row = Attendance(meeting_id=meeting.id, user_id=user_id, mode=mode)
        db.add(row)
    row.mode = mode
    row.recorded_by_id = recorded_by
