"""A delivery of notices from receipt to result: keep the bytes, read them, apply them in one go.

1. The raw delivery is stored first, in a transaction of its own (nothing that arrives is lost).
2. It is read (CSV or JSON); an unreadable delivery is answered with 400 and applied not at all.
3. Its records are applied in one transaction (app/cases/ingest/), together with what other
   domains keep in step with the notices (`AfterApply`: the release appointments of coordination, which
   this domain may not import). A fault rolls the whole delivery back: nothing of it is applied,
   and the stored delivery is marked `failed` so a beheerder can process it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditContext
from app.cases.ingest import ingest
from app.cases.ingest.reading import ParsedFile, RawRecord, parse_csv, parse_json
from app.cases.ingest.state import IngestResult
from app.cases.models import Notice, NoticeBatch, NoticeStatus
from app.db import transaction, utcnow
from app.logs import get_logger
from app.principal import Principal

log = get_logger("app.cases.intake")
# A delivery this large changes the tables enough that PostgreSQL's planner needs fresh statistics
# before autovacuum gets to it (without them the first agenda build after a bulk import is slow).
ANALYZE_AFTER = 1000
# Called inside the delivery's transaction with the ids of the cases it changed.
AfterApply = Callable[[AsyncSession, list[int]], Awaitable[Any]]


@dataclass(frozen=True)
class Sender:
    """Who delivered: notices are idempotent per sender (`source_key`)."""

    source_key: str
    organisation_id: int | None
    user_id: int | None
    token_id: int | None


def sender_of(p: Principal) -> Sender:
    return Sender(
        source_key=f"org:{p.organisation_id}",
        organisation_id=p.organisation_id,
        user_id=p.user_id,
        token_id=p.token_id,
    )


def read(raw: bytes, kind: str) -> ParsedFile:
    """Parse a delivery; raises UnreadableFileError with a Dutch message."""
    return parse_json(raw) if kind == "json" else parse_csv(raw)


async def store_delivery(
    factory: async_sessionmaker[AsyncSession],
    sender: Sender,
    *,
    channel: str,
    filename: str,
    content_type: str,
    raw: bytes,
    status: str = "received",
) -> int:
    async with transaction(factory) as session:
        batch = NoticeBatch(
            source_key=sender.source_key,
            organisation_id=sender.organisation_id,
            user_id=sender.user_id,
            token_id=sender.token_id,
            channel=channel,
            filename=filename[:255],
            content_type=content_type[:100],
            raw=raw,
            status=status,
        )
        session.add(batch)
        await session.flush()
        return batch.id


async def mark_unreadable(
    factory: async_sessionmaker[AsyncSession], batch_id: int, message: str
) -> None:
    async with transaction(factory) as session:
        batch = await session.get(NoticeBatch, batch_id)
        if batch is not None:
            batch.status = "unreadable"
            batch.error = message[:300]
            batch.processed_at = utcnow()


async def apply_delivery(
    factory: async_sessionmaker[AsyncSession],
    ctx: AuditContext,
    batch_id: int,
    parsed: ParsedFile,
    today: dt.date,
    *,
    dry_run: bool = False,
    after: AfterApply | None = None,
) -> IngestResult:
    """Apply a stored delivery in one transaction (or try it and roll back, for a preview)."""
    try:
        async with factory() as session:
            async with session.begin() as tx:
                batch = await session.get(NoticeBatch, batch_id)
                if batch is None:
                    raise LookupError(f"notice batch {batch_id} is missing")
                result = await ingest(
                    session,
                    ctx,
                    source_key=batch.source_key,
                    batch_id=batch.id,
                    records=parsed.records,
                    today=today,
                )
                if dry_run:
                    await tx.rollback()
                    return result
                if after is not None:
                    await after(session, result.changed_case_ids())
                batch.status = "processed"
                batch.encoding = parsed.encoding
                batch.delimiter = parsed.delimiter
                batch.processed_at = utcnow()
                batch.accepted = result.count(NoticeStatus.ACCEPTED)
                batch.parked = result.count(NoticeStatus.PARKED)
                batch.duplicates = result.count(NoticeStatus.DUPLICATE)
                batch.rejected = result.count(NoticeStatus.REJECTED)
            if len(parsed.records) >= ANALYZE_AFTER:
                await refresh_statistics(factory)
            log.info(
                "notices.applied",
                batch_id=batch_id,
                records=len(parsed.records),
                accepted=batch.accepted,
                parked=batch.parked,
                duplicates=batch.duplicates,
                rejected=batch.rejected,
            )
            return result
    except Exception:
        if not dry_run:
            async with transaction(factory) as session:
                batch = await session.get(NoticeBatch, batch_id)
                if batch is not None:
                    batch.status = "failed"
                    batch.error = "Verwerking afgebroken door een fout aan onze kant; niets van deze levering is toegepast."
                    batch.processed_at = utcnow()
        raise


async def refresh_statistics(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE persons, cases, detention_periods, notices"))
            await session.commit()


async def reprocess_parked(
    factory: async_sessionmaker[AsyncSession],
    ctx: AuditContext,
    notice_id: int,
    today: dt.date,
    after: AfterApply | None = None,
) -> IngestResult | None:
    """Apply a parked notice again (e.g. after its gemeente was added to a region)."""
    import json

    async with factory() as session, session.begin():
        notice = await session.get(Notice, notice_id)
        if notice is None or notice.status != NoticeStatus.PARKED:
            return None
        record = RawRecord(row=notice.row_number, fields=json.loads(notice.raw))
        notice.status = NoticeStatus.SUPERSEDED
        await session.flush()
        result = await ingest(
            session,
            ctx,
            source_key=notice.source_key,
            batch_id=notice.batch_id,
            records=[record],
            today=today,
        )
        if after is not None:
            await after(session, result.changed_case_ids())
        return result


async def recent_batches(
    session: AsyncSession, organisation_id: int, limit: int = 20
) -> list[NoticeBatch]:
    return list(
        (
            await session.scalars(
                select(NoticeBatch)
                .where(
                    NoticeBatch.organisation_id == organisation_id, NoticeBatch.status != "preview"
                )
                .order_by(NoticeBatch.received_at.desc())
                .limit(limit)
            )
        ).all()
    )
