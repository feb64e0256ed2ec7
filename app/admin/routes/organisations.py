"""Beheer: the organisations, and adding one (a gemeente with its CBS code, a PI with its
inrichting)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import may_administer_region
from app.admin import services
from app.admin.forms import FormData, first
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.reference.models import Institution, Municipality, Organisation, OrganisationKind, Region
from app.web import page

FIELDS = ("name", "kind", "region_id", "municipality_code", "institution_id", "email")


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "admin/organisations.html",
        principal=principal,
        active="beheer",
        title="Organisaties",
        organisations=await services.all_organisations(db),
        regions=(await db.scalars(select(Region).order_by(Region.name))).all(),
        institutions=(await db.scalars(select(Institution).order_by(Institution.name))).all(),
        kinds=list(OrganisationKind),
        form=form,
        errors=errors,
        status_code=status_code,
    )


@get("/beheer/organisaties", include_in_schema=False)
async def organisations_list(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser
) -> Template:
    return await _page(request, db, principal, form={}, errors={})


async def _check(
    db: DB, principal: Principal, form: dict[str, str]
) -> tuple[int | None, int | None, dict[str, str]]:
    """The region and inrichting the form names (each through its rule), and what is wrong."""
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = "Vul de naam van de organisatie in."
    elif await services.organisation_named(db, form["name"]):
        errors["name"] = "Er bestaat al een organisatie met deze naam."
    if form["kind"] not in {k.value for k in OrganisationKind}:
        errors["kind"] = "Kies het soort organisatie."
    region_id = int(form["region_id"]) if form["region_id"].isdigit() else None
    if region_id is not None and not may_administer_region(principal, region_id):
        errors["region_id"] = "U beheert deze regio niet."
    code = form["municipality_code"].upper()
    if form["kind"] == OrganisationKind.GEMEENTE and (
        not code or await db.get(Municipality, code) is None
    ):
        errors["municipality_code"] = "Vul de CBS-code van de gemeente in, bijvoorbeeld GM0080."
    institution_id = int(form["institution_id"]) if form["institution_id"].isdigit() else None
    if institution_id is not None and await db.get(Institution, institution_id) is None:
        errors["institution_id"] = "Kies een inrichting uit de lijst."
    return region_id, institution_id, errors


@post("/beheer/organisaties", include_in_schema=False)
async def organisation_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Response[Any]:
    form = {k: first(data, k) for k in FIELDS}
    region_id, institution_id, errors = await _check(db, principal, form)
    if errors:
        return await _page(request, db, principal, form=form, errors=errors, status_code=400)
    gemeente = form["kind"] == OrganisationKind.GEMEENTE
    org = Organisation(
        name=form["name"],
        kind=form["kind"],
        region_id=region_id,
        email=form["email"],
        municipality_code=form["municipality_code"].upper() or None if gemeente else None,
        institution_id=institution_id if form["kind"] == OrganisationKind.PI else None,
    )
    db.add(org)
    await db.flush()
    audit_log.record(
        db,
        audit,
        "organisation.created",
        object_type="organisation",
        object_id=org.id,
        fields=["name", "kind", "region"],
    )
    return Redirect("/beheer/organisaties", status_code=303)


ROUTES = [organisations_list, organisation_create]
