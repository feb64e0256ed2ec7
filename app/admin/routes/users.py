"""Beheer: the users a beheerder manages — the list, creating one (with a first password shown
once), changing one (roles, series, blocking it)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app import audit as audit_log
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.admin import services
from app.admin.forms import FormData, first, values
from app.auth import NotFoundError
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.web import page


async def _form_context(db: DB, principal: Principal, user: User | None = None) -> dict[str, Any]:
    """What the user forms offer: the organisations this beheerder manages (and the one the user
    is in already), the series they manage, the roles."""
    organisations = await services.organisations(db, principal)
    if user is not None and user.organisation_id not in {o.id for o in organisations}:
        organisations = sorted([*organisations, user.organisation], key=lambda o: o.name)
    return {
        "organisations": organisations,
        "all_series": await services.series(db, principal),
        "roles": list(Role),
    }


def _check(
    data: dict[str, Any], org_ids: set[int], *, creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {
        "name": first(data, "name"),
        "email": first(data, "email").lower(),
        "phone": first(data, "phone"),
        "organisation_id": first(data, "organisation_id"),
        "roles": values(data, "roles"),
        "series": values(data, "series"),
    }
    if not form["name"]:
        errors["name"] = "Vul de naam in."
    if creating and ("@" not in form["email"] or "." not in form["email"].split("@")[-1]):
        errors["email"] = "Vul een geldig e-mailadres in, bijvoorbeeld naam@organisatie.nl."
    if not form["organisation_id"].isdigit() or int(form["organisation_id"]) not in org_ids:
        errors["organisation_id"] = "Kies de organisatie van deze gebruiker."
    valid_roles = {r.value for r in Role}
    if not form["roles"] or not set(form["roles"]) <= valid_roles:
        errors["roles"] = "Kies minstens één rol."
    return form, errors


def _series_ids(form: dict[str, Any]) -> set[int]:
    return {int(s) for s in form["series"] if s.isdigit()}


async def _list_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    *,
    q: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "admin/users.html",
        principal=principal,
        active="beheer",
        title="Gebruikers",
        users=await services.users(db, principal, q),
        q=q,
        **await _form_context(db, principal),
        form=form or {},
        errors=errors or {},
        created=created,
        status_code=status_code,
    )


@get("/beheer/gebruikers", include_in_schema=False)
async def users_list(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, q: FromQuery[str] = ""
) -> Template:
    return await _list_page(request, db, principal, q=q)


@post("/beheer/gebruikers", include_in_schema=False)
async def user_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    context = await _form_context(db, principal)
    form, errors = _check(data, {o.id for o in context["organisations"]}, creating=True)
    if not errors and await services.email_taken(db, form["email"]):
        errors["email"] = "Er bestaat al een account met dit e-mailadres."
    if errors:
        return await _list_page(request, db, principal, form=form, errors=errors, status_code=400)
    password = "-".join(secrets.token_urlsafe(4) for _ in range(4))
    user = await accounts.create_user(
        db,
        email=form["email"],
        name=form["name"],
        phone=form["phone"],
        organisation_id=int(form["organisation_id"]),
        roles={Role(r) for r in form["roles"]},
        password=password,
    )
    await services.set_memberships(
        db, user.id, _series_ids(form), {s.id for s in context["all_series"]}
    )
    audit_log.record(
        db,
        audit,
        "user.created",
        object_type="user",
        object_id=user.id,
        fields=["name", "email", "organisation", "roles", "series"],
    )
    await db.flush()
    return await _list_page(request, db, principal, created={"user": user, "password": password})


async def _managed_user(db: DB, principal: Principal, user_id: int) -> User:
    user = await services.user_in_scope(db, principal, user_id)
    if user is None:
        raise NotFoundError()
    return user


async def _edit_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "admin/user_edit.html",
        principal=principal,
        active="beheer",
        title=f"Gebruiker {user.name}",
        user=user,
        memberships=await services.memberships(db, user.id),
        errors=errors or {},
        saved=saved,
        status_code=status_code,
        **await _form_context(db, principal, user),
    )


@get("/beheer/gebruikers/{user_id:int}", include_in_schema=False)
async def user_edit_form(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, user_id: FromPath[int]
) -> Template:
    return await _edit_page(request, db, principal, await _managed_user(db, principal, user_id))


@post("/beheer/gebruikers/{user_id:int}", include_in_schema=False)
async def user_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    user_id: FromPath[int],
    data: FormData,
) -> Template:
    user = await _managed_user(db, principal, user_id)
    context = await _form_context(db, principal, user)
    form, errors = _check(data, {o.id for o in context["organisations"]}, creating=False)
    if errors:
        return await _edit_page(request, db, principal, user, errors=errors, status_code=400)
    user.name = form["name"]
    user.phone = form["phone"]
    user.organisation_id = int(form["organisation_id"])
    await accounts.set_roles(db, user, {Role(r) for r in form["roles"]})
    await services.set_memberships(
        db, user.id, _series_ids(form), {s.id for s in context["all_series"]}
    )
    active = first(data, "active") == "1"
    if user.active and not active:
        await accounts.end_all_access(db, user)
        audit_log.record(
            db, audit, "user.deactivated", object_type="user", object_id=user.id, fields=["active"]
        )
    user.active = active
    audit_log.record(
        db,
        audit,
        "user.updated",
        object_type="user",
        object_id=user.id,
        fields=["name", "phone", "organisation", "roles", "series"],
    )
    await db.flush()
    await db.refresh(user)
    return await _edit_page(request, db, principal, user, saved=True)


ROUTES = [users_list, user_create, user_edit_form, user_update]
