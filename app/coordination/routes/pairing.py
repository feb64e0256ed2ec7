"""A case's pairing as an htmx fragment (room and case page), and confirming a new one."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Template

from app import audit as audit_log
from app.auth import NotFoundError
from app.cases.deps import VisibleCase
from app.cases.services import current_pairing
from app.coordination import pairing as pairing_service
from app.coordination.panel import coordination_context
from app.coordination.routes.fragments import case_fragment, commit_and_announce
from app.deps import DB, Audit, CurrentUser
from app.meetings.deps import CaseMeeting

TEMPLATE = "coordination/_pairing.html"


@get("/casussen/{case_id:int}/koppeling", include_in_schema=False)
async def pairing_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    case: VisibleCase,
    case_meeting: CaseMeeting,
) -> Template:
    return await case_fragment(request, db, principal, case, TEMPLATE, case_meeting)


@post("/casussen/{case_id:int}/koppeling", include_in_schema=False)
async def pairing_confirm(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    case_meeting: CaseMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    context = await coordination_context(db, principal, case, case_meeting)
    if not context["may_manage"]:
        raise NotFoundError()
    current = await current_pairing(db, case.id)
    await pairing_service.confirm(
        db,
        case,
        internal_user_id=pairing_service.chosen_user(
            data,
            "internal_user_id",
            {u.id for u in context["internal_candidates"]},
            current.internal_user_id if current else None,
        ),
        internal_contact=(
            data.get("internal_contact")
            or (current.internal_contact if current else case.pi_contact_name)
        ).strip(),
        external_user_id=pairing_service.chosen_user(
            data,
            "external_user_id",
            {s.user.id for s in context["suggestions"]},
            current.external_user_id if current else None,
        ),
        coordinator_user_id=pairing_service.chosen_user(
            data,
            "coordinator_user_id",
            {u.id for u in context["coordinator_candidates"]},
            current.coordinator_user_id if current else None,
        ),
        confirmed_by=principal.user_id,
        meeting_id=case_meeting.id if case_meeting else None,
        settings=request.app.state.settings,
    )
    audit_log.record(db, audit, "case.paired", case=case, object_type="pairing", fields=["pairing"])
    await commit_and_announce(request, db, case, "pairing")
    return await case_fragment(request, db, principal, case, TEMPLATE, case_meeting, saved=True)


ROUTES = [pairing_fragment, pairing_confirm]
