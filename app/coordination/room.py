"""The live meeting room: the chair leads the agenda, everyone follows, the case panel per item.

Every change is committed first and then announced on the meeting's channel as a signal
(`app/realtime.py`); browsers re-fetch their fragments under their own authorisation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, ServerSentEvent, Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import may_chair
from app.auth import NotFoundError
from app.cases.models import Case
from app.collab.server import CollabServer
from app.coordination import appointments as appointment_service
from app.coordination import pairing as pairing_service
from app.coordination import plans
from app.coordination.case_page import case_context
from app.coordination.models import ActionItem
from app.coordination.panel import coordination_context
from app.db import utcnow
from app.deps import DB, Audit, CurrentUser
from app.meetings import agenda as agenda_service
from app.meetings.models import (
    AgendaItem,
    Attendance,
    AttendanceMode,
    ItemStatus,
    Meeting,
    MeetingStatus,
)
from app.meetings.notifications import participants
from app.meetings.routes import _visible_case_ids
from app.meetings.services import get_visible_meeting
from app.principal import Principal
from app.realtime import Presence, meeting_events, publish
from app.web import AMSTERDAM, page, today_local

CONTROL_ACTIONS = {
    "start": "meeting.started",
    "volgende": "meeting.moved",
    "vorige": "meeting.moved",
    "einde": "meeting.finished",
}


class ChairOnlyError(HTTPException):
    status_code = 403
    detail = "Alleen de voorzitter of een coördinator van de regio kan het overleg leiden."


async def _meeting(db: DB, principal: Principal, meeting_id: int) -> Meeting:
    meeting = await get_visible_meeting(db, principal, meeting_id)
    if meeting is None:
        raise NotFoundError()
    return meeting


def _chair(principal: Principal, meeting: Meeting) -> None:
    if not may_chair(principal, meeting.series):
        raise ChairOnlyError()


async def _item(db: DB, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id or item.removed:
        raise NotFoundError()
    return item


# ---------------------------------------------------------------- state changes


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


async def move_to(db: DB, meeting: Meeting, target: AgendaItem | None) -> None:
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


async def close_item(
    db: DB, app: Any, meeting: Meeting, item: AgendaItem, status: ItemStatus, principal: Principal
) -> None:
    """Discussed or deferred; a discussed item fixes the plan as a version and sets the follow-up."""
    item.status = status
    case = await db.get(Case, item.case_id)
    if case is None:
        raise NotFoundError()
    if status == ItemStatus.DISCUSSED:
        case.last_discussed_on = today_local()
        # The follow-up date becomes a vervolg moment (in the casemanagers' calendars); without
        # one, a vervolg that has come round is done.
        await appointment_service.plan_follow_up(
            db, case, item.follow_up_on, user_id=principal.user_id, meeting_id=meeting.id
        )
        server: CollabServer = app.state.collab
        texts = await server.plan_texts(case.id, plans.sections_of(case), db, durable=True)
        await plans.record_version(
            db,
            case.id,
            texts,
            meeting_id=meeting.id,
            agenda_item_id=item.id,
            user_id=principal.user_id,
        )
    items = await agenda_service.items_of(db, meeting)
    if meeting.current_item_id == item.id:
        await move_to(db, meeting, _neighbour(items, item.id, 1, open_only=True))
    else:
        meeting.room_version += 1


async def _announce(
    db: DB,
    request: Request[Any, Any, Any],
    meeting: Meeting,
    event: str = "room",
    **ids: int | str | None,
) -> None:
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


async def room_state(db: DB, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    items = await agenda_service.items_of(db, meeting)
    visible = await _visible_case_ids(db, principal, [i.case_id for i in items])
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


@get("/overleggen/{meeting_id:int}/overleg", include_in_schema=False)
async def room_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    state = await room_state(db, principal, meeting)
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
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting_id: FromPath[int]
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    return page(
        request, "room/_state.html", principal=principal, **await room_state(db, principal, meeting)
    )


@get("/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}", include_in_schema=False)
async def room_panel(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    item = await _item(db, meeting, item_id)
    visible = await _visible_case_ids(db, principal, [item.case_id])
    context: dict[str, Any] = {
        "meeting": meeting,
        "item": item,
        "is_chair": may_chair(principal, meeting.series),
        "can_see": item.case_id in visible,
    }
    if item.case_id in visible:
        case = await db.get(Case, item.case_id)
        if case is None:
            raise NotFoundError()
        context.update(await case_context(db, principal, case))
        context.update(await coordination_context(db, principal, case, meeting))
        audit_log.record(
            db,
            audit,
            "case.viewed",
            case=case,
            object_type="case",
            object_id=case.id,
            fields=[
                "person.first_names",
                "person.last_name",
                "person.birth_date",
                "detention",
                "leefgebieden",
                "basisdossier",
                "plan",
                "actions",
                "pairing",
            ],
        )
    return page(request, "room/_panel.html", principal=principal, **context)


@get("/overleggen/{meeting_id:int}/overleg/aanwezig", include_in_schema=False)
async def room_presence(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting_id: FromPath[int]
) -> Template:
    return await _presence_page(request, db, principal, await _meeting(db, principal, meeting_id))


async def _presence_page(
    request: Request[Any, Any, Any], db: DB, principal: Principal, meeting: Meeting
) -> Template:
    presence: Presence = request.app.state.presence
    online = await presence.users(meeting.id)
    members = await participants(db, meeting)
    attendance = {
        a.user_id: a
        for a in (await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)))
        .unique()
        .all()
    }
    return page(
        request,
        "room/_presence.html",
        principal=principal,
        meeting=meeting,
        members=members,
        online=online,
        attendance=attendance,
        modes=list(AttendanceMode),
        is_chair=may_chair(principal, meeting.series),
    )


@get("/overleggen/{meeting_id:int}/gebeurtenissen", include_in_schema=False)
async def room_events(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting_id: FromPath[int]
) -> ServerSentEvent:
    """Signals for one browser in the room (Server-Sent Events)."""
    meeting = await _meeting(db, principal, meeting_id)
    await db.commit()  # hold no transaction open for the life of the stream
    return ServerSentEvent(
        meeting_events(request.app, meeting.id, principal.user_id or 0),
        headers={"X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------- the chair's controls


@post("/overleggen/{meeting_id:int}/overleg/{action:str}", include_in_schema=False)
async def room_control(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    action: FromPath[str],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    _chair(principal, meeting)
    items = await agenda_service.items_of(db, meeting)
    now = utcnow()
    if action == "start":
        if meeting.status in (MeetingStatus.FINISHED, MeetingStatus.CANCELLED):
            raise HTTPException(status_code=409, detail="Dit overleg is al afgerond.")
        if meeting.agenda_built_at is None:
            await agenda_service.build_agenda(db, meeting, added_by=principal.user_id)
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
        raise NotFoundError()
    audit_log.record(
        db, audit, CONTROL_ACTIONS[action], object_type="meeting", object_id=meeting.id
    )
    await _announce(db, request, meeting)
    return page(
        request, "room/_state.html", principal=principal, **await room_state(db, principal, meeting)
    )


@post(
    "/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}/{action:str}", include_in_schema=False
)
async def item_control(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    action: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    _chair(principal, meeting)
    item = await _item(db, meeting, item_id)
    if action == "huidig":
        await move_to(db, meeting, item)
    elif action in ("besproken", "uitgesteld"):
        await close_item(
            db,
            request.app,
            meeting,
            item,
            ItemStatus.DISCUSSED if action == "besproken" else ItemStatus.DEFERRED,
            principal,
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
        item.decision = (data.get("decision") or "").strip()[:4000]
        follow = data.get("follow_up_on") or ""
        try:
            item.follow_up_on = dt.date.fromisoformat(follow) if follow else None
        except ValueError as exc:
            raise HTTPException(
                status_code=400, detail="Vul de vervolgdatum in als JJJJ-MM-DD."
            ) from exc
        meeting.room_version += 1
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
    await _announce(db, request, meeting, item=item.id)
    return page(
        request, "room/_state.html", principal=principal, **await room_state(db, principal, meeting)
    )


@post("/overleggen/{meeting_id:int}/overleg/aanwezigheid", include_in_schema=False)
async def attendance(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    _chair(principal, meeting)
    user_id = int(data["user_id"]) if str(data.get("user_id", "")).isdigit() else 0
    if user_id not in {u.id for u in await participants(db, meeting)}:
        raise NotFoundError()
    try:
        mode = AttendanceMode(data.get("mode", ""))
    except ValueError as exc:
        raise HTTPException(status_code=400, detail="Kies in de zaal, online of afwezig.") from exc
    row = (
        (
            await db.scalars(
                select(Attendance).where(
                    Attendance.meeting_id == meeting.id, Attendance.user_id == user_id
                )
            )
        )
        .unique()
        .one_or_none()
    )
    if row is None:
        row = Attendance(
            meeting_id=meeting.id, user_id=user_id, mode=mode, recorded_by_id=principal.user_id
        )
        db.add(row)
    row.mode = mode
    row.recorded_by_id = principal.user_id
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


# ---------------------------------------------------------------- minutes


async def minutes_context(db: DB, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    items = await agenda_service.items_of(db, meeting)
    visible = await _visible_case_ids(db, principal, [i.case_id for i in items])
    attendance = (
        (await db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)))
        .unique()
        .all()
    )
    case_ids = [i.case_id for i in items]
    acts = (
        (
            await db.scalars(
                select(ActionItem)
                .where(ActionItem.case_id.in_(case_ids), ActionItem.meeting_id == meeting.id)
                .order_by(ActionItem.id)
            )
        )
        .unique()
        .all()
        if case_ids
        else []
    )
    by_case: dict[int, list[ActionItem]] = {}
    for action in acts:
        by_case.setdefault(action.case_id, []).append(action)
    pairings = {}
    for case_id in case_ids:
        current = [p for p in await pairing_service.history(db, case_id) if p.ended_at is None]
        if current:
            pairings[case_id] = current[0]
    return {
        "meeting": meeting,
        "items": items,
        "visible": visible,
        "attendance": attendance,
        "actions": by_case,
        "pairings": pairings,
        "is_chair": may_chair(principal, meeting.series),
    }


@get("/overleggen/{meeting_id:int}/besluitenlijst", include_in_schema=False)
async def minutes(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
) -> Template:
    meeting = await _meeting(db, principal, meeting_id)
    context = await minutes_context(db, principal, meeting)
    if context["visible"]:
        audit_log.record(
            db,
            audit,
            "minutes.viewed",
            object_type="meeting",
            object_id=meeting.id,
            fields=["decisions", "actions", "pairing"],
        )
    return page(
        request,
        "room/minutes.html",
        principal=principal,
        active="overleggen",
        title=f"Besluitenlijst {meeting.series.name}",
        **context,
    )


@post("/overleggen/{meeting_id:int}/besluitenlijst", include_in_schema=False)
async def minutes_close(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    """The chair adds a closing note, closes the minutes and sends them to the participants."""
    from app import mail

    meeting = await _meeting(db, principal, meeting_id)
    _chair(principal, meeting)
    meeting.minutes_note = (data.get("note") or "").strip()[:4000]
    if data.get("vaststellen") and meeting.minutes_closed_at is None:
        meeting.minutes_closed_at = utcnow()
        meeting.minutes_closed_by_id = principal.user_id
        if meeting.status != MeetingStatus.FINISHED:
            await move_to(db, meeting, None)
            meeting.status = MeetingStatus.FINISHED
            meeting.ended_at = meeting.ended_at or utcnow()
        items = await agenda_service.items_of(db, meeting)
        summary = [
            {
                "reference": i.case.reference,
                "status": i.status_label,
                "follow_up_on": i.follow_up_on,
            }
            for i in items
        ]
        settings = request.app.state.settings
        for user in await participants(db, meeting):
            text, html = mail.render(
                "minutes",
                name=user.name,
                series=meeting.series.name,
                starts_at=meeting.starts_at,
                items=summary,
                link=f"{settings.base_url}/overleggen/{meeting.id}/besluitenlijst",
            )
            await mail.queue(
                db,
                kind="minutes",
                dedupe_key=f"minutes:{meeting.id}:{user.id}",
                recipient=user.email,
                subject=f"Besluitenlijst {meeting.series.name} – {meeting.starts_at.astimezone(AMSTERDAM):%d-%m-%Y}",
                body_text=text,
                body_html=html,
            )
        audit_log.record(db, audit, "minutes.closed", object_type="meeting", object_id=meeting.id)
    await _announce(db, request, meeting)
    return Redirect(f"/overleggen/{meeting.id}/besluitenlijst", status_code=303)


ROUTES = [
    room_page,
    room_state_fragment,
    room_panel,
    room_presence,
    room_events,
    room_control,
    item_control,
    attendance,
    minutes,
    minutes_close,
]
