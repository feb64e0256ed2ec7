"""Beheer: creating and editing meeting series (cadence, place, online link, chair, partners)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import may_administer, may_administer_region
from app.accounts.models import Role, User, UserRole
from app.admin.services import series_in_scope
from app.auth import NotFoundError
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import MeetingSeries, SeriesKind, SeriesOrganisation
from app.meetings.services import WEEKDAYS, ensure_meetings
from app.principal import Principal
from app.reference.models import Organisation, Region
from app.web import page

FIELDS = (
    "name",
    "kind",
    "region_id",
    "cadence_weeks",
    "weekday",
    "start_time",
    "duration_minutes",
    "anchor_on",
    "location",
    "online_url",
    "chair_id",
    "item_minutes",
    "agenda_lead_hours",
)


def _require(p: Principal) -> None:
    if not may_administer(p):
        raise NotFoundError()


def _values(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


async def _form_context(db: DB, principal: Principal) -> dict[str, Any]:
    regions = [
        r
        for r in (await db.scalars(select(Region).order_by(Region.name))).all()
        if may_administer_region(principal, r.id)
    ]
    chairs = (
        (
            await db.scalars(
                select(User)
                .join(UserRole)
                .where(UserRole.role == Role.COORDINATOR, User.active.is_(True))
                .order_by(User.name)
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
    return {
        "regions": regions,
        "chairs": chairs,
        "organisations": orgs,
        "kinds": list(SeriesKind),
        "weekdays": list(enumerate(WEEKDAYS)),
    }


def _parse(data: dict[str, Any], region_ids: set[int]) -> tuple[dict[str, Any], dict[str, str]]:
    first = {k: (_values(data, k) or [""])[0].strip() for k in FIELDS}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": first["name"],
        "location": first["location"][:300],
        "online_url": first["online_url"][:500],
    }
    if not values["name"]:
        errors["name"] = "Geef de reeks een naam, bijvoorbeeld ‘Instroomoverleg Fryslân’."
    try:
        values["kind"] = SeriesKind(first["kind"]).value
    except ValueError:
        errors["kind"] = "Kies de vorm van het overleg."
    if not first["region_id"].isdigit() or int(first["region_id"]) not in region_ids:
        errors["region_id"] = "Kies de regio van het overleg."
    else:
        values["region_id"] = int(first["region_id"])
    for key, low, high, message in (
        ("cadence_weeks", 1, 12, "Kies om de hoeveel weken het overleg is (1 tot 12)."),
        ("weekday", 0, 6, "Kies de dag van de week."),
        ("duration_minutes", 15, 480, "De duur is 15 tot 480 minuten."),
        ("item_minutes", 1, 60, "De tijd per casus is 1 tot 60 minuten."),
        ("agenda_lead_hours", 1, 168, "De agenda wordt 1 tot 168 uur vooraf opgebouwd."),
    ):
        if first[key].isdigit() and low <= int(first[key]) <= high:
            values[key] = int(first[key])
        else:
            errors[key] = message
    try:
        values["start_time"] = dt.time.fromisoformat(first["start_time"])
    except ValueError:
        errors["start_time"] = "Vul de begintijd in als UU:MM, bijvoorbeeld 10:00."
    if first["anchor_on"]:
        try:
            values["anchor_on"] = dt.date.fromisoformat(first["anchor_on"])
        except ValueError:
            errors["anchor_on"] = "Vul een datum in als JJJJ-MM-DD."
    else:
        values["anchor_on"] = None
    if values["online_url"] and not values["online_url"].startswith("https://"):
        errors["online_url"] = "Een online vergaderlink begint met https://."
    values["chair_id"] = int(first["chair_id"]) if first["chair_id"].isdigit() else None
    values["organisations"] = {int(v) for v in _values(data, "organisations") if v.isdigit()}
    return values, errors


@get("/beheer/reeksen/{series_id:int}", include_in_schema=False)
async def series_edit(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, series_id: FromPath[int]
) -> Template:
    _require(principal)
    series = (
        (
            await db.scalars(
                select(MeetingSeries).where(
                    MeetingSeries.id == series_id, series_in_scope(principal)
                )
            )
        )
        .unique()
        .one_or_none()
    )
    if series is None:
        raise NotFoundError()
    members = set(
        (
            await db.scalars(
                select(SeriesOrganisation.organisation_id).where(
                    SeriesOrganisation.series_id == series.id
                )
            )
        ).all()
    )
    return page(
        request,
        "admin/series_edit.html",
        principal=principal,
        active="beheer",
        title=series.name,
        series=series,
        members=members,
        errors={},
        saved=False,
        **await _form_context(db, principal),
    )


@get("/beheer/reeksen/nieuw", include_in_schema=False)
async def series_new(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    _require(principal)
    return page(
        request,
        "admin/series_edit.html",
        principal=principal,
        active="beheer",
        title="Nieuwe overlegreeks",
        series=None,
        members=set(),
        errors={},
        saved=False,
        **await _form_context(db, principal),
    )


async def _save(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    audit: Any,
    series: MeetingSeries | None,
    data: dict[str, Any],
) -> Template | Redirect:
    context = await _form_context(db, principal)
    values, errors = _parse(data, {r.id for r in context["regions"]})
    if errors:
        return page(
            request,
            "admin/series_edit.html",
            principal=principal,
            active="beheer",
            title="Overlegreeks",
            series=series,
            members=values["organisations"],
            errors=errors,
            saved=False,
            form=values,
            status_code=400,
            **context,
        )
    organisations = values.pop("organisations")
    if series is None:
        series = MeetingSeries(**values)
        db.add(series)
        await db.flush()
        action = "series.created"
    else:
        for key, value in values.items():
            setattr(series, key, value)
        action = "series.updated"
    current = {
        o.organisation_id: o
        for o in (
            await db.scalars(
                select(SeriesOrganisation).where(SeriesOrganisation.series_id == series.id)
            )
        )
        .unique()
        .all()
    }
    for org_id, row in current.items():
        if org_id not in organisations:
            await db.delete(row)
    for org_id in organisations - set(current):
        db.add(SeriesOrganisation(series_id=series.id, organisation_id=org_id))
    await db.flush()
    created = await ensure_meetings(db)
    audit_log.record(
        db, audit, action, object_type="meeting_series", object_id=series.id, fields=sorted(values)
    )
    members = set(
        (
            await db.scalars(
                select(SeriesOrganisation.organisation_id).where(
                    SeriesOrganisation.series_id == series.id
                )
            )
        ).all()
    )
    return page(
        request,
        "admin/series_edit.html",
        principal=principal,
        active="beheer",
        title=series.name,
        series=series,
        members=members,
        errors={},
        saved=True,
        created=created,
        **context,
    )


@post("/beheer/reeksen/nieuw", include_in_schema=False)
async def series_create(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    data: URLEncodedBody[dict[str, Any]],
) -> Template | Redirect:
    _require(principal)
    return await _save(request, db, principal, audit, None, data)


@post("/beheer/reeksen/{series_id:int}", include_in_schema=False)
async def series_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    series_id: FromPath[int],
    data: URLEncodedBody[dict[str, Any]],
) -> Template | Redirect:
    _require(principal)
    series = (
        (
            await db.scalars(
                select(MeetingSeries).where(
                    MeetingSeries.id == series_id, series_in_scope(principal)
                )
            )
        )
        .unique()
        .one_or_none()
    )
    if series is None:
        raise NotFoundError()
    return await _save(request, db, principal, audit, series, data)


ROUTES = [series_new, series_create, series_edit, series_update]
