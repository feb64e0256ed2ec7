"""Each user's personal calendar feed (docs/interfaces.md, "Calendars"): the meetings they take part
in, the appointments they are on and the due dates of their actions, as `CalendarEntry`s without
personal data.

A summary names the kind and the case reference (`Opvang aan de poort – FRL-2026-0007`), never the
person, the action's text or anything about care; the description is a link back into the app,
where the access policy decides again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from app.access import visible_cases
from app.cases.models import Case
from app.coordination.models import (
    ActionItem,
    ActionStatus,
    Appointment,
    AppointmentKind,
    AppointmentParticipant,
    AppointmentStatus,
)
from app.meetings.calendar import CalendarEntry, uid
from app.meetings.models import Meeting, MeetingSeries, MeetingStatus
from app.principal import Principal
from app.web import AMSTERDAM

PAST = dt.timedelta(days=92)
AHEAD = dt.timedelta(days=400)


def meeting_entry(meeting: Meeting, base_url: str) -> CalendarEntry:
    lines = [f"Agenda en overlegruimte: {base_url}/overleggen/{meeting.id}"]
    if meeting.online_url:
        lines.insert(0, f"Online deelnemen: {meeting.online_url}")
    return CalendarEntry(
        uid=uid("meeting", meeting.id, base_url),
        sequence=meeting.sequence,
        summary=meeting.series.name,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        cancelled=meeting.status == MeetingStatus.CANCELLED,
        location=meeting.location,
        description="\n".join(lines),
        url=f"{base_url}/overleggen/{meeting.id}",
        modified_at=meeting.updated_at,
        categories=("Overleg",),
    )


def appointment_entry(appointment: Appointment, reference: str, base_url: str) -> CalendarEntry:
    link = f"{base_url}/casussen/{appointment.case_id}/momenten/{appointment.id}"
    lines = [f"Casus {reference}. Details: {link}"]
    if appointment.online_url:
        lines.insert(0, f"Online deelnemen: {appointment.online_url}")
    starts: dt.datetime | dt.date = appointment.starts_at
    ends: dt.datetime | dt.date = appointment.ends_at
    if appointment.all_day:
        day = appointment.starts_at.astimezone(AMSTERDAM).date()
        starts, ends = day, day + dt.timedelta(days=1)
    location = appointment.location
    if appointment.kind == AppointmentKind.VERVOLG:
        location = ""
    return CalendarEntry(
        uid=uid("moment", appointment.id, base_url),
        sequence=appointment.sequence,
        summary=f"{AppointmentKind(appointment.kind).label} – {reference}",
        starts_at=starts,
        ends_at=ends,
        cancelled=appointment.status == AppointmentStatus.CANCELLED,
        location=location,
        description="\n".join(lines),
        url=link,
        modified_at=appointment.updated_at,
        categories=("Moment",),
    )


def action_entry(action: ActionItem, reference: str, base_url: str) -> CalendarEntry:
    if action.due_on is None:
        raise ValueError("an action without a due date is not in calendars")
    link = f"{base_url}/casussen/{action.case_id}#actie-{action.id}"
    state = {
        ActionStatus.DONE: "Actie gereed",
        ActionStatus.HANDED_OVER: "Actie overgedragen",
    }.get(ActionStatus(action.status), "Uiterste datum actie")
    return CalendarEntry(
        uid=uid("action", action.id, base_url),
        sequence=action.sequence,
        summary=f"{state} – {reference}",
        starts_at=action.due_on,
        ends_at=action.due_on + dt.timedelta(days=1),
        cancelled=action.status == ActionStatus.DROPPED,
        description=f"Casus {reference}. Details: {link}",
        url=link,
        modified_at=action.updated_at,
        categories=("Actie",),
    )


async def entries_for(
    session: AsyncSession, principal: Principal, base_url: str, now: dt.datetime
) -> list[CalendarEntry]:
    """Everything in one user's feed; cases only as far as the access policy lets them see."""
    start, end = now - PAST, now + AHEAD
    return [
        *[meeting_entry(m, base_url) for m in await _meetings(session, principal, start, end)],
        *[
            appointment_entry(a, ref, base_url)
            for a, ref in await _appointments(session, principal, start, end)
        ],
        *[
            action_entry(a, ref, base_url)
            for a, ref in await _actions(session, principal, start, end)
        ],
    ]


async def _meetings(
    session: AsyncSession, principal: Principal, start: dt.datetime, end: dt.datetime
) -> list[Meeting]:
    """The meetings of the series the user takes part in or chairs."""
    series_ids = principal.member_series_ids | principal.chaired_series_ids
    if not series_ids:
        return []
    return list(
        (
            await session.scalars(
                select(Meeting)
                .join(MeetingSeries, MeetingSeries.id == Meeting.series_id)
                .where(
                    Meeting.series_id.in_(series_ids),
                    Meeting.starts_at >= start,
                    Meeting.starts_at < end,
                )
                .order_by(Meeting.starts_at)
            )
        ).unique()
    )


async def _appointments(
    session: AsyncSession, principal: Principal, start: dt.datetime, end: dt.datetime
) -> list[tuple[Appointment, str]]:
    """The appointments the user is responsible for or takes part in, with their case reference."""
    user_id = principal.user_id or 0
    own = and_(
        Appointment.starts_at >= start,
        Appointment.starts_at < end,
        or_(
            Appointment.responsible_user_id == user_id,
            Appointment.id.in_(
                select(AppointmentParticipant.appointment_id).where(
                    AppointmentParticipant.user_id == user_id
                )
            ),
        ),
    )
    # The user's own appointments first (indexed, a few hundred at most), then the access policy
    # on just their cases: the policy's OR over all cases would otherwise scan every case.
    own_case_ids = (await session.scalars(select(Appointment.case_id).where(own).distinct())).all()
    rows = (
        await session.execute(
            select(Appointment, Case.reference)
            .join(Case, Case.id == Appointment.case_id)
            .where(
                Case.id.in_(own_case_ids),
                visible_cases(principal),
                own,
            )
            .order_by(Appointment.starts_at)
            .options(raiseload("*"))  # a feed needs the row itself, not its people and partners
        )
    ).unique()
    return [(a, ref) for a, ref in rows]


async def _actions(
    session: AsyncSession, principal: Principal, start: dt.datetime, end: dt.datetime
) -> list[tuple[ActionItem, str]]:
    """The due dates of the actions the user owns, with their case reference."""
    rows = (
        await session.execute(
            select(ActionItem, Case.reference)
            .join(Case, Case.id == ActionItem.case_id)
            .where(
                visible_cases(principal),
                ActionItem.owner_user_id == (principal.user_id or 0),
                ActionItem.due_on.is_not(None),
                ActionItem.due_on >= start.date(),
                ActionItem.due_on < end.date(),
            )
            .order_by(ActionItem.due_on)
            .options(raiseload("*"))
        )
    ).unique()
    return [(a, ref) for a, ref in rows]
