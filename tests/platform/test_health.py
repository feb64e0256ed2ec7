"""GET /health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.jobs import run_recorded
from app.main import create_app
from tests.conftest import TEST_REDIS_URL, settings_for


async def test_health_reports_ok_with_its_parts(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["database_engine"] == (
        "sqlite" if database_url.startswith("sqlite") else "postgresql"
    )
    assert "redis" in body
    assert "jobs" in body


async def test_health_says_when_jobs_last_ran_and_which_failed(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (await client.get("/health")).json()["last_job_at"] is None  # nothing ran yet

    async def broken(ctx: dict[str, Any]) -> None:
        raise RuntimeError("stuk")

    async def fine(ctx: dict[str, Any]) -> None:
        return None

    await run_recorded("build_agendas", fine, {"session_factory": sessions})
    await run_recorded("send_reminders", broken, {"session_factory": sessions})
    body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["last_job_at"] is not None
    assert body["failed_jobs"] == ["send_reminders"]


async def test_security_headers_are_set(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/inloggen")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert len(response.headers["x-request-id"]) == 16


@pytest.mark.redis
async def test_health_reports_redis_when_configured(database_url: str, tmp_path: Path) -> None:
    if not TEST_REDIS_URL:
        pytest.skip("Redis-suite overgeslagen: TEST_REDIS_URL is niet gezet")
    app = create_app(settings_for(database_url, tmp_path, redis_url=TEST_REDIS_URL))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        body = (await client.get("/health")).json()
    assert body["redis"] == "ok"
    unreachable = create_app(
        settings_for(database_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    )
    async with AsyncTestClient(unreachable, base_url="http://testserver.local") as client:
        response = await client.get("/health")
    assert response.status_code == 200  # the app still serves this process's users
    assert response.json()["redis"] == "onbereikbaar"
