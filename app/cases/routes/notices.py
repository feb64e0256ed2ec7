"""Detention notices: the API (`POST /api/v1/notices`), the coordinator's upload page and its results."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import func, select

from app import audit as audit_log
from app.access import may_submit_notices, visible_cases
from app.accounts.models import Role
from app.auth import NotFoundError
from app.cases.ingest.reading import RawRecord, UnreadableFileError, rejected_rows_csv
from app.cases.intake import (
    apply_delivery,
    mark_unreadable,
    read,
    recent_batches,
    sender_of,
    store_delivery,
)
from app.cases.models import Case, Notice, NoticeBatch, NoticeKind, NoticeStatus
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.reference.models import OrganisationKind
from app.settings import Settings
from app.web import page, today_local

CSV_TYPES = {
    "text/csv",
    "application/csv",
    "text/plain",
    "application/vnd.ms-excel",
    "text/comma-separated-values",
}
SHOWN_OK_ROWS = 50


class NotAllowedToSubmitError(HTTPException):
    status_code = 403
    detail = "U mag geen detentiemeldingen aanleveren. Dat kunnen coördinatoren en API-sleutels van DJI of een Zorg- en Veiligheidshuis."


def _may_submit(p: Principal) -> bool:
    if p.is_api_key:
        return p.organisation_kind in (OrganisationKind.PI, OrganisationKind.ZVH)
    return may_submit_notices(p)


def _kind_of(content_type: str) -> str | None:
    base = content_type.split(";", 1)[0].strip().lower()
    if base in ("application/json", "text/json"):
        return "json"
    if base in CSV_TYPES:
        return "csv"
    return None


@post("/api/v1/notices", tags=["meldingen"], security=[{"bearer": []}], status_code=200)
async def api_notices(
    request: Request[Any, Any, Any], principal: CurrentUser, audit: Audit
) -> Response[Any]:
    """Detention notices as a JSON array or as `text/csv` (docs/interfaces.md, "Detention notices"); one result per record."""
    if not _may_submit(principal):
        raise NotAllowedToSubmitError()
    settings: Settings = request.app.state.settings
    kind = _kind_of(request.headers.get("content-type", ""))
    if kind is None:
        return Response(
            {
                "detail": "Stuur de meldingen als application/json (een lijst) of als text/csv.",
                "errors": [],
            },
            status_code=415,
        )
    raw = await request.body()
    if len(raw) > settings.max_upload_bytes:
        return Response(
            {
                "detail": f"De levering is groter dan {settings.max_upload_bytes // 1024 // 1024} MB; splits haar op.",
                "errors": [],
            },
            status_code=413,
        )
    factory = request.app.state.session_factory
    sender = sender_of(principal)
    batch_id = await store_delivery(
        factory,
        sender,
        channel=f"api-{kind}",
        filename="",
        content_type=request.headers.get("content-type", ""),
        raw=raw,
    )
    try:
        parsed = read(raw, kind)
    except UnreadableFileError as exc:
        await mark_unreadable(factory, batch_id, exc.message)
        return Response({"detail": exc.message, "errors": exc.errors}, status_code=400)
    result = await apply_delivery(
        factory, audit, batch_id, parsed, today_local(), after=request.app.state.after_notices
    )
    return Response(result.as_dict(), status_code=200)


# ---------------------------------------------------------------- upload page


def _require_coordinator(p: Principal) -> None:
    if not p.has(Role.COORDINATOR):
        raise NotFoundError()


def _upload_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    batches: list[NoticeBatch],
    error: str | None = None,
    status_code: int = 200,
    error_list: list[dict[str, str]] | None = None,
) -> Template:
    return page(
        request,
        "notices/upload.html",
        principal=principal,
        active="meldingen",
        title="Meldingen inlezen",
        batches=batches,
        error=error,
        error_list=error_list or [],
        status_code=status_code,
    )


@get("/meldingen", include_in_schema=False)
async def upload_page(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    _require_coordinator(principal)
    return _upload_page(request, principal, await recent_batches(db, principal.organisation_id))


def _summary(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"accepted": 0, "parked": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        if r.get("parked"):
            counts["parked"] += 1
        else:
            counts[r["status"]] += 1
    return counts


@post("/meldingen", include_in_schema=False)
async def upload_preview(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit
) -> Template:
    """Store the file and show what processing it would do (a dry run that changes nothing)."""
    _require_coordinator(principal)
    settings: Settings = request.app.state.settings
    form = await request.form()
    upload = form.get("bestand")
    batches = await recent_batches(db, principal.organisation_id)
    # The delivery is stored and tried in sessions of its own; release this one first (SQLite
    # takes its write lock at BEGIN).
    await db.commit()
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, principal, batches, "Kies eerst een bestand (CSV).", 400)
    raw = await upload.read()
    if len(raw) > settings.max_upload_bytes:
        return _upload_page(
            request,
            principal,
            batches,
            f"Het bestand is groter dan {settings.max_upload_bytes // 1024 // 1024} MB.",
            413,
        )
    factory = request.app.state.session_factory
    kind = "json" if upload.filename.lower().endswith(".json") else "csv"
    batch_id = await store_delivery(
        factory,
        sender_of(principal),
        channel="upload",
        filename=upload.filename,
        content_type=upload.content_type or "",
        raw=raw,
        status="preview",
    )
    try:
        parsed = read(raw, kind)
    except UnreadableFileError as exc:
        await mark_unreadable(factory, batch_id, exc.message)
        return _upload_page(request, principal, batches, exc.message, 400, exc.errors)
    result = await apply_delivery(factory, audit, batch_id, parsed, today_local(), dry_run=True)
    rows = result.as_dict()["results"]
    kinds: dict[str, int] = {}
    for record in parsed.records:
        soort = record.fields.get("soort", "").strip().lower() or "?"
        kinds[soort] = kinds.get(soort, 0) + 1
    return page(
        request,
        "notices/preview.html",
        principal=principal,
        active="meldingen",
        title="Voorbeeld van de meldingen",
        batch_id=batch_id,
        filename=upload.filename,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter,
        total=len(parsed.records),
        counts=_summary(rows),
        kinds=kinds,
        problem_rows=[
            r for r in rows if r["status"] != "accepted" or r.get("attention") or r.get("parked")
        ],
        kind_labels={k.value: k.label for k in NoticeKind},
    )


async def _own_batch(db: DB, principal: Principal, batch_id: int) -> NoticeBatch:
    batch = await db.get(NoticeBatch, batch_id)
    if (
        batch is None
        or batch.organisation_id != principal.organisation_id
        or batch.channel != "upload"
    ):
        raise NotFoundError()
    return batch


@post("/meldingen/{batch_id:int}/verwerken", include_in_schema=False)
async def upload_apply(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    batch_id: FromPath[int],
) -> Redirect:
    _require_coordinator(principal)
    batch = await _own_batch(db, principal, batch_id)
    if batch.status != "preview":
        return Redirect(f"/meldingen/{batch_id}", status_code=303)
    raw = batch.raw
    kind = "json" if batch.filename.lower().endswith(".json") else "csv"
    await db.commit()  # release the read before the delivery's own transaction
    parsed = read(raw, kind)
    await apply_delivery(
        request.app.state.session_factory,
        audit,
        batch_id,
        parsed,
        today_local(),
        after=request.app.state.after_notices,
    )
    return Redirect(f"/meldingen/{batch_id}", status_code=303)


@post("/meldingen/{batch_id:int}/annuleren", include_in_schema=False)
async def upload_cancel(db: DB, principal: CurrentUser, batch_id: FromPath[int]) -> Redirect:
    _require_coordinator(principal)
    batch = await _own_batch(db, principal, batch_id)
    if batch.status == "preview":
        batch.status = "cancelled"
        batch.raw = b""  # an upload nobody processed keeps no personal data
    return Redirect("/meldingen", status_code=303)


@get("/meldingen/{batch_id:int}", include_in_schema=False)
async def upload_result(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    batch_id: FromPath[int],
) -> Template:
    _require_coordinator(principal)
    batch = await _own_batch(db, principal, batch_id)
    notices = (
        await db.scalars(
            select(Notice).where(Notice.batch_id == batch.id).order_by(Notice.row_number, Notice.id)
        )
    ).all()
    visible = (
        set(
            (
                await db.scalars(
                    select(Case.id).where(
                        Case.id.in_([n.case_id for n in notices if n.case_id]),
                        visible_cases(principal),
                    )
                )
            ).all()
        )
        if notices
        else set()
    )
    references = (
        dict((await db.execute(select(Case.id, Case.reference).where(Case.id.in_(visible)))).all())
        if visible
        else {}
    )
    counts = dict(
        (
            await db.execute(
                select(Notice.status, func.count())
                .where(Notice.batch_id == batch.id)
                .group_by(Notice.status)
            )
        ).all()
    )
    problems = [n for n in notices if n.status != NoticeStatus.ACCEPTED or n.attention]
    accepted_quiet = [n for n in notices if n.status == NoticeStatus.ACCEPTED and not n.attention]
    audit_log.record(db, audit, "notices.viewed", object_type="notice_batch", object_id=batch.id)
    return page(
        request,
        "notices/result.html",
        principal=principal,
        active="meldingen",
        title="Resultaat van de meldingen",
        batch=batch,
        counts=counts,
        problems=problems,
        accepted=accepted_quiet[:SHOWN_OK_ROWS],
        accepted_total=len(accepted_quiet),
        references=references,
        statuses=NoticeStatus,
    )


@get("/meldingen/{batch_id:int}/afgewezen.csv", include_in_schema=False)
async def rejected_download(
    db: DB, principal: CurrentUser, audit: Audit, batch_id: FromPath[int]
) -> Response[str]:
    _require_coordinator(principal)
    batch = await _own_batch(db, principal, batch_id)
    notices = (
        await db.scalars(
            select(Notice)
            .where(Notice.batch_id == batch.id, Notice.status == NoticeStatus.REJECTED)
            .order_by(Notice.row_number)
        )
    ).all()
    header: list[str] = []
    delimiter = batch.delimiter or ";"
    try:
        parsed = (
            read(batch.raw, "csv")
            if batch.raw and not batch.filename.lower().endswith(".json")
            else None
        )
        if parsed:
            header, delimiter = parsed.header, parsed.delimiter
    except UnreadableFileError:
        parsed = None
    records = [(RawRecord(row=n.row_number, fields=json.loads(n.raw)), n.errors) for n in notices]
    audit_log.record(
        db,
        audit,
        "notices.exported",
        object_type="notice_batch",
        object_id=batch.id,
        fields=["rejected_rows"],
    )
    stem = (batch.filename.rsplit(".", 1)[0] or "meldingen")[:60]
    return Response(
        rejected_rows_csv(header, records, delimiter),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}-afgewezen.csv"'},
    )


ROUTES = [
    api_notices,
    upload_page,
    upload_preview,
    upload_apply,
    upload_cancel,
    upload_result,
    rejected_download,
]
