"""The back-up procedure of the README, tried: pg_dump of a working database, pg_restore into a new
one, and the app starts on the restored database with the same cases, plans and audit trail."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from pycrdt import Doc, Text
from sqlalchemy import func, select, text

from app.collab.store import PlanStore
from app.db import create_engine, session_factory
from app.main import create_app
from tests.conftest import (
    COORDINATOR_FRL,
    TEST_DATABASE_URL,
    PgDatabases,
    _pg_execute,
    login,
    pg_url_for,
    settings_for,
    worker_id,
)
from tests.support.faults import PG_BIN

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECTIONS = ["doel", "onderdak"]
TABLES = ("persons", "cases", "action_items", "plan_updates", "audit_events", "users")


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def snapshot(url: str, case_id: int) -> dict[str, object]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            counts = {t: await s.scalar(select(func.count()).select_from(text(t))) for t in TABLES}
            version = await s.scalar(text("SELECT version_num FROM alembic_version"))
        plan = await PlanStore(session_factory(engine)).texts(case_id, SECTIONS)
    finally:
        await engine.dispose()
    return {"counts": counts, "version": version, "plan": plan}


async def write_plan(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s:
            case_id = int(
                await s.scalar(
                    text(
                        "SELECT min(c.id) FROM cases c JOIN regions r ON r.id = c.region_id "
                        "WHERE r.code = 'FRL' AND c.status = 'open'"
                    )
                )
            )
        doc: Doc[Text] = Doc()
        doc["doel"] = goal = Text()
        goal += "Terug naar Leeuwarden, eigen woning binnen drie maanden."
        store = PlanStore(session_factory(engine))
        await store.append_many([(case_id, doc.get_update())])
        await store.close()
    finally:
        await engine.dispose()
    return case_id


def test_a_dump_restores_into_a_working_app(tmp_path: Path, pg_databases: PgDatabases) -> None:
    if not TEST_DATABASE_URL or PG_BIN is None:
        pytest.skip("PostgreSQL-suite overgeslagen: TEST_DATABASE_URL of pg_dump ontbreekt")
    source = pg_url_for(pg_databases.clone("demo"))
    case_id = asyncio.run(write_plan(source))
    before = asyncio.run(snapshot(source, case_id))
    dump = tmp_path / "ketentafel.dump"
    subprocess.run(
        [str(PG_BIN / "pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", libpq(source)],
        check=True,
    )
    target_name = f"kt_restore_{worker_id()}"
    asyncio.run(
        _pg_execute(
            f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)',
            f'CREATE DATABASE "{target_name}"',
        )
    )
    target = pg_url_for(target_name)
    try:
        subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", f"--dbname={libpq(target)}", str(dump)],
            check=True,
        )
        after = asyncio.run(snapshot(target, case_id))
        assert after == before
        assert "eigen woning" in str(after["plan"])

        async def use() -> tuple[int, str]:
            app = create_app(settings_for(target, tmp_path))
            async with AsyncTestClient(app, base_url="http://testserver.local") as client:
                health = (await client.get("/health")).json()["database"]
                await login(client, COORDINATOR_FRL)
                page = await client.get(f"/casussen/{case_id}/plan")
                return page.status_code, health + page.text

        status, body = asyncio.run(use())
        assert status == 200
        assert body.startswith("ok")
        assert "eigen woning binnen drie maanden" in body
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)'))
