"""Case pages (list, case page) and the case API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import get_visible_case, may_edit_case
from app.accounts.models import User
from app.auth import NotFoundError
from app.cases import services
from app.cases.bsn import mask_bsn
from app.cases.models import Case, CaseStatus
from app.cases.schemas import (
    CaseDetail,
    CasemanagerOut,
    CaseSummary,
    DetentionOut,
    PairingOut,
    PersonOut,
)
from app.deps import DB, Audit, CurrentUser
from app.reference.models import Institution
from app.web import page

# Field names recorded in the audit trail when a case page or API detail is shown.
VIEWED_FIELDS = (
    "person.first_names",
    "person.prefix",
    "person.last_name",
    "person.birth_date",
    "case.status",
    "detention",
    "pairing",
)


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
    template = (
        "cases/_case_rows.html"
        if request.headers.get("hx-request") == "true"
        else "cases/list.html"
    )
    return page(
        request,
        template,
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


@get("/casussen/{case_id:int}", include_in_schema=False)
async def case_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
) -> Template:
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        raise NotFoundError()
    pairing = await services.current_pairing(db, case.id)
    show_bsn = services.may_see_bsn(principal)
    fields = [*VIEWED_FIELDS, "person.bsn"] if show_bsn else list(VIEWED_FIELDS)
    audit_log.record(
        db, audit, "case.viewed", case=case, object_type="case", object_id=case.id, fields=fields
    )
    return page(
        request,
        "cases/detail.html",
        principal=principal,
        active="casussen",
        title=f"Casus {case.reference}",
        case=case,
        person=case.person,
        pairing=pairing,
        bsn=case.person.bsn if show_bsn else mask_bsn(case.person.bsn),
        may_edit=may_edit_case(principal),
    )


# ---------------------------------------------------------------- API


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


def _cm(user: User | None) -> CasemanagerOut | None:
    if user is None:
        return None
    return CasemanagerOut(
        id=user.id, name=user.name, organisation=user.organisation.name, email=user.email
    )


async def case_detail_out(db: DB, case: Case) -> CaseDetail:
    pairing = await services.current_pairing(db, case.id)
    period = case.current_period
    return CaseDetail(
        id=case.id,
        reference=case.reference,
        region=case.region.name,
        status=str(case.status),
        person=PersonOut(
            first_names=case.person.first_names,
            prefix=case.person.prefix,
            last_name=case.person.last_name,
            birth_date=case.person.birth_date.isoformat(),
        ),
        detention=DetentionOut(
            institution=period.institution_label,
            entered_on=period.entered_on.isoformat(),
            expected_release_on=period.expected_release_on.isoformat()
            if period.expected_release_on
            else None,
            released_on=period.released_on.isoformat() if period.released_on else None,
            title=period.title,
        )
        if period
        else None,
        pairing=PairingOut(
            internal=_cm(pairing.internal_user) if pairing else None,
            external=_cm(pairing.external_user) if pairing else None,
            coordinator=_cm(pairing.coordinator_user) if pairing else None,
        ),
        leefgebieden=[],
        actions=[],
        origin_gemeente=case.origin_municipality_code,
        return_gemeente=case.return_municipality_code,
    )


@get("/api/v1/cases/{case_id:int}", tags=["casussen"], security=[{"bearer": []}])
async def api_case(
    db: DB, principal: CurrentUser, audit: Audit, case_id: FromPath[int]
) -> CaseDetail:
    """A case the caller may see; 404 for any other id."""
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        raise NotFoundError()
    audit_log.record(
        db,
        audit,
        "case.viewed",
        case=case,
        object_type="case",
        object_id=case.id,
        fields=VIEWED_FIELDS,
    )
    await db.refresh(case, ["periods"])
    return await case_detail_out(db, case)


ROUTES = [case_list, case_page, api_cases, api_case]
