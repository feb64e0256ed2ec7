"""The closure form of a case, and closing it (the rules: app/coordination/closure.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.access import may_manage_case
from app.auth import NotFoundError
from app.cases import leefgebieden
from app.cases.deps import VisibleCase
from app.cases.models import Case, CaseStatus
from app.cases.services import current_pairing
from app.coordination import closure
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.web import page, today_local

FormData = URLEncodedBody[dict[str, Any]]


async def _require_closable(db: DB, principal: Principal, case: Case) -> None:
    """Only who manages the case closes it, and only once."""
    if not may_manage_case(principal, case, await current_pairing(db, case.id)):
        raise NotFoundError()
    if case.status == CaseStatus.CLOSED:
        raise NotFoundError()


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
    return page(
        request,
        "coordination/closure.html",
        principal=principal,
        title=f"Afsluiten – {case.reference}",
        active="casussen",
        case=case,
        rows=await leefgebieden.statuses(db, case, case.region),
        final_statuses=leefgebieden.CLOSURE_STATUSES,
        actions=await closure.open_actions(db, case),
        outcomes=closure.ACTION_OUTCOMES,
        form=form or {},
        errors=errors or {},
        window_over=case.aftercare_ends_on is not None and case.aftercare_ends_on <= today_local(),
        status_code=status_code,
    )


@get("/casussen/{case_id:int}/afsluiten", include_in_schema=False)
async def closure_form(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case: VisibleCase
) -> Template:
    await _require_closable(db, principal, case)
    return await _page(request, db, principal, case)


@post("/casussen/{case_id:int}/afsluiten", include_in_schema=False)
async def close_case(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    data: FormData,
) -> Template | Redirect:
    await _require_closable(db, principal, case)
    actions = await closure.open_actions(db, case)
    errors = closure.check(case, actions, data)
    if errors:
        return await _page(
            request, db, principal, case, form=dict(data), errors=errors, status_code=400
        )
    await closure.close(db, case, actions, data, user_id=principal.user_id)
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
