"""Beheer pages: users, organisations, API keys, series membership and the audit trail."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from app import audit as audit_log
from app.access import may_administer, may_administer_region
from app.accounts import services as accounts
from app.accounts.models import ApiToken, Role, User
from app.admin import services
from app.audit import AuditEvent
from app.auth import NotFoundError
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import MeetingSeries, SeriesMember, SeriesOrganisation
from app.principal import Principal
from app.reference.models import Institution, Municipality, Organisation, OrganisationKind, Region
from app.web import page

FormData = URLEncodedBody[dict[str, Any]]


def _require_admin(p: Principal) -> None:
    if not may_administer(p):
        raise NotFoundError()


def _values(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _first(data: dict[str, Any], key: str) -> str:
    values = _values(data, key)
    return values[0].strip() if values else ""


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@get("/beheer", include_in_schema=False)
async def admin_index(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    _require_admin(principal)
    users = await db.scalar(
        select(func.count()).select_from(User).where(services.users_in_scope(principal))
    )
    keys = await db.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.organisation_id.is_not(None), ApiToken.revoked_at.is_(None))
    )
    series = await db.scalar(
        select(func.count()).select_from(MeetingSeries).where(services.series_in_scope(principal))
    )
    return page(
        request,
        "admin/index.html",
        principal=principal,
        active="beheer",
        title="Beheer",
        counts={"users": users or 0, "keys": keys or 0, "series": series or 0},
    )


# ---------------------------------------------------------------- users


async def _user_form_context(db: DB, principal: CurrentUser) -> dict[str, Any]:
    orgs = (
        await db.scalars(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
        )
    ).all()
    series = (
        await db.scalars(
            select(MeetingSeries)
            .where(services.series_in_scope(principal))
            .order_by(MeetingSeries.name)
        )
    ).all()
    return {"organisations": orgs, "all_series": series, "roles": list(Role)}


@get("/beheer/gebruikers", include_in_schema=False)
async def users_list(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, q: FromQuery[str] = ""
) -> Template:
    _require_admin(principal)
    stmt = select(User).where(services.users_in_scope(principal)).order_by(User.name)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
    users = (await db.scalars(stmt)).unique().all()
    return page(
        request,
        "admin/users.html",
        principal=principal,
        active="beheer",
        title="Gebruikers",
        users=users,
        q=q,
        **await _user_form_context(db, principal),
        form={},
        errors={},
        created=None,
    )


def _validate_user_form(
    data: dict[str, Any], org_ids: set[int], *, creating: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {
        "name": _first(data, "name"),
        "email": _first(data, "email").lower(),
        "phone": _first(data, "phone"),
        "organisation_id": _first(data, "organisation_id"),
        "roles": _values(data, "roles"),
        "series": _values(data, "series"),
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


@post("/beheer/gebruikers", include_in_schema=False)
async def user_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    _require_admin(principal)
    ctx = await _user_form_context(db, principal)
    form, errors = _validate_user_form(data, {o.id for o in ctx["organisations"]}, creating=True)
    if not errors and await db.scalar(select(User.id).where(User.email == form["email"])):
        errors["email"] = "Er bestaat al een account met dit e-mailadres."
    users = (
        (
            await db.scalars(
                select(User).where(services.users_in_scope(principal)).order_by(User.name)
            )
        )
        .unique()
        .all()
    )
    if errors:
        return page(
            request,
            "admin/users.html",
            principal=principal,
            active="beheer",
            title="Gebruikers",
            users=users,
            q="",
            **ctx,
            form=form,
            errors=errors,
            created=None,
            status_code=400,
        )
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
    allowed_series = {s.id for s in ctx["all_series"]}
    for sid in form["series"]:
        if sid.isdigit() and int(sid) in allowed_series:
            db.add(SeriesMember(series_id=int(sid), user_id=user.id))
    audit_log.record(
        db,
        audit,
        "user.created",
        object_type="user",
        object_id=user.id,
        fields=["name", "email", "organisation", "roles", "series"],
    )
    await db.flush()
    users = (
        (
            await db.scalars(
                select(User).where(services.users_in_scope(principal)).order_by(User.name)
            )
        )
        .unique()
        .all()
    )
    return page(
        request,
        "admin/users.html",
        principal=principal,
        active="beheer",
        title="Gebruikers",
        users=users,
        q="",
        **ctx,
        form={},
        errors={},
        created={"user": user, "password": password},
    )


@get("/beheer/gebruikers/{user_id:int}", include_in_schema=False)
async def user_edit_form(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, user_id: FromPath[int]
) -> Template:
    _require_admin(principal)
    user = (
        (
            await db.scalars(
                select(User).where(User.id == user_id, services.users_in_scope(principal))
            )
        )
        .unique()
        .one_or_none()
    )
    if user is None:
        raise NotFoundError()
    memberships = set(
        (
            await db.scalars(select(SeriesMember.series_id).where(SeriesMember.user_id == user.id))
        ).all()
    )
    return page(
        request,
        "admin/user_edit.html",
        principal=principal,
        active="beheer",
        title=f"Gebruiker {user.name}",
        user=user,
        memberships=memberships,
        errors={},
        saved=False,
        **await _user_form_context(db, principal),
    )


@post("/beheer/gebruikers/{user_id:int}", include_in_schema=False)
async def user_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    user_id: FromPath[int],
    data: FormData,
) -> Template:
    _require_admin(principal)
    user = (
        (
            await db.scalars(
                select(User).where(User.id == user_id, services.users_in_scope(principal))
            )
        )
        .unique()
        .one_or_none()
    )
    if user is None:
        raise NotFoundError()
    ctx = await _user_form_context(db, principal)
    form, errors = _validate_user_form(data, {o.id for o in ctx["organisations"]}, creating=False)
    memberships = set(
        (
            await db.scalars(select(SeriesMember.series_id).where(SeriesMember.user_id == user.id))
        ).all()
    )
    if errors:
        return page(
            request,
            "admin/user_edit.html",
            principal=principal,
            active="beheer",
            title=f"Gebruiker {user.name}",
            user=user,
            memberships=memberships,
            errors=errors,
            saved=False,
            status_code=400,
            **ctx,
        )
    user.name = form["name"]
    user.phone = form["phone"]
    user.organisation_id = int(form["organisation_id"])
    await accounts.set_roles(db, user, {Role(r) for r in form["roles"]})
    wanted = {int(s) for s in form["series"] if s.isdigit()} & {s.id for s in ctx["all_series"]}
    manageable = {s.id for s in ctx["all_series"]}
    for sid in (memberships & manageable) - wanted:
        member = (
            await db.scalars(
                select(SeriesMember).where(
                    SeriesMember.series_id == sid, SeriesMember.user_id == user.id
                )
            )
        ).one()
        await db.delete(member)
    for sid in wanted - memberships:
        db.add(SeriesMember(series_id=sid, user_id=user.id))
    active = _first(data, "active") == "1"
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
    memberships = set(
        (
            await db.scalars(select(SeriesMember.series_id).where(SeriesMember.user_id == user.id))
        ).all()
    )
    return page(
        request,
        "admin/user_edit.html",
        principal=principal,
        active="beheer",
        title=f"Gebruiker {user.name}",
        user=user,
        memberships=memberships,
        errors={},
        saved=True,
        **ctx,
    )


# ---------------------------------------------------------------- organisations


@get("/beheer/organisaties", include_in_schema=False)
async def organisations_list(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser
) -> Template:
    _require_admin(principal)
    return await _organisations_page(request, db, principal, form={}, errors={})


async def _organisations_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    orgs = (await db.scalars(select(Organisation).order_by(Organisation.name))).unique().all()
    regions = (await db.scalars(select(Region).order_by(Region.name))).all()
    institutions = (await db.scalars(select(Institution).order_by(Institution.name))).all()
    return page(
        request,
        "admin/organisations.html",
        principal=principal,
        active="beheer",
        title="Organisaties",
        organisations=orgs,
        regions=regions,
        institutions=institutions,
        kinds=list(OrganisationKind),
        form=form,
        errors=errors,
        status_code=status_code,
    )


@post("/beheer/organisaties", include_in_schema=False)
async def organisation_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Response[Any]:
    _require_admin(principal)
    form = {
        k: _first(data, k)
        for k in ("name", "kind", "region_id", "municipality_code", "institution_id", "email")
    }
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = "Vul de naam van de organisatie in."
    elif await db.scalar(select(Organisation.id).where(Organisation.name == form["name"])):
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
    if errors:
        return await _organisations_page(
            request, db, principal, form=form, errors=errors, status_code=400
        )
    org = Organisation(
        name=form["name"],
        kind=form["kind"],
        region_id=region_id,
        email=form["email"],
        municipality_code=code or None if form["kind"] == OrganisationKind.GEMEENTE else None,
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


# ---------------------------------------------------------------- API keys


@get("/beheer/api-sleutels", include_in_schema=False)
async def api_keys(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    _require_admin(principal)
    return await _api_keys_page(request, db, principal)


async def _api_keys_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    *,
    created: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    keys = (
        (
            await db.scalars(
                select(ApiToken)
                .where(ApiToken.organisation_id.is_not(None))
                .order_by(ApiToken.created_at.desc())
            )
        )
        .unique()
        .all()
    )
    orgs = (
        (
            await db.scalars(
                select(Organisation)
                .where(Organisation.active.is_(True))
                .order_by(Organisation.name)
            )
        )
        .unique()
        .all()
    )
    return page(
        request,
        "admin/api_keys.html",
        principal=principal,
        active="beheer",
        title="API-sleutels",
        keys=keys,
        organisations=orgs,
        created=created,
        errors=errors or {},
        status_code=status_code,
    )


@post("/beheer/api-sleutels", include_in_schema=False)
async def api_key_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    _require_admin(principal)
    org_id = _first(data, "organisation_id")
    name = _first(data, "name")
    errors: dict[str, str] = {}
    org = await db.get(Organisation, int(org_id)) if org_id.isdigit() else None
    if org is None:
        errors["organisation_id"] = "Kies de organisatie die de sleutel gebruikt."
    if not name:
        errors["name"] = (
            "Geef de sleutel een naam, bijvoorbeeld ‘Frontoffice DJI Noord – weeklijst’."
        )
    if errors or org is None:
        return await _api_keys_page(request, db, principal, errors=errors, status_code=400)
    value, row = await accounts.issue_api_key(db, org, name, principal.user_id)
    audit_log.record(
        db,
        audit,
        "api_key.created",
        object_type="api_key",
        object_id=row.id,
        fields=["name", "organisation"],
    )
    return await _api_keys_page(
        request, db, principal, created={"value": value, "name": name, "organisation": org.name}
    )


@post("/beheer/api-sleutels/{key_id:int}/intrekken", include_in_schema=False)
async def api_key_revoke(
    db: DB, principal: CurrentUser, audit: Audit, key_id: FromPath[int]
) -> Redirect:
    _require_admin(principal)
    key = await db.get(ApiToken, key_id)
    if key is None or key.organisation_id is None:
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


# ---------------------------------------------------------------- series membership


@get("/beheer/reeksen", include_in_schema=False)
async def series_list(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    _require_admin(principal)
    series = (
        (
            await db.scalars(
                select(MeetingSeries)
                .where(services.series_in_scope(principal))
                .order_by(MeetingSeries.name)
            )
        )
        .unique()
        .all()
    )
    member_counts = dict(
        (
            await db.execute(
                select(SeriesMember.series_id, func.count()).group_by(SeriesMember.series_id)
            )
        ).all()
    )
    org_counts = dict(
        (
            await db.execute(
                select(SeriesOrganisation.series_id, func.count()).group_by(
                    SeriesOrganisation.series_id
                )
            )
        ).all()
    )
    return page(
        request,
        "admin/series.html",
        principal=principal,
        active="beheer",
        title="Overlegreeksen",
        series=series,
        member_counts=member_counts,
        org_counts=org_counts,
    )


# ---------------------------------------------------------------- audit trail


def _audit_filters(
    person: str, gebruiker: str, van: str, tot: str, handeling: str, pagina: str
) -> services.AuditFilters:
    return services.AuditFilters(
        person=person[:40],
        user_id=int(gebruiker) if gebruiker.isdigit() else None,
        date_from=_date(van),
        date_to=_date(tot),
        action=handeling[:64],
        page=int(pagina) if pagina.isdigit() and int(pagina) > 0 else 1,
    )


@get("/beheer/audit", include_in_schema=False)
async def audit_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    persoon: FromQuery[str] = "",
    gebruiker: FromQuery[str] = "",
    van: FromQuery[str] = "",
    tot: FromQuery[str] = "",
    handeling: FromQuery[str] = "",
    pagina: FromQuery[str] = "1",
) -> Template:
    _require_admin(principal)
    f = _audit_filters(persoon, gebruiker, van, tot, handeling, pagina)
    stmt = await services.audit_query(db, principal, f)
    events = (
        await db.scalars(
            stmt.limit(services.AUDIT_PAGE_SIZE + 1).offset((f.page - 1) * services.AUDIT_PAGE_SIZE)
        )
    ).all()
    has_more = len(events) > services.AUDIT_PAGE_SIZE
    if f.person:
        audit_log.record(db, audit, "audit.searched", object_type="audit", fields=["person"])
    users = (
        (
            await db.scalars(
                select(User).where(services.users_in_scope(principal)).order_by(User.name)
            )
        )
        .unique()
        .all()
    )
    actions = sorted((await db.scalars(select(AuditEvent.action).distinct())).all())
    errors = {}
    if van and f.date_from is None:
        errors["van"] = "Vul een datum in als JJJJ-MM-DD."
    if tot and f.date_to is None:
        errors["tot"] = "Vul een datum in als JJJJ-MM-DD."
    return page(
        request,
        "admin/audit.html",
        principal=principal,
        active="beheer",
        title="Audittrail",
        events=events[: services.AUDIT_PAGE_SIZE],
        has_more=has_more,
        filters=f,
        users=users,
        actions=actions,
        labels=services.ACTION_LABELS,
        raw={
            "persoon": persoon,
            "gebruiker": gebruiker,
            "van": van,
            "tot": tot,
            "handeling": handeling,
        },
        errors=errors,
    )


@get("/beheer/audit.csv", include_in_schema=False)
async def audit_export(
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    persoon: FromQuery[str] = "",
    gebruiker: FromQuery[str] = "",
    van: FromQuery[str] = "",
    tot: FromQuery[str] = "",
    handeling: FromQuery[str] = "",
) -> Response[str]:
    _require_admin(principal)
    f = _audit_filters(persoon, gebruiker, van, tot, handeling, "1")
    stmt = await services.audit_query(db, principal, f)
    events = list((await db.scalars(stmt.limit(100_000))).all())
    audit_log.record(
        db, audit, "audit.exported", object_type="audit", fields=["person"] if f.person else []
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        services.audit_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audittrail-{stamp}.csv"'},
    )


ROUTES = [
    admin_index,
    users_list,
    user_create,
    user_edit_form,
    user_update,
    organisations_list,
    organisation_create,
    api_keys,
    api_key_create,
    api_key_revoke,
    series_list,
    audit_page,
    audit_export,
]
