"""The live meeting room: the chair leads the agenda, everyone follows, the case panel per item.

Every change is committed first (the rules: app/coordination/room.py) and then announced on the
meeting's channel as a signal (app/realtime.py); browsers re-fetch their fragments under their own
authorisation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import ServerSentEvent, Template

from app import audit as audit_log
from app.access import handles, may_chair, visible_case_ids
from app.auth import NotFoundError
from app.cases.models import Case
from app.collab.server import CollabServer
from app.coordination import plans, room
from app.coordination.panel import case_context, coordination_context
from app.deps import DB, Audit, CurrentUser
from app.meetings.deps import ChairedMeeting, VisibleMeeting
from app.meetings.models import AgendaItem, AttendanceMode, ItemStatus, Meeting
from app.meetings.notifications import participants
from app.principal import Principal
from app.realtime import Presence, meeting_events, publish
from app.web import page

# The chair's controls answer non-chairs with this (app/meetings/deps.py `ChairedMeeting`).
LEADS = {
    "chair_only": "Alleen de voorzitter of een coördinator van de regio kan het overleg leiden."
}
# What the room's case panel shows of a case, for the audit trail.
PANEL_FIELDS = [
    "person.first_names",
    "person.last_name",
    "person.birth_date",
    "detention",
    "leefgebieden",
    "basisdossier",
    "plan",
    "actions",
    "pairing",
]


async def _item(db: DB, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await room.item_in_room(db, meeting, item_id)
    if item is None:
        raise NotFoundError()
    return item


async def _state(
    request: Request[Any, Any, Any], db: DB, principal: Principal, meeting: Meeting
) -> Template:
    return page(
        request,
        "room/_state.html",
        principal=principal,
        **await room.room_state(db, principal, meeting),
    )


async def announce(
    request: Request[Any, Any, Any],
    db: DB,
    meeting: Meeting,
    event: str = "room",
    **ids: int | str | None,
) -> None:
    """Commit, then tell the room (never before: no one hears of what was not stored)."""
    await db.commit()
    publish(
        request.app,
        meeting.id,
        event,
        v=meeting.room_version,
        current=meeting.current_item_id,
        **ids,
    )


# ---------------------------------------------------------------- pages and fragments


@get("/overleggen/{meeting_id:int}/overleg", include_in_schema=False)
async def room_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting: VisibleMeeting,
) -> Template:
    state = await room.room_state(db, principal, meeting)
    audit_log.record(db, audit, "meeting.joined", object_type="meeting", object_id=meeting.id)
    return page(
        request,
        "room/room.html",
        principal=principal,
        active="overleggen",
        title=f"Overleg {meeting.series.name}",
        **state,
    )


@get("/overleggen/{meeting_id:int}/overleg/staat", include_in_schema=False)
async def room_state_fragment(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting: VisibleMeeting
) -> Template:
    return await _state(request, db, principal, meeting)


@get("/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}", include_in_schema=False)
async def room_panel(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting: VisibleMeeting,
    item_id: FromPath[int],
) -> Template:
    item = await _item(db, meeting, item_id)
    can_see = item.case_id in await visible_case_ids(db, principal, [item.case_id])
    context: dict[str, Any] = {
        "meeting": meeting,
        "item": item,
        "is_chair": may_chair(principal, meeting.series),
        "can_see": can_see,
    }
    if can_see:
        case = await db.get(Case, item.case_id)
        if case is None:
            raise NotFoundError()
        context.update(await case_context(db, principal, case))
        # The room's chair manages the case here only if this meeting handles it (its region).
        shown_in = meeting if handles(meeting, case) else None
        context.update(await coordination_context(db, principal, case, shown_in))
        context["meeting"] = meeting
        audit_log.record(
            db,
            audit,
            "case.viewed",
            case=case,
            object_type="case",
            object_id=case.id,
            fields=PANEL_FIELDS,
        )
    return page(request, "room/_panel.html", principal=principal, **context)


async def _presence_page(
    request: Request[Any, Any, Any], db: DB, principal: Principal, meeting: Meeting
) -> Template:
    presence: Presence = request.app.state.presence
    return page(
        request,
        "room/_presence.html",
        principal=principal,
        meeting=meeting,
        members=await participants(db, meeting),
        online=await presence.users(meeting.id),
        attendance=await room.attendance(db, meeting),
        modes=list(AttendanceMode),
        is_chair=may_chair(principal, meeting.series),
    )


@get("/overleggen/{meeting_id:int}/overleg/aanwezig", include_in_schema=False)
async def room_presence(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting: VisibleMeeting
) -> Template:
    return await _presence_page(request, db, principal, meeting)


@get("/overleggen/{meeting_id:int}/gebeurtenissen", include_in_schema=False)
async def room_events(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting: VisibleMeeting
) -> ServerSentEvent:
    """Signals for one browser in the room (Server-Sent Events)."""
    await db.commit()  # hold no transaction open for the life of the stream
    return ServerSentEvent(
        meeting_events(request.app, meeting.id, principal.user_id or 0),
        headers={"X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------- the chair's controls


@post("/overleggen/{meeting_id:int}/overleg/{action:str}", include_in_schema=False, opt=LEADS)
async def room_control(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    action: FromPath[str],
) -> Template:
    meeting = chaired_meeting
    if action not in room.CONTROL_ACTIONS:
        raise NotFoundError()
    try:
        await room.control(db, meeting, action, user_id=principal.user_id)
    except room.MeetingOverError as exc:
        raise HTTPException(status_code=409, detail="Dit overleg is al afgerond.") from exc
    audit_log.record(
        db, audit, room.CONTROL_ACTIONS[action], object_type="meeting", object_id=meeting.id
    )
    await announce(request, db, meeting)
    return await _state(request, db, principal, meeting)


def _follow_up(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise HTTPException(
            status_code=400, detail="Vul de vervolgdatum in als JJJJ-MM-DD."
        ) from exc


@post(
    "/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}/{action:str}",
    include_in_schema=False,
    opt=LEADS,
)
async def item_control(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    item_id: FromPath[int],
    action: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = chaired_meeting
    item = await _item(db, meeting, item_id)
    if action == "huidig":
        await room.move_to(db, meeting, item)
    elif action in ("besproken", "uitgesteld"):
        server: CollabServer = request.app.state.collab

        async def plan_texts(case: Case) -> dict[str, str]:
            return await server.plan_texts(case.id, plans.sections_of(case), db, durable=True)

        await room.close_item(
            db,
            meeting,
            item,
            ItemStatus.DISCUSSED if action == "besproken" else ItemStatus.DEFERRED,
            user_id=principal.user_id,
            plan_texts=plan_texts,
        )
        audit_log.record(
            db,
            audit,
            "agenda_item.closed",
            object_type="agenda_item",
            object_id=item.id,
            case_id=item.case_id,
            fields=["status"],
        )
    elif action == "besluit":
        room.decide(
            meeting, item, data.get("decision") or "", _follow_up(data.get("follow_up_on") or "")
        )
        audit_log.record(
            db,
            audit,
            "agenda_item.decided",
            object_type="agenda_item",
            object_id=item.id,
            case_id=item.case_id,
            fields=["decision", "follow_up_on"],
        )
    else:
        raise NotFoundError()
    await announce(request, db, meeting, item=item.id)
    return await _state(request, db, principal, meeting)


@post("/overleggen/{meeting_id:int}/overleg/aanwezigheid", include_in_schema=False, opt=LEADS)
async def attendance(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = chaired_meeting
    user_id = int(data["user_id"]) if str(data.get("user_id", "")).isdigit() else 0
    if user_id not in {u.id for u in await participants(db, meeting)}:
        raise NotFoundError()
    try:
        mode = AttendanceMode(data.get("mode", ""))
    except ValueError as exc:
        raise HTTPException(status_code=400, detail="Kies in de zaal, online of afwezig.") from exc
    await room.record_attendance(db, meeting, user_id, mode, recorded_by=principal.user_id)
    audit_log.record(
        db,
        audit,
        "meeting.attendance",
        object_type="meeting",
        object_id=meeting.id,
        fields=["attendance"],
    )
    await db.commit()
    publish(request.app, meeting.id, "presence")
    return await _presence_page(request, db, principal, meeting)


ROUTES = [
    room_page,
    room_state_fragment,
    room_panel,
    room_presence,
    room_events,
    room_control,
    item_control,
    attendance,
]
