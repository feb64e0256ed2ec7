"""Beheer: the meeting series — the list, and creating or changing one (the form and its rules:
app/admin/series.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from app import audit as audit_log
from app.admin import series as series_form
from app.admin import services
from app.admin.forms import FormData
from app.auth import NotFoundError
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import MeetingSeries, SeriesKind
from app.meetings.services import WEEKDAYS
from app.principal import Principal
from app.web import page


@get("/beheer/reeksen", include_in_schema=False)
async def series_list(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    member_counts, org_counts = await services.series_counts(db)
    return page(
        request,
        "admin/series.html",
        principal=principal,
        active="beheer",
        title="Overlegreeksen",
        series=await services.series(db, principal),
        member_counts=member_counts,
        org_counts=org_counts,
    )


async def _edit_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    series: MeetingSeries | None,
    *,
    title: str,
    members: set[int],
    choices: series_form.SeriesChoices | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    choices = choices or await series_form.choices(db, principal)
    return page(
        request,
        "admin/series_edit.html",
        principal=principal,
        active="beheer",
        title=title,
        series=series,
        members=members,
        status_code=status_code,
        regions=choices.regions,
        chairs=choices.chairs,
        organisations=choices.organisations,
        kinds=list(SeriesKind),
        weekdays=list(enumerate(WEEKDAYS)),
        **extra,
    )


async def _managed_series(db: DB, principal: Principal, series_id: int) -> MeetingSeries:
    series = await services.series_in_scope_by_id(db, principal, series_id)
    if series is None:
        raise NotFoundError()
    return series


@get("/beheer/reeksen/{series_id:int}", include_in_schema=False)
async def series_edit(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, series_id: FromPath[int]
) -> Template:
    series = await _managed_series(db, principal, series_id)
    return await _edit_page(
        request,
        db,
        principal,
        series,
        title=series.name,
        members=await series_form.partners(db, series.id),
        errors={},
        saved=False,
    )


@get("/beheer/reeksen/nieuw", include_in_schema=False)
async def series_new(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    return await _edit_page(
        request,
        db,
        principal,
        None,
        title="Nieuwe overlegreeks",
        members=set(),
        errors={},
        saved=False,
    )


async def _save(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    audit: Any,
    series: MeetingSeries | None,
    data: dict[str, Any],
) -> Template:
    choices = await series_form.choices(db, principal)
    values, errors = series_form.parse(data, choices)
    if errors:
        return await _edit_page(
            request,
            db,
            principal,
            series,
            title="Overlegreeks",
            members=values["organisations"],
            choices=choices,
            status_code=400,
            errors=errors,
            saved=False,
            form=values,
        )
    action = "series.created" if series is None else "series.updated"
    series, created = await series_form.save(db, series, values)
    values.pop("organisations")
    audit_log.record(
        db, audit, action, object_type="meeting_series", object_id=series.id, fields=sorted(values)
    )
    return await _edit_page(
        request,
        db,
        principal,
        series,
        title=series.name,
        members=await series_form.partners(db, series.id),
        choices=choices,
        errors={},
        saved=True,
        created=created,
    )


@post("/beheer/reeksen/nieuw", include_in_schema=False)
async def series_create(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    return await _save(request, db, principal, audit, None, data)


@post("/beheer/reeksen/{series_id:int}", include_in_schema=False)
async def series_update(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    series_id: FromPath[int],
    data: FormData,
) -> Template:
    series = await _managed_series(db, principal, series_id)
    return await _save(request, db, principal, audit, series, data)


ROUTES = [series_list, series_new, series_create, series_edit, series_update]
