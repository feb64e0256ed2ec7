"""Helpers for notice tests: an API key of the DJI front office, records and CSV files."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.tokens import issue_api_key
from app.cases.ingest.format import COLUMNS
from app.demo.world import make_bsn
from app.reference.models import Organisation
from app.web import today_local

_rng = random.Random(424242)


FRONT_OFFICE = "DJI Frontoffice Noord"


async def api_key(
    sessions: async_sessionmaker[AsyncSession], organisation: str = FRONT_OFFICE
) -> dict[str, str]:
    async with sessions() as s, s.begin():
        org = (
            (await s.scalars(select(Organisation).where(Organisation.name == organisation)))
            .unique()
            .one()
        )
        value, _ = await issue_api_key(s, org, "test", created_by=None)
    return {"Authorization": f"Bearer {value}"}


def new_bsn() -> str:
    return make_bsn(_rng)


def instroom(melding_id: str, bsn: str, **extra: Any) -> dict[str, str]:
    today = today_local()
    record = {
        "melding_id": melding_id,
        "soort": "instroom",
        "bsn": bsn,
        "achternaam": "Jansma",
        "voornamen": "Pieter",
        "tussenvoegsel": "",
        "geboortedatum": "1988-04-12",
        "gemeente_code": "GM0080",
        "inrichting": "PI Leeuwarden",
        "datum_insluiting": (today - dt.timedelta(days=3)).isoformat(),
        "verwachte_einddatum": (today + dt.timedelta(days=120)).isoformat(),
        "titel": "gevangenisstraf",
        "casemanager_naam": "Hendrik Bosma",
        "casemanager_email": "casemanager@pi-leeuwarden.example",
        "casemanager_telefoon": "058 - 123 45 67",
    }
    record.update({k: str(v) for k, v in extra.items()})
    return record


async def new_cases(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    records: list[dict[str, str]],
) -> list[int]:
    """Cases made by the front office's notices, today: a test's own data, whatever the date."""
    response = await client.post("/api/v1/notices", json=records, headers=await api_key(sessions))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["parked"]) == (len(records), 0), body
    return [r["case_id"] for r in body["results"]]


async def ingest_cases(session: AsyncSession, records: list[dict[str, str]]) -> list[int]:
    """As `new_cases`, inside the caller's transaction (for set-ups without an HTTP client)."""
    from app.audit import AuditContext
    from app.cases.ingest import ingest
    from app.cases.ingest.reading import RawRecord
    from app.cases.models import NoticeBatch, NoticeStatus

    office = (
        (await session.scalars(select(Organisation).where(Organisation.name == FRONT_OFFICE)))
        .unique()
        .one()
    )
    batch = NoticeBatch(
        source_key=f"org:{office.id}", organisation_id=office.id, channel="api-json", raw=b"[]"
    )
    session.add(batch)
    await session.flush()
    result = await ingest(
        session,
        AuditContext(
            user_id=None, token_id=None, actor="test", ip="", request_id="", channel="job"
        ),
        source_key=batch.source_key,
        batch_id=batch.id,
        records=[RawRecord(row=n, fields=r) for n, r in enumerate(records, 1)],
        today=today_local(),
    )
    assert result.count(NoticeStatus.ACCEPTED) == len(records), result.as_dict()
    return [r.case.id for r in result.results if r.case is not None]


def csv_bytes(
    records: list[dict[str, str]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
    bom: bool = False,
    columns: list[str] | None = None,
) -> bytes:
    cols = columns or COLUMNS
    lines = [delimiter.join(cols)] + [delimiter.join(r.get(c, "") for c in cols) for r in records]
    text = "\r\n".join(lines) + "\r\n"
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data
