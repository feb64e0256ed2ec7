"""Beheer: the notice inbox — parked notices and failed deliveries, and processing them again."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from app import audit as audit_log
from app.admin import services
from app.auth import NotFoundError
from app.cases.ingest.reading import UnreadableFileError
from app.cases.intake import apply_delivery, read, reprocess_parked
from app.cases.models import Notice, NoticeBatch, NoticeStatus
from app.deps import DB, Audit, CurrentUser
from app.reference.models import Organisation
from app.web import page, today_local


@get("/beheer/meldingen", include_in_schema=False)
async def inbox(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    status: FromQuery[str] = "parked",
) -> Template:
    shown = status if status in ("parked", "rejected") else "parked"
    stmt = select(Notice).where(Notice.status == shown, services.notices_in_scope(principal))
    notices = (await db.scalars(stmt.order_by(Notice.received_at.desc()).limit(200))).all()
    failed = (
        await db.scalars(
            select(NoticeBatch)
            .where(NoticeBatch.status.in_(["failed", "unreadable"]))
            .order_by(NoticeBatch.received_at.desc())
            .limit(50)
        )
    ).all()
    counts = dict(
        (await db.execute(select(Notice.status, func.count()).group_by(Notice.status))).all()
    )
    senders = dict((await db.execute(select(Organisation.id, Organisation.name))).all())
    fields = {n.id: json.loads(n.raw) for n in notices}
    if notices:
        audit_log.record(
            db,
            audit,
            "notices.viewed",
            object_type="notice_inbox",
            fields=["bsn", "achternaam", "gemeente_code"],
        )
    return page(
        request,
        "admin/notices.html",
        principal=principal,
        active="beheer",
        title="Meldingen in de wachtrij",
        notices=notices,
        failed=failed,
        counts=counts,
        shown=shown,
        fields=fields,
        senders=senders,
    )


@post("/beheer/meldingen/{notice_id:int}/opnieuw", include_in_schema=False)
async def reprocess_notice(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    notice_id: FromPath[int],
) -> Redirect:
    # A notice of another region is not there for this beheerder, as in the inbox.
    if (
        await db.scalar(
            select(Notice.id).where(Notice.id == notice_id, services.notices_in_scope(principal))
        )
        is None
    ):
        raise NotFoundError()
    await db.commit()
    result = await reprocess_parked(
        request.app.state.session_factory,
        audit,
        notice_id,
        today_local(),
        after=request.app.state.after_notices,
    )
    if result is None:
        raise NotFoundError()
    outcome = result.results[0]
    flag = (
        "verwerkt"
        if outcome.status == NoticeStatus.ACCEPTED
        else ("geparkeerd" if outcome.status == NoticeStatus.PARKED else "afgewezen")
    )
    return Redirect(f"/beheer/meldingen?uitkomst={flag}", status_code=303)


@post("/beheer/leveringen/{batch_id:int}/opnieuw", include_in_schema=False)
async def reprocess_batch(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    batch_id: FromPath[int],
) -> Redirect:
    batch = await db.get(NoticeBatch, batch_id)
    if batch is None or batch.status not in ("failed", "unreadable"):
        raise NotFoundError()
    raw, kind = (
        batch.raw,
        (
            "json"
            if batch.channel == "api-json" or batch.filename.lower().endswith(".json")
            else "csv"
        ),
    )
    await db.commit()
    try:
        parsed = read(raw, kind)
    except UnreadableFileError:
        return Redirect("/beheer/meldingen?uitkomst=onleesbaar", status_code=303)
    await apply_delivery(
        request.app.state.session_factory,
        audit,
        batch_id,
        parsed,
        today_local(),
        after=request.app.state.after_notices,
    )
    return Redirect("/beheer/meldingen?uitkomst=levering-verwerkt", status_code=303)


ROUTES = [inbox, reprocess_notice, reprocess_batch]
