"""A case's action items as an htmx fragment (room and case page), creating and changing them, and
one action's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app import audit as audit_log
from app.access import may_edit_case, may_manage_case
from app.auth import NotFoundError
from app.cases.deps import VisibleCase
from app.cases.services import current_pairing
from app.coordination import actions as action_service
from app.coordination.deps import ACTION_CASE, VisibleAction
from app.coordination.models import ActionStatus
from app.coordination.panel import owner_options
from app.coordination.routes.fragments import case_fragment, commit_and_announce
from app.deps import DB, Audit, CurrentUser
from app.meetings.deps import CaseMeeting
from app.web import page, today_local

TEMPLATE = "coordination/_actions.html"


@get("/casussen/{case_id:int}/acties", include_in_schema=False)
async def actions_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    case: VisibleCase,
    case_meeting: CaseMeeting,
) -> Template:
    return await case_fragment(
        request, db, principal, case, TEMPLATE, case_meeting, errors={}, form={}
    )


@post("/casussen/{case_id:int}/acties", include_in_schema=False)
async def action_create(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    case_meeting: CaseMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    if not may_edit_case(principal):
        raise NotFoundError()
    owners = {key for key, _ in await owner_options(db, case)}
    try:
        values = action_service.validate(data, case.region.leefgebied_keys(), owners, today_local())
    except action_service.ActionInputError as exc:
        template = await case_fragment(
            request, db, principal, case, TEMPLATE, case_meeting, errors=exc.errors, form=data
        )
        template.status_code = 400
        return template
    action = await action_service.create(
        db,
        case.id,
        values,
        user_id=principal.user_id,
        meeting_id=case_meeting.id if case_meeting else None,
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
    await commit_and_announce(request, db, case, "actions")
    return await case_fragment(
        request, db, principal, case, TEMPLATE, case_meeting, errors={}, form={}
    )


def _due_on(data: dict[str, str]) -> dt.date | str | None:
    """The new due date from the form: a date, None to clear it, "unchanged" when absent or bad."""
    if "due_on" not in data:
        return "unchanged"
    try:
        return dt.date.fromisoformat(data["due_on"]) if data["due_on"] else None
    except ValueError:
        return "unchanged"


@post("/acties/{action_id:int}", include_in_schema=False, dependencies=ACTION_CASE)
async def action_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_action: VisibleAction,
    case: VisibleCase,
    case_meeting: CaseMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    action = case_action.action
    manages = may_manage_case(principal, case, await current_pairing(db, case.id))
    if not action_service.may_update(principal, action, manages):
        raise NotFoundError()
    status = data.get("status") if data.get("status") in {s.value for s in ActionStatus} else None
    changes = await action_service.change(
        db,
        action,
        user_id=principal.user_id,
        status=status,
        due_on=_due_on(data),
        note=data.get("note", ""),
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
    await commit_and_announce(request, db, case, "actions")
    if data.get("view", "case") == "work":
        return page(
            request,
            "work/_action.html",
            principal=principal,
            action=action,
            case=case,
            history=await action_service.history(db, action.id),
            saved=True,
        )
    return await case_fragment(
        request, db, principal, case, TEMPLATE, case_meeting, errors={}, form={}
    )


@get("/acties/{action_id:int}/geschiedenis", include_in_schema=False)
async def action_history(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case_action: VisibleAction
) -> Template:
    return page(
        request,
        "coordination/_action_history.html",
        principal=principal,
        action=case_action.action,
        history=await action_service.history(db, case_action.action.id),
    )


ROUTES = [actions_fragment, action_create, action_update, action_history]
