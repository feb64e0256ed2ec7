"""Closing a case when its coordination window has ended (one month after release by default,
000:L1894-1895): the final status per leefgebied (geregeld / advies overgedragen / niet geregeld,
001:L2982-2990), what happens to each open action, and the moments still planned are cancelled."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.access import may_manage_case
from app.auth import NotFoundError
from app.cases import leefgebieden
from app.cases.models import Case, CaseStatus
from app.cases.services import current_pairing
from app.coordination import actions as action_service
from app.coordination import appointments as appointment_service
from app.coordination.case_page import case_or_404
from app.coordination.models import ActionStatus, AppointmentStatus
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.web import page, today_local

FormData = URLEncodedBody[dict[str, Any]]
ACTION_OUTCOMES = [
    (ActionStatus.HANDED_OVER.value, "Overgedragen aan wie verdergaat"),
    (ActionStatus.DONE.value, "Gereed"),
    (ActionStatus.DROPPED.value, "Vervallen"),
]
FINAL = {key for key, _ in leefgebieden.CLOSURE_STATUSES}


async def _closable(db: DB, principal: Principal, case_id: int) -> Case:
    case = await case_or_404(db, principal, case_id)
    if not may_manage_case(principal, case, await current_pairing(db, case.id)):
        raise NotFoundError()
    return case


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    case: Case,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    actions = [a for a in await action_service.for_case(db, case.id) if a.is_open]
    return page(
        request,
        "coordination/closure.html",
        principal=principal,
        title=f"Afsluiten – {case.reference}",
        active="casussen",
        case=case,
        rows=await leefgebieden.statuses(db, case, case.region),
        final_statuses=leefgebieden.CLOSURE_STATUSES,
        actions=actions,
        outcomes=ACTION_OUTCOMES,
        form=form or {},
        errors=errors or {},
        window_over=case.aftercare_ends_on is not None and case.aftercare_ends_on <= today_local(),
        status_code=status_code,
    )


@get("/casussen/{case_id:int}/afsluiten", include_in_schema=False)
async def closure_form(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case_id: FromPath[int]
) -> Template:
    case = await _closable(db, principal, case_id)
    if case.status == CaseStatus.CLOSED:
        raise NotFoundError()
    return await _page(request, db, principal, case)


@post("/casussen/{case_id:int}/afsluiten", include_in_schema=False)
async def close_case(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
    data: FormData,
) -> Template | Redirect:
    case = await _closable(db, principal, case_id)
    if case.status == CaseStatus.CLOSED:
        raise NotFoundError()
    errors: dict[str, str] = {}
    keys = [lg["key"] for lg in case.region.leefgebieden]
    for key in keys:
        if str(data.get(f"lg_{key}", "")) not in FINAL:
            errors[f"lg_{key}"] = (
                f"Kies hoe het met {case.region.leefgebied_label(key).lower()} is afgelopen."
            )
    open_actions = [a for a in await action_service.for_case(db, case.id) if a.is_open]
    outcomes = {key for key, _ in ACTION_OUTCOMES}
    for action in open_actions:
        if str(data.get(f"actie_{action.id}", "")) not in outcomes:
            errors[f"actie_{action.id}"] = "Kies wat er met deze actie gebeurt."
    note = str(data.get("closure_note", "")).strip()
    if len(note) > 2000:
        errors["closure_note"] = "Houd de toelichting korter dan 2000 tekens."
    if errors:
        return await _page(
            request, db, principal, case, form=dict(data), errors=errors, status_code=400
        )
    for key in keys:
        await leefgebieden.set_status(
            db,
            case,
            key,
            str(data[f"lg_{key}"]),
            str(data.get(f"lg_note_{key}", "")).strip(),
            principal.user_id,
        )
    for action in open_actions:
        await action_service.change(
            db,
            action,
            user_id=principal.user_id,
            status=str(data[f"actie_{action.id}"]),
            note="Bij het afsluiten van de casus.",
        )
    for appointment in await appointment_service.for_case(db, case.id):
        if appointment.status == AppointmentStatus.PLANNED:
            await appointment_service.set_status(
                db, appointment, AppointmentStatus.CANCELLED, user_id=principal.user_id
            )
    case.status = CaseStatus.CLOSED
    case.closed_on = today_local()
    case.closed_by_id = principal.user_id
    case.closure_note = note
    case.follow_up_on = None
    audit_log.record(
        db,
        audit,
        "case.closed",
        case=case,
        object_type="case",
        object_id=case.id,
        fields=["status", "leefgebieden", "actions", "closure_note"],
    )
    return Redirect(f"/casussen/{case.id}?afgesloten=1", status_code=303)


ROUTES = [closure_form, close_case]
