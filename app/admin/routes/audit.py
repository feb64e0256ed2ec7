"""Beheer: the audit trail — searching it and exporting it as CSV (both leave a trace themselves)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery
from litestar.response import Template

from app import audit as audit_log
from app.admin import audit_trail, services
from app.deps import DB, Audit, CurrentUser
from app.web import page


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(
    person: str, gebruiker: str, van: str, tot: str, handeling: str, pagina: str
) -> audit_trail.AuditFilters:
    return audit_trail.AuditFilters(
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
    f = _filters(persoon, gebruiker, van, tot, handeling, pagina)
    size = audit_trail.AUDIT_PAGE_SIZE
    stmt = await audit_trail.audit_query(db, principal, f)
    events = (await db.scalars(stmt.limit(size + 1).offset((f.page - 1) * size))).all()
    if f.person:
        audit_log.record(db, audit, "audit.searched", object_type="audit", fields=["person"])
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
        events=events[:size],
        has_more=len(events) > size,
        filters=f,
        users=await services.users(db, principal),
        actions=await audit_trail.recorded_actions(db),
        labels=audit_trail.ACTION_LABELS,
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
    f = _filters(persoon, gebruiker, van, tot, handeling, "1")
    stmt = await audit_trail.audit_query(db, principal, f)
    events = list((await db.scalars(stmt.limit(100_000))).all())
    audit_log.record(
        db, audit, "audit.exported", object_type="audit", fields=["person"] if f.person else []
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M")
    return Response(
        audit_trail.audit_csv(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audittrail-{stamp}.csv"'},
    )


ROUTES = [audit_page, audit_export]
