"""Stored XSS: a script hidden in every free-text field (names from a notice, notes, actions,
moments, minutes, series, users, organisations) is shown as text in another user's Chromium and
never becomes markup. The plan text itself is covered in tests/browser/test_room.py, typed live.

The check does not lean on the Content-Security-Policy (which would block an inline script even if
escaping failed): it looks for injected elements in the DOM, so a template that forgets to escape
fails here."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BEHEERDER, COORDINATOR_FRL, PI_CASEMANAGER
from tests.support.collab_helpers import copy_db
from tests.support.live import LiveServer, browser_login, chromium, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAYLOAD = '"\'><img src=x class=kt-xss onerror="window.__xss=1"><script>window.__xss=2</script>'

# Every free-text column a user or a notice can fill, and which rows get the payload.
FIELDS = {
    "persons": ["first_names", "prefix", "last_name"],
    "cases": ["pi_contact_name", "pi_contact_phone", "closure_note"],
    "detention_periods": ["institution_name", "title"],
    "notices": ["attention"],
    "leefgebied_statuses": ["note"],
    "basisdossier_entries": ["note"],
    "pairings": ["internal_contact"],
    "action_items": ["description"],
    "action_updates": ["note"],
    "appointments": [
        "location",
        "notes",
        "met_by",
        "transport",
        "first_place",
        "first_with",
        "handover_note",
    ],
    "meeting_series": ["location"],
    "meetings": ["location", "minutes_note"],
    "agenda_items": ["decision"],
    "users": ["phone"],
}
UNIQUE_FIELDS = {"meeting_series": ["name"], "organisations": ["name"], "users": ["name"]}


def poison(db: Path) -> dict[str, int]:
    """Write the payload into every free-text field; return the ids of the pages to look at."""
    with sqlite3.connect(db) as conn:
        for table, columns in FIELDS.items():
            assignments = ", ".join(f"{c} = ?" for c in columns)  # names from FIELDS above
            conn.execute(f"UPDATE {table} SET {assignments}", [PAYLOAD] * len(columns))  # noqa: S608
        for table, columns in UNIQUE_FIELDS.items():
            assignments = ", ".join(f"{c} = ? || id" for c in columns)
            conn.execute(f"UPDATE {table} SET {assignments}", [PAYLOAD] * len(columns))  # noqa: S608
        case_id, appointment_id, action_id = conn.execute(
            "SELECT c.id, a.id, ai.id FROM cases c JOIN appointments a ON a.case_id = c.id "
            "JOIN action_items ai ON ai.case_id = c.id WHERE c.reference LIKE 'FRL-%' "
            "ORDER BY a.kind = 'opvang_poort' DESC LIMIT 1"
        ).fetchone()
        meeting_id = conn.execute(
            "SELECT m.id FROM meetings m JOIN agenda_items i ON i.meeting_id = m.id "
            "JOIN cases c ON c.id = i.case_id WHERE c.reference LIKE 'FRL-%' "
            "ORDER BY m.starts_at LIMIT 1"
        ).fetchone()[0]
        user_id = conn.execute(
            "SELECT id FROM users WHERE email = ?", (COORDINATOR_FRL,)
        ).fetchone()[0]
        series_id = conn.execute(
            "SELECT series_id FROM meetings WHERE id = ?", (meeting_id,)
        ).fetchone()[0]
    return {
        "case": case_id,
        "moment": appointment_id,
        "action": action_id,
        "meeting": meeting_id,
        "user": user_id,
        "series": series_id,
    }


@pytest.fixture(scope="module")
def live(
    sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("live-xss")
    url = copy_db(sqlite_templates["demo"], folder)
    ids = poison(Path(url.split(":///", 1)[1]))
    with running(LiveServer(url, folder, extra_env={"RUN_JOBS_IN_PROCESS": "false"})) as server:
        yield server, ids


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


INJECTED = """() => ({
    injected: document.querySelectorAll('img.kt-xss, script:not([src])').length,
    ran: window.__xss ?? null,
    shown: document.body.innerText.includes(PAYLOAD)
        || [...document.querySelectorAll('input, textarea')].some(e => e.value.includes(PAYLOAD)),
})""".replace("PAYLOAD", repr(PAYLOAD))


def look(page: Any, url: str) -> dict[str, Any]:
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")
    return dict(page.evaluate(INJECTED))


def test_no_free_text_field_becomes_markup_in_another_users_browser(
    live: tuple[LiveServer, dict[str, int]], browser: Any
) -> None:
    server, ids = live
    case, meeting = ids["case"], ids["meeting"]
    pages = {
        COORDINATOR_FRL: [
            "/casussen",
            f"/casussen/{case}",
            f"/casussen/{case}/leefgebieden",
            f"/casussen/{case}/plan",
            f"/casussen/{case}/koppeling",
            f"/casussen/{case}/acties",
            f"/acties/{ids['action']}/geschiedenis",
            f"/casussen/{case}/momenten/{ids['moment']}",
            f"/casussen/{case}/afsluiten",
            "/overleggen",
            f"/overleggen/{meeting}",
            f"/overleggen/{meeting}/overleg",
            f"/overleggen/{meeting}/besluitenlijst",
            "/mijn-werk",
            "/profiel",
        ],
        PI_CASEMANAGER: ["/mijn-werk"],  # actions of their own, editable inline
        BEHEERDER: [
            "/beheer/gebruikers",
            f"/beheer/gebruikers/{ids['user']}",
            "/beheer/organisaties",
            "/beheer/reeksen",
            f"/beheer/reeksen/{ids['series']}",
            "/beheer/audit",
            "/beheer/meldingen",
        ],
    }
    outcomes: dict[str, dict[str, Any]] = {}
    for email, paths in pages.items():
        context = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
        page = context.new_page()
        browser_login(page, server.url, email)
        for path in paths:
            outcomes[f"{email} {path}"] = look(page, server.url + path)
        context.close()
    harmed = {p: o for p, o in outcomes.items() if o["injected"] or o["ran"] is not None}
    assert harmed == {}
    unseen = [p for p, o in outcomes.items() if not o["shown"]]
    assert unseen == []  # the text is there, shown as text: the check looked at the real thing
