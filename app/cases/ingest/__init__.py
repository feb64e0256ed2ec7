"""Applying detention notices: persons, cases and detention periods (docs/interfaces.md, "Detention
notices"; the rules: app/cases/ingest/rules.py).

`ingest()` applies a delivery's records in order inside the caller's transaction, in three steps:
everything it needs is loaded up front in a handful of queries (`loading`), the records are applied
to plain in-memory state by the rules of their kind (`rules`, `state`), and the result is written
in bulk with reserved ids (`writing`) — no query per record, so a year of the whole country (30,000
records) goes through in seconds. A record that is valid is applied even when others are rejected;
an exception leaves the caller to roll back the whole delivery. Reading a file and checking a
record: `reading`, `checking`; the format itself: `format`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditContext
from app.cases.ingest import loading, writing
from app.cases.ingest.reading import RawRecord
from app.cases.ingest.rules import Rules
from app.cases.ingest.state import Delivery, IngestResult


async def ingest(
    session: AsyncSession,
    ctx: AuditContext,
    *,
    source_key: str,
    batch_id: int,
    records: list[RawRecord],
    today: dt.date,
) -> IngestResult:
    """Apply records in order inside the caller's transaction and report each outcome."""
    delivery = Delivery(ctx, source_key, batch_id, today)
    await loading.load(session, delivery, records)
    rules = Rules(delivery)
    results = [rules.apply(record) for record in records]
    await writing.write(session, delivery)
    return IngestResult(results)
