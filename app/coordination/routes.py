"""Pairing and action items of a case: fragments for the room and the case page, and their changes."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from app import audit as audit_log
from app.access import get_visible_case, may_edit_case, may_manage_case
from app.auth import NotFoundError
from app.cases.models import Case
from app.cases.services import current_pairing
from app.coordination import actions as action_service
from app.coordination import pairing as pairing_service
from app.coordination.live import announce_case
from app.coordination.models import ActionItem, ActionStatus
from app.coordination.panel import coordination_context, owner_options
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import Meeting
from app.principal import Principal
from app.web import page, today_local


async def _case(db: DB, principal: Principal, case_id: int) -> Case:
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        raise NotFoundError()
    return case


async def _meeting_of(db: DB, data: dict[str, str] | None) -> Meeting | None:
    value = (data or {}).get("meeting_id", "")
    return await db.get(Meeting, int(value)) if value.isdigit() else None


async def _fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    case: Case,
    template: str,
    meeting: Meeting | None,
    **extra: Any,
) -> Template:
    context = await coordination_context(db, principal, case, meeting)
    return page(
        request,
        template,
        principal=principal,
        case=case,
        pairing=await current_pairing(db, case.id),
        region=case.region,
        **context,
        **extra,
    )


async def _after(request: Request[Any, Any, Any], db: DB, case: Case, event: str) -> None:
    await db.commit()
    await announce_case(request.app, request.app.state.session_factory, case.id, event)


# ---------------------------------------------------------------- pairing


@get("/casussen/{case_id:int}/koppeling", include_in_schema=False)
async def pairing_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    case_id: FromPath[int],
    meeting_id: FromQuery[str] = "",
) -> Template:
    case = await _case(db, principal, case_id)
    meeting = await db.get(Meeting, int(meeting_id)) if meeting_id.isdigit() else None
    return await _fragment(request, db, principal, case, "coordination/_pairing.html", meeting)


@post("/casussen/{case_id:int}/koppeling", include_in_schema=False)
async def pairing_confirm(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    case = await _case(db, principal, case_id)
    meeting = await _meeting_of(db, data)
    context = await coordination_context(db, principal, case, meeting)
    if not context["may_manage"]:
        raise NotFoundError()
    current = await current_pairing(db, case.id)

    def chosen(key: str, allowed: set[int], keep: int | None) -> int | None:
        value = data.get(key, "")
        if value == "":
            return keep
        if value == "geen":
            return None
        return int(value) if value.isdigit() and int(value) in allowed else keep

    externals = {s.user.id for s in context["suggestions"]} | (
        {current.external_user_id} if current and current.external_user_id else set()
    )
    internals = {u.id for u in context["internal_candidates"]} | (
        {current.internal_user_id} if current and current.internal_user_id else set()
    )
    coordinators = {u.id for u in context["coordinator_candidates"]} | (
        {current.coordinator_user_id} if current and current.coordinator_user_id else set()
    )
    await pairing_service.confirm(
        db,
        case,
        internal_user_id=chosen(
            "internal_user_id", internals, current.internal_user_id if current else None
        ),
        internal_contact=(
            data.get("internal_contact")
            or (current.internal_contact if current else case.pi_contact_name)
        ).strip(),
        external_user_id=chosen(
            "external_user_id", externals, current.external_user_id if current else None
        ),
        coordinator_user_id=chosen(
            "coordinator_user_id", coordinators, current.coordinator_user_id if current else None
        ),
        confirmed_by=principal.user_id,
        meeting_id=meeting.id if meeting else None,
        settings=request.app.state.settings,
    )
    audit_log.record(db, audit, "case.paired", case=case, object_type="pairing", fields=["pairing"])
    await _after(request, db, case, "pairing")
    return await _fragment(
        request, db, principal, case, "coordination/_pairing.html", meeting, saved=True
    )


# ---------------------------------------------------------------- actions


@get("/casussen/{case_id:int}/acties", include_in_schema=False)
async def actions_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    case_id: FromPath[int],
    meeting_id: FromQuery[str] = "",
) -> Template:
    case = await _case(db, principal, case_id)
    meeting = await db.get(Meeting, int(meeting_id)) if meeting_id.isdigit() else None
    return await _fragment(
        request, db, principal, case, "coordination/_actions.html", meeting, errors={}, form={}
    )


@post("/casussen/{case_id:int}/acties", include_in_schema=False)
async def action_create(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    case = await _case(db, principal, case_id)
    if not may_edit_case(principal):
        raise NotFoundError()
    meeting = await _meeting_of(db, data)
    owners = {key for key, _ in await _owner_keys(db, case)}
    try:
        values = action_service.validate(data, case.region.leefgebied_keys(), owners, today_local())
    except action_service.ActionInputError as exc:
        template = await _fragment(
            request,
            db,
            principal,
            case,
            "coordination/_actions.html",
            meeting,
            errors=exc.errors,
            form=data,
        )
        template.status_code = 400
        return template
    action = await action_service.create(
        db, case.id, values, user_id=principal.user_id, meeting_id=meeting.id if meeting else None
    )
    audit_log.record(
        db,
        audit,
        "action.created",
        case=case,
        object_type="action",
        object_id=action.id,
        fields=["description", "owner", "due_on", "leefgebied"],
    )
    await _after(request, db, case, "actions")
    return await _fragment(
        request, db, principal, case, "coordination/_actions.html", meeting, errors={}, form={}
    )


async def _owner_keys(db: DB, case: Case) -> list[tuple[str, str]]:
    return await owner_options(db, case)


@post("/acties/{action_id:int}", include_in_schema=False)
async def action_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    action_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    action = await db.get(ActionItem, action_id)
    if action is None:
        raise NotFoundError()
    case = await _case(db, principal, action.case_id)
    manages = may_manage_case(principal, case, await current_pairing(db, case.id))
    if not action_service.may_update(principal, action, manages):
        raise NotFoundError()
    status = data.get("status") if data.get("status") in {s.value for s in ActionStatus} else None
    due: Any = "unchanged"
    if "due_on" in data:
        import datetime as dt

        try:
            due = dt.date.fromisoformat(data["due_on"]) if data["due_on"] else None
        except ValueError:
            due = "unchanged"
    changes = await action_service.change(
        db, action, user_id=principal.user_id, status=status, due_on=due, note=data.get("note", "")
    )
    audit_log.record(
        db,
        audit,
        "action.updated",
        case=case,
        object_type="action",
        object_id=action.id,
        fields=[c["field"] for c in changes] + (["note"] if data.get("note") else []),
    )
    await _after(request, db, case, "actions")
    template = data.get("view", "case")
    if template == "work":
        return page(
            request,
            "work/_action.html",
            principal=principal,
            action=action,
            case=case,
            history=await action_service.history(db, action.id),
            saved=True,
        )
    return await _fragment(
        request,
        db,
        principal,
        case,
        "coordination/_actions.html",
        await _meeting_of(db, data),
        errors={},
        form={},
    )


@get("/acties/{action_id:int}/geschiedenis", include_in_schema=False)
async def action_history(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, action_id: FromPath[int]
) -> Template:
    action = await db.get(ActionItem, action_id)
    if action is None:
        raise NotFoundError()
    await _case(db, principal, action.case_id)
    return page(
        request,
        "coordination/_action_history.html",
        principal=principal,
        action=action,
        history=await action_service.history(db, action.id),
    )


ROUTES = [
    pairing_fragment,
    pairing_confirm,
    actions_fragment,
    action_create,
    action_update,
    action_history,
]
