"""Case pages (list, case page) and the case API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import get_visible_case, may_edit_case, may_manage_case
from app.auth import NotFoundError
from app.cases import leefgebieden, services
from app.cases.models import Case, CaseStatus
from app.cases.schemas import (
    CaseSummary,
)
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
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


async def _case_or_404(db: DB, principal: Principal, case_id: int) -> Case:
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        raise NotFoundError()
    return case


@get("/casussen/{case_id:int}/leefgebieden", include_in_schema=False)
async def leefgebieden_fragment(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case_id: FromPath[int]
) -> Template:
    case = await _case_or_404(db, principal, case_id)
    return page(
        request,
        "cases/_leefgebieden.html",
        principal=principal,
        case=case,
        leefgebieden=await leefgebieden.statuses(db, case, case.region),
        may_edit=may_edit_case(principal),
        status_options=leefgebieden.STATUSES,
        closure_options=leefgebieden.CLOSURE_STATUSES,
        status_labels=leefgebieden.STATUS_LABELS,
    )


@post("/casussen/{case_id:int}/leefgebieden/{key:str}", include_in_schema=False)
async def leefgebied_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    case = await _case_or_404(db, principal, case_id)
    if not may_edit_case(principal):
        raise NotFoundError()
    region = case.region
    if key not in region.leefgebied_keys():
        raise NotFoundError()
    status = data.get("status", "onbekend")
    if status not in leefgebieden.STATUS_LABELS:
        raise HTTPException(status_code=400, detail="Kies een bestaande status.")
    note = (data.get("note") or "").strip()
    await leefgebieden.set_status(db, case, key, status, note, principal.user_id)
    audit_log.record(
        db,
        audit,
        "case.leefgebied_updated",
        case=case,
        object_type="leefgebied",
        fields=[f"leefgebied.{key}.status", f"leefgebied.{key}.note"],
    )
    await db.commit()
    hook = request.app.state.get("on_case_change")
    if hook is not None:
        await hook(case.id, "leefgebied")
    rows = await leefgebieden.statuses(db, case, region)
    row = next(r for r in rows if r.key == key)
    return page(
        request,
        "cases/_leefgebied_row.html",
        principal=principal,
        case=case,
        lg=row,
        may_edit=True,
        status_options=leefgebieden.STATUSES,
        closure_options=leefgebieden.CLOSURE_STATUSES,
        status_labels=leefgebieden.STATUS_LABELS,
        saved=True,
    )


@post("/casussen/{case_id:int}/basisdossier", include_in_schema=False)
async def basisdossier_save(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
    case = await _case_or_404(db, principal, case_id)
    if not may_edit_case(principal):
        raise NotFoundError()
    region = case.region
    known_values = {k for k, _ in leefgebieden.KNOWN}
    values: dict[str, tuple[str, str]] = {}
    for key in region.leefgebied_keys():
        known = data.get(f"known_{key}", "onbekend")
        values[key] = (
            known if known in known_values else "onbekend",
            (data.get(f"note_{key}") or "").strip(),
        )
    changed = await leefgebieden.save_basisdossier(
        db, case, principal.organisation_id, values, principal.user_id
    )
    if changed:
        audit_log.record(
            db,
            audit,
            "case.basisdossier_updated",
            case=case,
            object_type="basisdossier",
            fields=[f"basisdossier.{k}" for k in changed],
        )
    pairing = await services.current_pairing(db, case.id)
    assigned = (
        {
            u
            for u in (
                pairing.internal_user_id,
                pairing.external_user_id,
                pairing.coordinator_user_id,
            )
            if u
        }
        if pairing
        else set()
    )
    orgs, cells = await leefgebieden.basisdossier(db, case, principal, assigned)
    own = {
        key: cell for (org_id, key), cell in cells.items() if org_id == principal.organisation_id
    }
    return page(
        request,
        "cases/_basisdossier.html",
        principal=principal,
        saved=True,
        case=case,
        region=region,
        may_edit=True,
        dossier_orgs=orgs,
        dossier_cells=cells,
        own_entries=own,
        known_options=leefgebieden.KNOWN,
    )


@post("/casussen/{case_id:int}/aandacht-afgehandeld", include_in_schema=False)
async def attention_resolved(
    db: DB, principal: CurrentUser, audit: Audit, case_id: FromPath[int]
) -> Redirect:
    case = await _case_or_404(db, principal, case_id)
    if not may_manage_case(principal, case):
        raise NotFoundError()
    case.needs_attention = False
    audit_log.record(
        db,
        audit,
        "case.updated",
        case=case,
        object_type="case",
        object_id=case.id,
        fields=["needs_attention"],
    )
    return Redirect(f"/casussen/{case.id}#meldingen", status_code=303)


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


ROUTES = [
    case_list,
    leefgebieden_fragment,
    leefgebied_update,
    basisdossier_save,
    attention_resolved,
    api_cases,
]
