"""A meeting's agenda page, and the chair's work on it before the meeting (htmx): building and
publishing it, ordering, removing and restoring items, finding and adding cases."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from app import audit as audit_log
from app.access import may_chair, visible_case_ids
from app.auth import NotFoundError
from app.db import utcnow
from app.deps import DB, Audit, CurrentUser
from app.meetings import agenda as agenda_service
from app.meetings import editing, notifications
from app.meetings.deps import ChairedMeeting, VisibleMeeting
from app.meetings.models import AgendaReason, Meeting, MeetingStatus
from app.meetings.services import AMSTERDAM, describe_cadence
from app.principal import Principal
from app.web import is_htmx, page, today_local


async def agenda_context(db: DB, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    """What the agenda page shows: the items, which cases the caller may see, signals, totals."""
    items = await agenda_service.items_of(db, meeting)
    removed = [
        i for i in await agenda_service.items_of(db, meeting, include_removed=True) if i.removed
    ]
    visible = await visible_case_ids(db, principal, [i.case_id for i in items + removed])
    signals = await agenda_service.signals_for(
        db, meeting, [i.case_id for i in items if i.case_id in visible], today_local()
    )
    counts: dict[str, int] = {}
    for item in items:
        counts[item.reason_label] = counts.get(item.reason_label, 0) + 1
    planned = sum(i.planned_minutes for i in items)
    return {
        "meeting": meeting,
        "items": items,
        "removed_items": removed,
        "visible": visible,
        "signals": signals,
        "counts": counts,
        "planned_minutes": planned,
        "is_chair": may_chair(principal, meeting.series),
        "reasons": list(AgendaReason),
        "editable": meeting.status in (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED),
    }


@get("/overleggen/{meeting_id:int}", include_in_schema=False)
async def meeting_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting: VisibleMeeting,
) -> Template:
    context = await agenda_context(db, principal, meeting)
    if context["visible"]:
        audit_log.record(
            db,
            audit,
            "agenda.viewed",
            object_type="meeting",
            object_id=meeting.id,
            fields=["person.name", "detention"],
        )
    return page(
        request,
        "meetings/_agenda.html" if is_htmx(request) else "meetings/detail.html",
        principal=principal,
        active="overleggen",
        title=f"{meeting.series.name} – {meeting.starts_at.astimezone(AMSTERDAM):%d-%m-%Y}",
        cadence=describe_cadence(meeting.series),
        **context,
    )


async def _agenda_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    meeting: Meeting,
    *,
    message: str = "",
    focus: str = "",
) -> Template:
    context = await agenda_context(db, principal, meeting)
    response = page(
        request,
        "meetings/_agenda.html",
        principal=principal,
        message=message,
        cadence=describe_cadence(meeting.series),
        **context,
    )
    if focus:
        response.headers["HX-Trigger-After-Settle"] = '{"kt-focus": "' + focus + '"}'
    return response


@post("/overleggen/{meeting_id:int}/agenda/opbouwen", include_in_schema=False)
async def agenda_build(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
) -> Template:
    meeting = chaired_meeting
    change = await agenda_service.build_agenda(db, meeting, added_by=principal.user_id)
    audit_log.record(db, audit, "agenda.built", object_type="meeting", object_id=meeting.id)
    if change.added or change.dropped:
        message = f"Agenda bijgewerkt: {change.added} toegevoegd, {change.dropped} vervallen; {change.total} casussen."
    else:
        message = f"De agenda was al bij: {change.total} casussen, niets veranderd."
    return await _agenda_fragment(request, db, principal, meeting, message=message)


@post("/overleggen/{meeting_id:int}/agenda/publiceren", include_in_schema=False)
async def agenda_publish(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
) -> Template:
    meeting = chaired_meeting
    if meeting.agenda_built_at is None:
        await agenda_service.build_agenda(db, meeting, added_by=principal.user_id)
    meeting.agenda_published_at = utcnow()
    if meeting.status == MeetingStatus.PLANNED:
        meeting.status = MeetingStatus.PUBLISHED
    sent = await notifications.agenda_published(db, meeting, request.app.state.settings)
    audit_log.record(db, audit, "agenda.published", object_type="meeting", object_id=meeting.id)
    return await _agenda_fragment(
        request,
        db,
        principal,
        meeting,
        message=f"Agenda gepubliceerd; {sent} deelnemers krijgen bericht.",
    )


@post("/overleggen/{meeting_id:int}/agenda/{item_id:int}/{action:str}", include_in_schema=False)
async def agenda_item_action(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    item_id: FromPath[int],
    action: FromPath[str],
) -> Template:
    meeting = chaired_meeting
    item = await editing.item_of(db, meeting, item_id)
    if item is None:
        raise NotFoundError()
    focus = ""
    if action in ("omhoog", "omlaag"):
        await agenda_service.move_item(db, meeting, item, -1 if action == "omhoog" else 1)
        focus = f"#item-{item.id} [data-move={action}]"
        audit_log.record(db, audit, "agenda.reordered", object_type="meeting", object_id=meeting.id)
    elif action == "verwijderen":
        editing.take_off(item)
        focus = "#agenda-lijst"
        audit_log.record(
            db,
            audit,
            "agenda_item.removed",
            object_type="agenda_item",
            object_id=item.id,
            case_id=item.case_id,
        )
    elif action == "terugzetten":
        await editing.put_back(db, meeting, item)
        focus = f"#item-{item.id}"
        audit_log.record(
            db,
            audit,
            "agenda_item.restored",
            object_type="agenda_item",
            object_id=item.id,
            case_id=item.case_id,
        )
    else:
        raise NotFoundError()
    await db.flush()
    return await _agenda_fragment(request, db, principal, meeting, focus=focus)


@get("/overleggen/{meeting_id:int}/agenda/zoeken", include_in_schema=False)
async def agenda_search(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    q: FromQuery[str] = "",
) -> Template:
    meeting = chaired_meeting
    results = []
    term = q.strip()
    if len(term) >= 2:
        results = await editing.addable_cases(db, principal, meeting, term)
        audit_log.record(
            db,
            audit,
            "cases.searched",
            object_type="meeting",
            object_id=meeting.id,
            fields=["search"],
        )
    return page(
        request,
        "meetings/_search_results.html",
        principal=principal,
        meeting=meeting,
        results=results,
        q=term,
        reasons=list(AgendaReason),
    )


@post("/overleggen/{meeting_id:int}/agenda/toevoegen", include_in_schema=False)
async def agenda_add(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = chaired_meeting
    case_id = int(data["case_id"]) if str(data.get("case_id", "")).isdigit() else 0
    case = await editing.addable_case(db, principal, meeting, case_id)
    if case is None:
        raise NotFoundError()
    try:
        reason = AgendaReason(data.get("reason", "overig"))
    except ValueError:
        reason = AgendaReason.OVERIG
    item = await editing.add_case(db, meeting, case, reason, added_by=principal.user_id)
    audit_log.record(
        db, audit, "agenda_item.added", object_type="agenda_item", object_id=item.id, case=case
    )
    return await _agenda_fragment(
        request,
        db,
        principal,
        meeting,
        message=f"{case.reference} toegevoegd aan de agenda.",
        focus=f"#item-{item.id}",
    )


ROUTES = [
    meeting_page,
    agenda_build,
    agenda_publish,
    agenda_item_action,
    agenda_search,
    agenda_add,
]
