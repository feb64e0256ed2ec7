"""Two app processes sharing the database and Redis behave as one (plan edits and meeting events)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    COORDINATOR_FRL,
    RECLASSERING,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    PgDatabases,
    pg_url_for,
)
from tests.support.collab_helpers import (
    chair_step_heard,
    copy_db,
    ensure_meetings_in,
    result,
    run_client,
    ticket_url,
    token,
    yjs_client,
)
from tests.support.live import LiveServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    if not TEST_REDIS_URL:
        pytest.skip("Redis-suite overgeslagen: TEST_REDIS_URL is niet gezet")
    folder = tmp_path_factory.mktemp("two-processes")
    if TEST_DATABASE_URL:
        databases: PgDatabases = request.getfixturevalue("pg_databases")
        url = pg_url_for(databases.clone("demo"))
    else:
        url = copy_db(request.getfixturevalue("sqlite_templates")["demo"], folder)
    env = {"RUN_JOBS_IN_PROCESS": "false"}
    one = LiveServer(url, folder, redis_url=TEST_REDIS_URL, extra_env=env).start()
    two = LiveServer(url, folder, redis_url=TEST_REDIS_URL, extra_env=env).start()
    yield one, two
    one.stop()
    two.stop()


def open_case(server: LiveServer, index: int) -> int:
    cases = httpx.get(
        f"{server.url}/api/v1/cases",
        headers=token(server.url, COORDINATOR_FRL),
        params={"status": "open"},
        timeout=10,
    ).json()
    return int(cases[index]["id"])


def test_clients_on_different_processes_converge(pair: tuple[LiveServer, LiveServer]) -> None:
    one, two = pair
    case_id = open_case(one, 4)
    both = ["Schuldhulp aanmelden.", "CJIB-regeling treffen."]
    a = yjs_client(
        url=ticket_url(one.url, COORDINATOR_FRL, case_id),
        section="schulden",
        insert=both[0],
        typing=10,
        expect=both,
        timeout=20000,
    )
    b = yjs_client(
        url=ticket_url(two.url, RECLASSERING, case_id),
        section="schulden",
        insert=both[1],
        typing=10,
        atStart=True,
        expect=both,
        timeout=20000,
    )
    (code_a, out_a), (code_b, out_b) = result(a), result(b)
    assert code_a == 0
    assert code_b == 0
    assert out_a["texts"]["schulden"] == out_b["texts"]["schulden"]


def test_joining_a_room_the_other_process_already_holds(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    one, two = pair
    case_id = open_case(one, 5)
    holder = yjs_client(
        url=ticket_url(one.url, COORDINATOR_FRL, case_id),
        section="zorg",
        insert="Huisarts inschrijven. ",
        expect=["Huisarts inschrijven.", "Zorgverzekering activeren."],
        timeout=20000,
        linger=800,
    )
    # the second process loads the room while the first holds it, then both keep typing
    code, joined = run_client(
        url=ticket_url(two.url, RECLASSERING, case_id),
        section="zorg",
        insert="Zorgverzekering activeren.",
        expect=["Huisarts inschrijven.", "Zorgverzekering activeren."],
        timeout=20000,
    )
    code_h, held = result(holder)
    assert code == 0
    assert code_h == 0
    assert joined["texts"]["zorg"] == held["texts"]["zorg"]
    assert "Huisarts inschrijven." in joined["texts"]["zorg"]


def test_meeting_events_reach_browsers_on_the_other_process(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    one, two = pair
    ensure_meetings_in(one.env["DATABASE_URL"])
    chair = token(one.url, COORDINATOR_FRL)
    meetings = httpx.get(f"{one.url}/api/v1/meetings", headers=chair, timeout=10).json()
    meeting_id = meetings[0]["id"]
    events = chair_step_heard(
        two.url, one.url, meeting_id, "start", listener=RECLASSERING, chair=COORDINATOR_FRL
    )
    room_events = [e for e in events if e["event"] == "room"]
    assert room_events, events
    assert set(room_events[0]) <= {
        "event",
        "type",
        "v",
        "current",
        "item",
    }  # ids only, no personal data
