"""Beheer: organisations' API keys (for delivering notices) — the list, issuing one (its value
shown once) and revoking one, for the organisations this beheerder manages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.accounts import tokens
from app.admin import services
from app.admin.forms import FormData, first
from app.auth import NotFoundError
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.web import page


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    *,
    created: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "admin/api_keys.html",
        principal=principal,
        active="beheer",
        title="API-sleutels",
        keys=await services.api_keys(db, principal),
        organisations=await services.organisations(db, principal),
        created=created,
        errors=errors or {},
        status_code=status_code,
    )


@get("/beheer/api-sleutels", include_in_schema=False)
async def api_keys(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    return await _page(request, db, principal)


@post("/beheer/api-sleutels", include_in_schema=False)
async def api_key_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    org_id = first(data, "organisation_id")
    name = first(data, "name")
    errors: dict[str, str] = {}
    managed = {o.id: o for o in await services.organisations(db, principal)}
    org = managed.get(int(org_id)) if org_id.isdigit() else None
    if org is None:
        errors["organisation_id"] = "Kies de organisatie die de sleutel gebruikt."
    if not name:
        errors["name"] = (
            "Geef de sleutel een naam, bijvoorbeeld ‘Frontoffice DJI Noord – weeklijst’."
        )
    if errors or org is None:
        return await _page(request, db, principal, errors=errors, status_code=400)
    value, row = await tokens.issue_api_key(db, org, name, principal.user_id)
    audit_log.record(
        db,
        audit,
        "api_key.created",
        object_type="api_key",
        object_id=row.id,
        fields=["name", "organisation"],
    )
    return await _page(
        request, db, principal, created={"value": value, "name": name, "organisation": org.name}
    )


@post("/beheer/api-sleutels/{key_id:int}/intrekken", include_in_schema=False)
async def api_key_revoke(
    db: DB, principal: CurrentUser, audit: Audit, key_id: FromPath[int]
) -> Redirect:
    key = await services.api_key_in_scope(db, principal, key_id)
    if key is None:
        raise NotFoundError()
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
        audit_log.record(
            db,
            audit,
            "api_key.revoked",
            object_type="api_key",
            object_id=key.id,
            fields=["revoked_at"],
        )
    return Redirect("/beheer/api-sleutels", status_code=303)


ROUTES = [api_keys, api_key_create, api_key_revoke]
