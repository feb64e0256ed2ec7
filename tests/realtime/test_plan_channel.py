"""The plan's realtime channel with real Yjs clients (yjs + y-websocket from Node), docs/interfaces.md, "The plan
channel"."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import func, select

from app.collab.models import PlanUpdate
from app.collab.store import PlanStore
from app.db import create_engine, session_factory
from tests.conftest import (
    COORDINATOR_FRL,
    COORDINATOR_GRN,
    GGZ_PARTNER,
    RECLASSERING,
    PgDatabases,
    pg_url_for,
)
from tests.support.collab_helpers import (
    copy_db,
    logged_in,
    result,
    run_client,
    ticket,
    ticket_url,
    token,
    yjs_client,
)
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow
PLAN_SECTIONS = [  # the demo regions' leefgebieden
    "doel",
    "identiteitsbewijs",
    "onderdak",
    "werk_inkomen",
    "schulden",
    "zorg",
    "sociaal_netwerk",
]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp(f"collab-{request.param}")
    if request.param == "sqlite":
        url = copy_db(request.getfixturevalue("sqlite_templates")["demo"], folder)
    else:
        databases: PgDatabases = request.getfixturevalue("pg_databases")
        url = pg_url_for(databases.clone("demo"))
    live = LiveServer(url, folder, extra_env={"RUN_JOBS_IN_PROCESS": "false"}).start()
    live.database_url = url  # type: ignore[attr-defined]
    yield live
    live.stop()


def frl_case(server: LiveServer) -> int:
    headers = token(server.url, COORDINATOR_FRL)
    cases = httpx.get(
        f"{server.url}/api/v1/cases", headers=headers, params={"status": "open"}, timeout=10
    ).json()
    return int(cases[0]["id"])


def pick_case(server: LiveServer, index: int) -> int:
    headers = token(server.url, COORDINATOR_FRL)
    cases = httpx.get(
        f"{server.url}/api/v1/cases", headers=headers, params={"status": "open"}, timeout=10
    ).json()
    return int(cases[index]["id"])


def test_ticket_url_has_the_documented_shape_and_is_single_use(server: LiveServer) -> None:
    case_id = pick_case(server, 1)
    url = ticket_url(server.url, COORDINATOR_FRL, case_id)
    assert url.startswith(f"ws://127.0.0.1:{server.port}/collab/plans/{case_id}?ticket=")
    code, first = run_client(url=url, timeout=8000)
    assert code == 0
    assert "closed" not in first
    code, again = run_client(url=url, timeout=8000)
    assert code == 3
    assert again["closed"] == 4401


def test_no_ticket_and_no_session_gets_nothing(server: LiveServer) -> None:
    case_id = pick_case(server, 1)
    url = f"ws://127.0.0.1:{server.port}/collab/plans/{case_id}"
    code, outcome = run_client(url=url, timeout=8000)
    assert code == 3
    assert outcome["closed"] == 4401
    assert all(text == "" for text in outcome["texts"].values())


def session_cookie(base_url: str, email: str) -> str:
    browser = logged_in(base_url, email)
    browser.close()
    return f"kt_sessie={browser.cookies['kt_sessie']}"


async def socket_outcome(url: str, headers: dict[str, str]) -> int | str:
    """The close code the server answers with, or "open" when it starts the Yjs sync."""
    async with websockets.connect(url, additional_headers=headers) as socket:
        try:
            message = await asyncio.wait_for(socket.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        return "open" if isinstance(message, bytes) and message[:1] == b"\x00" else repr(message)


def test_the_socket_with_a_session_answers_per_region_and_origin(server: LiveServer) -> None:
    case_id = pick_case(server, 1)
    url = f"ws://127.0.0.1:{server.port}/collab/plans/{case_id}"
    origin = {"Origin": server.url}
    right = {"Cookie": session_cookie(server.url, COORDINATOR_FRL), **origin}
    other = {"Cookie": session_cookie(server.url, COORDINATOR_GRN), **origin}
    hijack = {"Cookie": right["Cookie"], "Origin": "https://kwaadwillend.example"}
    outcomes = {
        name: asyncio.run(socket_outcome(url, headers))
        for name, headers in {
            "anonymous": origin,
            "other region": other,
            "right region": right,
            "other site": hijack,
        }.items()
    }
    assert outcomes == {
        "anonymous": 4401,
        "other region": 4403,
        "right region": "open",
        "other site": 4401,
    }


def test_a_user_of_another_region_gets_no_ticket(server: LiveServer) -> None:
    case_id = pick_case(server, 1)
    response = ticket(server.url, token(server.url, COORDINATOR_GRN), case_id)
    assert response.status_code == 404
    assert response.json() == {"detail": "Niet gevonden.", "errors": []}
    assert ticket(server.url, {}, case_id).status_code == 401


def test_two_clients_typing_at_once_converge_and_a_late_joiner_gets_everything(
    server: LiveServer,
) -> None:
    case_id = pick_case(server, 2)
    first = yjs_client(
        url=ticket_url(server.url, COORDINATOR_FRL, case_id),
        section="onderdak",
        insert="Nachtopvang regelen. ",
        typing=15,
        expect=["Nachtopvang regelen.", "Woningcorporatie bellen."],
        timeout=20000,
    )
    second = yjs_client(
        url=ticket_url(server.url, RECLASSERING, case_id),
        section="onderdak",
        insert="Woningcorporatie bellen.",
        typing=15,
        atStart=True,
        expect=["Nachtopvang regelen.", "Woningcorporatie bellen."],
        timeout=20000,
    )
    code_a, a = result(first)
    code_b, b = result(second)
    assert code_a == 0
    assert code_b == 0
    assert a["texts"]["onderdak"] == b["texts"]["onderdak"]
    late_code, late = run_client(
        url=ticket_url(server.url, GGZ_PARTNER, case_id),
        expect=["Woningcorporatie bellen."],
        section="onderdak",
        timeout=8000,
    )
    assert late_code == 0
    assert late["texts"]["onderdak"] == a["texts"]["onderdak"]


def test_every_update_is_in_the_database_and_the_text_survives_a_restart(
    server: LiveServer, tmp_path: Path
) -> None:
    case_id = pick_case(server, 3)
    code, _ = run_client(
        url=ticket_url(server.url, COORDINATOR_FRL, case_id),
        section="doel",
        insert="Terug naar Leeuwarden.",
        expect=["Terug naar Leeuwarden."],
    )
    assert code == 0

    async def count() -> int:
        engine = create_engine(server.database_url)  # type: ignore[attr-defined]
        async with session_factory(engine)() as s:
            n = await s.scalar(
                select(func.count()).select_from(PlanUpdate).where(PlanUpdate.case_id == case_id)
            )
        await engine.dispose()
        return int(n or 0)

    assert asyncio.run(count()) >= 1  # appended before anyone else could see it
    server.kill()  # no graceful unload: the log alone must carry the text
    server.process = None
    server.start()
    code, after = run_client(
        url=ticket_url(server.url, GGZ_PARTNER, case_id),
        expect=["Terug naar Leeuwarden."],
        timeout=10000,
    )
    assert code == 0
    assert after["texts"]["doel"] == "Terug naar Leeuwarden."


def stored_texts(server: LiveServer, case_id: int) -> dict[str, str]:
    """The plan as the database has it (what a restart would load)."""

    async def read() -> dict[str, str]:
        engine = create_engine(server.database_url)  # type: ignore[attr-defined]
        try:
            return await PlanStore(session_factory(engine)).texts(case_id, PLAN_SECTIONS)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_every_keystroke_is_in_the_database_not_only_on_the_other_screens(
    server: LiveServer,
) -> None:
    """Each character typed is its own update; the database alone (a restart's load, and a
    compaction of it) must give back exactly what both clients show."""
    case_id = pick_case(server, 5)
    words = "Huurachterstand bij de corporatie; betalingsregeling treffen voor ontslag."
    watcher = yjs_client(
        url=ticket_url(server.url, GGZ_PARTNER, case_id),
        section="werk_inkomen",
        expect=[words],
        timeout=30000,
    )
    code, typed = run_client(
        url=ticket_url(server.url, COORDINATOR_FRL, case_id),
        section="werk_inkomen",
        insert=words,
        typing=10,
        expect=[words],
        timeout=30000,
    )
    code_watcher, watched = result(watcher, timeout=50)
    assert (code, code_watcher) == (0, 0)
    assert typed["texts"]["werk_inkomen"] == watched["texts"]["werk_inkomen"] == words
    assert stored_texts(server, case_id) == typed["texts"]

    async def compacted() -> dict[str, str]:
        engine = create_engine(server.database_url)  # type: ignore[attr-defined]
        store = PlanStore(session_factory(engine))
        try:
            await store.compact(case_id, PLAN_SECTIONS)
            return await store.texts(case_id, PLAN_SECTIONS)
        finally:
            await store.close()
            await engine.dispose()

    assert asyncio.run(compacted()) == typed["texts"]


def test_edits_made_offline_merge_when_the_client_comes_back(server: LiveServer) -> None:
    case_id = pick_case(server, 3)
    renew = {"api": server.url, "headers": token(server.url, COORDINATOR_FRL), "case": case_id}
    away = yjs_client(
        url=ticket_url(server.url, COORDINATOR_FRL, case_id),
        section="schulden",
        offline={"insert": "Offline genoteerd. ", "ms": 2500},
        renew=renew,
        expect=["Offline genoteerd.", "Intussen online."],
        timeout=20000,
    )
    time.sleep(1.0)  # the first client is offline now
    code, online = run_client(
        url=ticket_url(server.url, RECLASSERING, case_id),
        section="schulden",
        insert="Intussen online.",
        expect=["Offline genoteerd.", "Intussen online."],
        timeout=20000,
    )
    code_away, back = result(away)
    assert (code, code_away) == (0, 0)
    assert back["texts"]["schulden"] == online["texts"]["schulden"]
    assert stored_texts(server, case_id)["schulden"] == back["texts"]["schulden"]


def test_a_malformed_or_oversized_frame_closes_only_that_connection(server: LiveServer) -> None:
    case_id = pick_case(server, 4)
    watcher = yjs_client(
        url=ticket_url(server.url, GGZ_PARTNER, case_id),
        section="zorg",
        expect=["Na de storing."],
        timeout=20000,
    )

    async def misbehave(frame: bytes) -> int | None:
        url = ticket_url(server.url, COORDINATOR_FRL, case_id)
        async with websockets.connect(url, max_size=None) as socket:
            await socket.recv()  # sync step 1: the connection is up
            await socket.send(frame)
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    assert asyncio.run(misbehave(b"\x00\x07\xff\xff")) == 1003  # unknown sync message
    assert asyncio.run(misbehave(b"\x09garbage")) == 1003  # unknown message type
    assert asyncio.run(misbehave(b"\x00\x02" + b"\x01" * (1024 * 1024 + 10))) == 1009
    code, _writer = run_client(
        url=ticket_url(server.url, COORDINATOR_FRL, case_id),
        section="zorg",
        insert="Na de storing.",
        expect=["Na de storing."],
        timeout=10000,
    )
    code_watcher, watched = result(watcher)
    assert (code, code_watcher) == (0, 0)
    assert watched["closes"] == []  # the watcher never lost its connection
    assert watched["texts"]["zorg"] == "Na de storing."
