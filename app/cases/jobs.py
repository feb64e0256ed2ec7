"""Background work of the cases domain: forget uploads nobody processed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from app.cases.models import NoticeBatch
from app.db import transaction, utcnow


async def expire_previews_job(ctx: dict[str, Any]) -> int:
    """An upload that was previewed but never processed keeps its bytes for a day at most."""
    cutoff = (ctx.get("now") or utcnow()) - dt.timedelta(hours=24)
    async with transaction(ctx["session_factory"]) as session:
        result = await session.execute(
            update(NoticeBatch)
            .where(NoticeBatch.status == "preview", NoticeBatch.received_at < cutoff)
            .values(status="expired", raw=b"")
        )
    return int(getattr(result, "rowcount", 0) or 0)
