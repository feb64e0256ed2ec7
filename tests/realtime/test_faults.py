"""Faults during a meeting, on private PostgreSQL and Redis servers this test may stop and kill:
the database restarts while two people type (nothing they typed is lost, the app recovers by
itself); Redis goes away (reported on /health, this process's participants keep working, it
recovers when Redis returns)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import migrate
from app.collab.store import PlanStore
from app.db import create_engine, session_factory
from tests.conftest import (
    COORDINATOR_FRL,
    RECLASSERING,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    _load,
    settings_for,
)
from tests.support.collab_helpers import (
    chair_step_heard,
    ensure_meetings_in,
    logged_in,
    result,
    ticket_url,
    token,
    yjs_client,
)
from tests.support.faults import PG_BIN, REDIS_SERVER, private_postgres, private_redis
from tests.support.live import LiveServer, running

pytestmark = pytest.mark.slow
SECTIONS = ["doel", "identiteitsbewijs", "onderdak", "werk_inkomen", "schulden", "zorg"]
SECTIONS.append("sociaal_netwerk")


def open_frl_case(server: LiveServer, index: int = 0) -> int:
    cases = httpx.get(
        f"{server.url}/api/v1/cases",
        headers=token(server.url, COORDINATOR_FRL),
        params={"status": "open"},
        timeout=10,
    ).json()
    return int(cases[index]["id"])


def wait_for_health(server: LiveServer, **expected: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"{server.url}/health", timeout=3).json()
        except httpx.HTTPError:
            body = {}
        if all(body.get(k) == v for k, v in expected.items()):
            return body
        time.sleep(0.3)
    raise AssertionError(f"/health never showed {expected}: {body}")


def typist(
    server: LiveServer, email: str, case_id: int, section: str, text: str, **more: Any
) -> Any:
    return yjs_client(
        url=ticket_url(server.url, email, case_id),
        renew={"api": server.url, "headers": token(server.url, email), "case": case_id},
        section=section,
        insert=text,
        timeout=60000,
        **more,
    )


@pytest.mark.postgres
def test_a_postgres_restart_during_typing_loses_no_edit_and_the_app_recovers(
    tmp_path: Path,
) -> None:
    if not TEST_DATABASE_URL or PG_BIN is None:
        pytest.skip("PostgreSQL-suite overgeslagen: TEST_DATABASE_URL of PostgreSQL ontbreekt")
    housing = "Woning via de corporatie aangevraagd. "
    debts = "Schuldhulp gestart bij de gemeente. "
    expect = {"onderdak": [housing], "schulden": [debts]}
    with private_postgres() as pg:
        migrate(settings_for(pg.url, tmp_path))
        asyncio.run(_load(pg.url, demo=True))
        env = {"RUN_JOBS_IN_PROCESS": "false"}
        with running(LiveServer(pg.url, tmp_path, extra_env=env)) as server:
            case_id = open_frl_case(server)
            a = typist(
                server,
                COORDINATOR_FRL,
                case_id,
                "onderdak",
                housing,
                typing=120,
                expectTexts=expect,
            )
            b = typist(
                server, RECLASSERING, case_id, "schulden", debts, typing=120, expectTexts=expect
            )
            time.sleep(1.5)  # both are typing
            pg.stop()
            assert httpx.get(f"{server.url}/health", timeout=5).status_code == 503
            time.sleep(2.0)  # they keep typing into a server without a database
            pg.start()
            (code_a, seen_a), (code_b, seen_b) = result(a, 90), result(b, 90)
            assert (code_a, code_b) == (0, 0), (seen_a, seen_b, server.logs()[-3000:])
            assert seen_a["texts"] == seen_b["texts"]
            assert seen_a["texts"]["onderdak"] == housing
            assert seen_a["texts"]["schulden"] == debts
            assert seen_a["closes"] or seen_b["closes"]  # the restart was felt, and survived
            wait_for_health(server, status="ok", database="ok")

            async def stored() -> dict[str, str]:
                engine = create_engine(pg.url)
                try:
                    return await PlanStore(session_factory(engine)).texts(case_id, SECTIONS)
                finally:
                    await engine.dispose()

            assert asyncio.run(stored()) == seen_a["texts"]  # all of it in the database


def chair_signal_arrives(server: LiveServer, meeting_id: int, action: str) -> bool:
    events = chair_step_heard(
        server.url, server.url, meeting_id, action, listener=RECLASSERING, chair=COORDINATOR_FRL
    )
    return any(e["event"] == "room" for e in events)


@pytest.mark.redis
def test_without_redis_one_process_keeps_its_meeting_going_and_recovers(
    tmp_path: Path, sqlite_templates: dict[str, Path]
) -> None:
    if not TEST_REDIS_URL or REDIS_SERVER is None:
        pytest.skip("Redis-suite overgeslagen: TEST_REDIS_URL of redis-server ontbreekt")
    from tests.support.collab_helpers import copy_db

    url = copy_db(sqlite_templates["demo"], tmp_path / "db")
    ensure_meetings_in(url)
    with private_redis(tmp_path) as redis:
        env = {"RUN_JOBS_IN_PROCESS": "false"}
        with running(LiveServer(url, tmp_path, redis_url=redis.url, extra_env=env)) as server:
            assert wait_for_health(server, redis="ok")["status"] == "ok"
            case_id = open_frl_case(server, 2)
            chair = token(server.url, COORDINATOR_FRL)
            meetings = httpx.get(f"{server.url}/api/v1/meetings", headers=chair, timeout=10)
            meeting_id = meetings.json()[0]["id"]
            assert chair_signal_arrives(server, meeting_id, "start")
            redis.kill()
            body = wait_for_health(server, redis="onbereikbaar")
            assert body["status"] == "ok"  # the app serves on: the database is what it needs
            first = "Zonder Redis verder. "
            second = "Toch samen bewerkt. "
            expect = {"doel": [first], "zorg": [second]}
            a = typist(server, COORDINATOR_FRL, case_id, "doel", first, expectTexts=expect)
            b = typist(server, RECLASSERING, case_id, "zorg", second, expectTexts=expect)
            (code_a, seen_a), (code_b, seen_b) = result(a, 60), result(b, 60)
            assert (code_a, code_b) == (0, 0), server.logs()[-3000:]
            assert seen_a["texts"] == seen_b["texts"]
            browser = logged_in(server.url, COORDINATOR_FRL)
            assert browser.get(f"/casussen/{case_id}").status_code == 200
            assert browser.get("/overleggen").status_code == 200
            browser.close()
            assert chair_signal_arrives(server, meeting_id, "volgende")  # the room follows on
            redis.start()  # same port: the app finds it again by itself
            assert wait_for_health(server, redis="ok")["status"] == "ok"
            time.sleep(1.5)  # the event reader renews its subscription
            assert chair_signal_arrives(server, meeting_id, "vorige")  # through Redis again
