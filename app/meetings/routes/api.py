"""The meetings API: meetings in a period, one meeting with its agenda, (re)building an agenda."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import get, post
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, QueryParameter

from app import audit as audit_log
from app.access import visible_case_ids
from app.deps import DB, Audit, CurrentUser
from app.meetings import agenda as agenda_service
from app.meetings import services
from app.meetings.deps import ChairedMeeting, VisibleMeeting
from app.meetings.models import AgendaItem, Meeting, MeetingStatus
from app.meetings.schemas import AgendaItemOut, MeetingOut, SeriesOut
from app.meetings.services import AMSTERDAM
from app.principal import Principal
from app.web import today_local


def _parse_day(value: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError as exc:
        raise HTTPException(
            status_code=400, detail=f"Ongeldige datum ‘{value}’; gebruik JJJJ-MM-DD."
        ) from exc


def _meeting_out(
    meeting: Meeting, items: list[AgendaItem] | None = None, visible: set[int] | None = None
) -> MeetingOut:
    agenda = None
    if items is not None:
        shown = visible or set()
        agenda = [
            AgendaItemOut(
                id=i.id,
                case_id=i.case_id if i.case_id in shown else None,
                reason=str(i.reason),
                position=i.position,
                status=str(i.status),
                reference=i.case.reference if i.case_id in shown else None,
                hidden=i.case_id not in shown,
            )
            for i in items
        ]
    return MeetingOut(
        id=meeting.id,
        series=SeriesOut(
            id=meeting.series.id, name=meeting.series.name, region=meeting.series.region.name
        ),
        starts_at=meeting.starts_at.isoformat(),
        ends_at=meeting.ends_at.isoformat(),
        status=str(meeting.status),
        location=meeting.location,
        online_url=meeting.online_url,
        agenda=agenda,
    )


@get("/api/v1/meetings", tags=["overleggen"], security=[{"bearer": []}])
async def api_meetings(
    db: DB,
    principal: CurrentUser,
    from_: Annotated[str, QueryParameter(name="from")] = "",
    to: FromQuery[str] = "",
) -> list[MeetingOut]:
    """The meetings the caller may see between `from` and `to` (dates, default: the coming four weeks)."""
    today = today_local()
    start = _parse_day(from_, today)
    end = _parse_day(to, start + dt.timedelta(weeks=4))
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=AMSTERDAM)
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=AMSTERDAM)
    return [
        _meeting_out(m) for m in await services.visible_meetings(db, principal, start_at, end_at)
    ]


async def _meeting_detail(db: DB, principal: Principal, meeting: Meeting) -> MeetingOut:
    items = await agenda_service.items_of(db, meeting)
    visible = await visible_case_ids(db, principal, [i.case_id for i in items])
    return _meeting_out(meeting, items, visible)


@get("/api/v1/meetings/{meeting_id:int}", tags=["overleggen"], security=[{"bearer": []}])
async def api_meeting(db: DB, principal: CurrentUser, meeting: VisibleMeeting) -> MeetingOut:
    """A meeting with its ordered agenda; items of cases the caller may not see carry no case id."""
    return await _meeting_detail(db, principal, meeting)


@post(
    "/api/v1/meetings/{meeting_id:int}/agenda/generate",
    tags=["overleggen"],
    security=[{"bearer": []}],
    status_code=200,
)
async def api_generate(
    db: DB, principal: CurrentUser, audit: Audit, chaired_meeting: ChairedMeeting
) -> MeetingOut:
    """(Re)build the agenda from the cases due, keeping what the chair added, removed or moved."""
    meeting = chaired_meeting
    if meeting.status not in (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED):
        raise HTTPException(
            status_code=409,
            detail="De agenda van een overleg dat bezig of afgerond is, wordt niet opnieuw opgebouwd.",
        )
    await agenda_service.build_agenda(db, meeting, added_by=principal.user_id)
    audit_log.record(db, audit, "agenda.built", object_type="meeting", object_id=meeting.id)
    return await _meeting_detail(db, principal, meeting)


ROUTES = [api_meetings, api_meeting, api_generate]
