"""Limits at the edge: upload size and rate, and the headers and cookies behind TLS."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import NoticeBatch
from app.main import create_app
from tests.conftest import COORDINATOR_FRL, csrf_of, login, settings_for
from tests.support.notice_helpers import api_key, csv_bytes, instroom, new_bsn


async def batches(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(NoticeBatch)) or 0)


async def test_deliveries_above_the_rate_get_429_and_store_nothing(
    database_url: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key = await api_key(sessions)
    app = create_app(settings_for(database_url, tmp_path, upload_rate_per_minute=3))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        answers = []
        for n in range(4):
            response = await client.post(
                "/api/v1/notices",
                content=csv_bytes([instroom(f"R-{n}", new_bsn())]),
                headers={**key, "Content-Type": "text/csv"},
            )
            answers.append(response.status_code)
        before = await batches(sessions)
        assert answers == [200, 200, 200, 429]
        assert response.json()["detail"].startswith("U heeft te veel verzoeken gedaan")
        assert int(response.headers["ratelimit-reset"]) > 0  # when to try again
        # another sender is not held up by the first one's limit
        await login(client, COORDINATOR_FRL)
        page = await client.post(
            "/meldingen",
            files={"bestand": ("l.csv", csv_bytes([instroom("P-1", new_bsn())]), "text/csv")},
            data={"_csrf_token": csrf_of(client)},
        )
        assert page.status_code == 200
        for _ in range(3):
            page = await client.post(
                "/meldingen",
                files={"bestand": ("l.csv", csv_bytes([instroom("P-2", new_bsn())]), "text/csv")},
                data={"_csrf_token": csrf_of(client)},
            )
        assert page.status_code == 429
        assert "Te veel verzoeken" in page.text
        assert await batches(sessions) == before + 3  # the refused upload stored nothing
        # reading is not limited
        assert (await client.get("/casussen")).status_code == 200


async def test_an_oversized_upload_on_the_page_is_refused_in_dutch(
    database_url: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(settings_for(database_url, tmp_path, max_upload_bytes=2000))
    before = await batches(sessions)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        await login(client, COORDINATOR_FRL)
        big = csv_bytes([instroom(f"G-{i}", new_bsn()) for i in range(40)])
        response = await client.post(
            "/meldingen",
            files={"bestand": ("groot.csv", big, "text/csv")},
            data={"_csrf_token": csrf_of(client)},
        )
    assert response.status_code in (400, 413)
    assert "groter dan" in response.text
    assert await batches(sessions) == before


async def test_behind_tls_cookies_are_secure_and_hsts_is_sent(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(settings_for(database_url, tmp_path, base_url="https://ketentafel.example"))
    async with AsyncTestClient(app, base_url="https://ketentafel.example") as client:
        page = await client.get("/inloggen")
        assert page.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "secure" in page.headers["set-cookie"].lower()
        await login(client, COORDINATOR_FRL)
        cookies = [c for c in client.cookies.jar if c.name == "kt_sessie"]
        assert cookies
        assert all(c.secure for c in cookies)
    plain = create_app(settings_for(database_url, tmp_path / "plain"))
    async with AsyncTestClient(plain, base_url="http://testserver.local") as client:
        page = await client.get("/inloggen")
        assert "strict-transport-security" not in page.headers  # never over plain HTTP
