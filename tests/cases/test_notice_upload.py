"""The coordinator's upload page: preview (a dry run), processing, results, rejected rows to fix."""

from __future__ import annotations

import csv
import io
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Notice, NoticeBatch, Person
from tests.conftest import COORDINATOR_FRL, GGZ_PARTNER, csrf_of, login
from tests.support.notice_helpers import csv_bytes, instroom, new_bsn


async def _upload(
    client: AsyncTestClient[Litestar], raw: bytes, name: str = "weeklijst.csv"
) -> object:
    return await client.post(
        "/meldingen",
        files={"bestand": (name, raw, "text/csv")},
        data={"_csrf_token": csrf_of(client)},
    )


async def test_preview_changes_nothing_then_processing_applies_and_reports(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    good = new_bsn()
    raw = csv_bytes(
        [
            instroom("UP-1", good, achternaam="Visée"),
            instroom("UP-2", "123456789"),
            instroom("UP-3", new_bsn(), gemeente_code="GM0599"),
        ],
        encoding="cp1252",
    )
    await login(client, COORDINATOR_FRL)
    preview = await _upload(client, raw)
    assert preview.status_code == 200  # type: ignore[attr-defined]
    text = preview.text  # type: ignore[attr-defined]
    assert "3 meldingen gelezen (windows-1252" in text
    assert "bsn</span>: bsn ‘123456789’ is geen geldig burgerservicenummer" in text
    assert "Geparkeerd" in text
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.bsn == good)) == 0
        )
        assert (
            await s.scalar(
                select(func.count()).select_from(Notice).where(Notice.melding_id.like("UP-%"))
            )
            == 0
        )
    batch_id = re.search(r'action="/meldingen/(\d+)/verwerken"', text)
    assert batch_id
    applied = await client.post(
        f"/meldingen/{batch_id.group(1)}/verwerken",
        data={"_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    result = await client.get(applied.headers["location"])
    assert "Resultaat: weeklijst.csv" in result.text
    assert re.search(r'kt-stat__n">1</span> verwerkt', result.text)
    assert re.search(r'kt-stat__n">1</span> afgewezen', result.text)
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.bsn == good)) == 1
        )
    # processing twice is impossible: the second click shows the result again
    again = await client.post(
        f"/meldingen/{batch_id.group(1)}/verwerken",
        data={"_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert again.headers["location"] == f"/meldingen/{batch_id.group(1)}"
    download = await client.get(f"/meldingen/{batch_id.group(1)}/afgewezen.csv")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["melding_id", "soort", "bsn"]
    assert rows[0][-1] == "fout"
    assert len(rows) == 2
    assert rows[1][0] == "UP-2"
    assert "elfproef" in rows[1][-1]
    # the fixed file goes through: the extra 'fout' column is ignored
    fixed = download.text.lstrip("\ufeff").replace("123456789", new_bsn())
    second = await _upload(client, fixed.encode("utf-8"), "weeklijst-afgewezen.csv")
    assert "worden afgewezen" in second.text  # type: ignore[attr-defined]
    assert re.search(r'kt-stat__n">0</span> worden afgewezen', second.text)  # type: ignore[attr-defined]


async def test_unreadable_upload_shows_why_and_cancel_forgets_the_file(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await login(client, COORDINATOR_FRL)
    bad = await _upload(client, b"naam;datum\r\nJan;1-1-2020\r\n")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "De kopregel mist de kolommen" in bad.text  # type: ignore[attr-defined]
    empty = await client.post("/meldingen", data={"_csrf_token": csrf_of(client)})
    assert empty.status_code == 400
    assert "Kies eerst een bestand" in empty.text
    preview = await _upload(client, csv_bytes([instroom("C-1", new_bsn())]))
    batch_id = re.search(r"/meldingen/(\d+)/annuleren", preview.text)  # type: ignore[attr-defined]
    assert batch_id
    await client.post(
        f"/meldingen/{batch_id.group(1)}/annuleren", data={"_csrf_token": csrf_of(client)}
    )
    async with sessions() as s:
        batch = await s.get(NoticeBatch, int(batch_id.group(1)))
    assert batch is not None
    assert batch.status == "cancelled"
    assert batch.raw == b""


async def test_upload_page_is_for_coordinators_only(client: AsyncTestClient[Litestar]) -> None:
    await login(client, GGZ_PARTNER)
    assert (await client.get("/meldingen")).status_code == 404
    assert (await _upload(client, b"x")).status_code == 404  # type: ignore[attr-defined]
