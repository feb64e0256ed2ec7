"""A case's leefgebieden and basisdossier (htmx fragments and their changes), and clearing the
attention a notice asked for."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.access import may_edit_case, may_manage_case
from app.auth import NotFoundError
from app.cases import leefgebieden, services
from app.cases.deps import VisibleCase
from app.deps import DB, Audit, CurrentUser
from app.web import page


@get("/casussen/{case_id:int}/leefgebieden", include_in_schema=False)
async def leefgebieden_fragment(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case: VisibleCase
) -> Template:
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
    case: VisibleCase,
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template:
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
    case: VisibleCase,
    data: URLEncodedBody[dict[str, str]],
) -> Template:
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
    orgs, cells = await leefgebieden.basisdossier(
        db, case, principal, pairing.user_ids if pairing else set()
    )
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
    db: DB, principal: CurrentUser, audit: Audit, case: VisibleCase
) -> Redirect:
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


ROUTES = [leefgebieden_fragment, leefgebied_update, basisdossier_save, attention_resolved]
