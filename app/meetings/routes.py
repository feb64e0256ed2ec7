"""Meetings: the list, a meeting's agenda with the chair's controls (htmx), and the meetings API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import may_chair, visible_cases
from app.auth import NotFoundError
from app.cases.models import Case, Person
from app.cases.services import REFERENCE_PATTERN
from app.db import utcnow
from app.deps import DB, Audit, CurrentUser
from app.meetings import agenda as agenda_service
from app.meetings import notifications
from app.meetings.models import AgendaItem, AgendaReason, Meeting, MeetingSeries, MeetingStatus
from app.meetings.schemas import AgendaItemOut, MeetingOut, SeriesOut
from app.meetings.services import AMSTERDAM, describe_cadence, get_visible_meeting, meetings_query
from app.principal import Principal
from app.web import page, today_local


class ChairOnlyError(HTTPException):
    status_code = 403
    detail = "Alleen de voorzitter of een coördinator van de regio kan dit doen."


async def _meeting_or_404(db: DB, principal: Principal, meeting_id: int) -> Meeting:
    meeting = await get_visible_meeting(db, principal, meeting_id)
    if meeting is None:
        raise NotFoundError()
    return meeting


def _require_chair(principal: Principal, meeting: Meeting) -> None:
    if not may_chair(principal, meeting.series):
        raise ChairOnlyError()


async def _visible_case_ids(db: DB, principal: Principal, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    return set(
        (
            await db.scalars(select(Case.id).where(Case.id.in_(case_ids), visible_cases(principal)))
        ).all()
    )


async def agenda_context(db: DB, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    items = await agenda_service.items_of(db, meeting)
    removed = [
        i for i in await agenda_service.items_of(db, meeting, include_removed=True) if i.removed
    ]
    visible = await _visible_case_ids(db, principal, [i.case_id for i in items + removed])
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


def _audit_listing(db: DB, audit: Audit, meeting: Meeting, visible: set[int]) -> None:
    if visible:
        audit_log.record(
            db,
            audit,
            "agenda.viewed",
            object_type="meeting",
            object_id=meeting.id,
            fields=["person.name", "detention"],
        )


@get("/overleggen", include_in_schema=False)
async def meeting_list(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    now = utcnow()
    upcoming = (
        (
            await db.scalars(
                meetings_query(principal, now - dt.timedelta(hours=4), now + dt.timedelta(weeks=8))
            )
        )
        .unique()
        .all()
    )
    past = (
        (
            await db.scalars(
                meetings_query(principal, now - dt.timedelta(weeks=8), now - dt.timedelta(hours=4))
            )
        )
        .unique()
        .all()
    )
    counts: dict[int, int] = {}
    ids = [m.id for m in [*upcoming, *past]]
    if ids:
        from sqlalchemy import func

        counts = dict(
            (
                await db.execute(
                    select(AgendaItem.meeting_id, func.count())
                    .where(AgendaItem.meeting_id.in_(ids), AgendaItem.removed.is_(False))
                    .group_by(AgendaItem.meeting_id)
                )
            ).all()
        )
    series = (
        (
            await db.scalars(
                select(MeetingSeries).where(
                    MeetingSeries.id.in_({m.series_id for m in upcoming} or {0})
                )
            )
        )
        .unique()
        .all()
    )
    return page(
        request,
        "meetings/list.html",
        principal=principal,
        active="overleggen",
        title="Overleggen",
        upcoming=upcoming,
        past=list(reversed(past)),
        counts=counts,
        cadences={s.id: describe_cadence(s) for s in series},
    )


@get("/overleggen/{meeting_id:int}", include_in_schema=False)
async def meeting_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    context = await agenda_context(db, principal, meeting)
    _audit_listing(db, audit, meeting, context["visible"])
    template = (
        "meetings/_agenda.html"
        if request.headers.get("hx-request") == "true"
        else "meetings/detail.html"
    )
    return page(
        request,
        template,
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
    meeting_id: FromPath[int],
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
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
    meeting_id: FromPath[int],
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
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


async def _item(db: DB, meeting: Meeting, item_id: int) -> AgendaItem:
    item = await db.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFoundError()
    return item


@post("/overleggen/{meeting_id:int}/agenda/{item_id:int}/{action:str}", include_in_schema=False)
async def agenda_item_action(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    item_id: FromPath[int],
    action: FromPath[str],
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    item = await _item(db, meeting, item_id)
    focus = ""
    if action in ("omhoog", "omlaag"):
        await agenda_service.move_item(db, meeting, item, -1 if action == "omhoog" else 1)
        focus = f"#item-{item.id} [data-move={action}]"
        audit_log.record(db, audit, "agenda.reordered", object_type="meeting", object_id=meeting.id)
    elif action == "verwijderen":
        item.removed = True
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
        item.removed = False
        await agenda_service.renumber(db, meeting)
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
    meeting_id: FromPath[int],
    q: FromQuery[str] = "",
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    results: list[Case] = []
    term = q.strip()
    if len(term) >= 2:
        on_agenda = select(AgendaItem.case_id).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.removed.is_(False)
        )
        stmt = (
            select(Case)
            .join(Person, Person.id == Case.person_id)
            .where(
                visible_cases(principal),
                Case.region_id == meeting.series.region_id,
                Case.id.not_in(on_agenda),
            )
            .limit(10)
        )
        if REFERENCE_PATTERN.match(term):
            stmt = stmt.where(Case.reference == term.upper())
        else:
            from sqlalchemy import func

            like = f"%{term.lower()}%"
            stmt = stmt.where(
                func.lower(Person.first_names + " " + Person.prefix + " " + Person.last_name).like(
                    like
                )
            )
        results = list((await db.scalars(stmt)).unique().all())
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
    meeting_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    case_id = int(data["case_id"]) if str(data.get("case_id", "")).isdigit() else 0
    case = (
        (
            await db.scalars(
                select(Case).where(
                    Case.id == case_id,
                    visible_cases(principal),
                    Case.region_id == meeting.series.region_id,
                )
            )
        )
        .unique()
        .one_or_none()
    )
    if case is None:
        raise NotFoundError()
    try:
        reason = AgendaReason(data.get("reason", "overig"))
    except ValueError:
        reason = AgendaReason.OVERIG
    item = (
        (
            await db.scalars(
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
            added_by_id=principal.user_id,
            position=100_000,
        )
        db.add(item)
    else:
        item.removed = False
        item.origin = "manual"
    await db.flush()
    await agenda_service.renumber(db, meeting)
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


# ---------------------------------------------------------------- API


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
        agenda = [
            AgendaItemOut(
                id=i.id,
                case_id=i.case_id if visible is not None and i.case_id in visible else None,
                reason=str(i.reason),
                position=i.position,
                status=str(i.status),
                reference=i.case.reference
                if visible is not None and i.case_id in visible
                else None,
                hidden=not (visible is not None and i.case_id in visible),
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
    meetings = (await db.scalars(meetings_query(principal, start_at, end_at))).unique().all()
    return [_meeting_out(m) for m in meetings]


async def _meeting_detail(db: DB, principal: Principal, meeting: Meeting) -> MeetingOut:
    items = await agenda_service.items_of(db, meeting)
    visible = await _visible_case_ids(db, principal, [i.case_id for i in items])
    return _meeting_out(meeting, items, visible)


@get("/api/v1/meetings/{meeting_id:int}", tags=["overleggen"], security=[{"bearer": []}])
async def api_meeting(db: DB, principal: CurrentUser, meeting_id: FromPath[int]) -> MeetingOut:
    """A meeting with its ordered agenda; items of cases the caller may not see carry no case id."""
    meeting = await _meeting_or_404(db, principal, meeting_id)
    return await _meeting_detail(db, principal, meeting)


@post(
    "/api/v1/meetings/{meeting_id:int}/agenda/generate",
    tags=["overleggen"],
    security=[{"bearer": []}],
    status_code=200,
)
async def api_generate(
    db: DB, principal: CurrentUser, audit: Audit, meeting_id: FromPath[int]
) -> MeetingOut:
    """(Re)build the agenda from the cases due, keeping what the chair added, removed or moved."""
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    if meeting.status not in (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED):
        raise HTTPException(
            status_code=409,
            detail="De agenda van een overleg dat bezig of afgerond is, wordt niet opnieuw opgebouwd.",
        )
    await agenda_service.build_agenda(db, meeting, added_by=principal.user_id)
    audit_log.record(db, audit, "agenda.built", object_type="meeting", object_id=meeting.id)
    return await _meeting_detail(db, principal, meeting)


ROUTES = [
    meeting_list,
    meeting_page,
    agenda_build,
    agenda_publish,
    agenda_item_action,
    agenda_search,
    agenda_add,
    api_meetings,
    api_meeting,
    api_generate,
]
