"""The case list (page and htmx rows) and the case list of the API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy import select

from app import audit as audit_log
from app.cases import services
from app.cases.models import CaseStatus
from app.cases.schemas import CaseSummary
from app.deps import DB, Audit, CurrentUser
from app.reference.models import Institution
from app.web import is_htmx, page


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@get("/casussen", include_in_schema=False)
async def case_list(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    status: FromQuery[str] = "",
    q: FromQuery[str] = "",
    pi: FromQuery[str] = "",
    gemeente: FromQuery[str] = "",
    pagina: FromQuery[str] = "1",
) -> Template:
    filters = services.CaseFilters(
        status=status,
        q=q[:100],
        institution_id=_int_or_none(pi),
        municipality_code=gemeente.upper()[:6],
        page=_int_or_none(pagina) or 1,
    )
    cases, total = await services.list_cases(db, principal, filters)
    if q.strip():
        audit_log.record(db, audit, "cases.searched", object_type="case_list", fields=["search"])
    institutions = (await db.scalars(select(Institution).order_by(Institution.name))).all()
    return page(
        request,
        "cases/_case_rows.html" if is_htmx(request) else "cases/list.html",
        principal=principal,
        active="casussen",
        title="Casussen",
        cases=cases,
        total=total,
        filters=filters,
        statuses=list(CaseStatus),
        institutions=institutions,
        page_size=services.PAGE_SIZE,
        may_search_bsn=services.may_search_bsn(principal),
    )


@get("/api/v1/cases", tags=["casussen"], security=[{"bearer": []}])
async def api_cases(
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    status: FromQuery[str] = "",
    q: FromQuery[str] = "",
) -> list[CaseSummary]:
    """The cases the caller may see (`status`: open, nazorg, gesloten; `q`: name, reference or BSN)."""
    stmt = services.case_list_query(principal, services.CaseFilters(status=status, q=q[:100]))
    cases = (await db.scalars(stmt.limit(1000))).unique().all()
    if q.strip():
        audit_log.record(db, audit, "cases.searched", object_type="case_list", fields=["search"])
    return [
        CaseSummary(id=c.id, reference=c.reference, region=c.region.name, status=str(c.status))
        for c in cases
    ]


ROUTES = [case_list, api_cases]
