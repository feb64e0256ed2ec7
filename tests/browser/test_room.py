"""Two Chromium browsers (chair and partner) and a Node Yjs client in one live meeting room."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.db import create_engine, session_factory
from app.meetings.agenda import build_agenda
from app.meetings.models import Meeting
from app.meetings.services import ensure_meetings
from app.web import today_local
from tests.support.collab_helpers import copy_db, run_client, ticket_url
from tests.support.live import LiveServer, browser_login, chromium, running
from tests.support.notice_helpers import ingest_cases, instroom, new_bsn

pytestmark = [pytest.mark.browser, pytest.mark.slow]
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def prepare(url: str) -> int:
    async def run() -> int:
        engine = create_engine(url)
        async with session_factory(engine)() as s, s.begin():
            await ensure_meetings(s)
            from sqlalchemy import select

            from app.db import utcnow
            from app.meetings.models import MeetingSeries

            # The Fryslân series: the partner in this test is a member of it, not of Groningen's.
            meeting = (
                (
                    await s.scalars(
                        select(Meeting)
                        .join(MeetingSeries, Meeting.series_id == MeetingSeries.id)
                        .where(
                            Meeting.starts_at > utcnow(),
                            MeetingSeries.name == "Instroomoverleg Fryslân",
                        )
                        .order_by(Meeting.starts_at)
                        .limit(1)
                    )
                )
                .unique()
                .one()
            )
            # Three cases of the test's own, whatever the demo holds on the day: the chair steps
            # through at least three items.
            await ingest_cases(
                s,
                [
                    instroom(
                        f"BR-{n}",
                        new_bsn(),
                        achternaam=name,
                        datum_insluiting=today_local() - dt.timedelta(days=9),
                    )
                    for n, name in enumerate(["Jansma", "Terpstra", "Feenstra"])
                ],
            )
            await build_agenda(s, meeting)
            meeting_id = meeting.id
        await engine.dispose()
        return meeting_id

    return asyncio.run(run())


@pytest.fixture(scope="module")
def live(
    sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, int]]:
    folder = tmp_path_factory.mktemp("live-room")
    url = copy_db(sqlite_templates["demo"], folder)
    meeting_id = prepare(url)
    with running(LiveServer(url, folder, extra_env={"RUN_JOBS_IN_PROCESS": "false"})) as server:
        yield server, meeting_id


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


def open_room(browser: Any, server: LiveServer, meeting_id: int, email: str) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.on(
        "dialog",
        lambda dialog: (_ for _ in ()).throw(
            AssertionError(f"unexpected dialog: {dialog.message}")
        ),
    )
    browser_login(page, server.url, email)
    page.goto(f"{server.url}/overleggen/{meeting_id}/overleg")
    return page


def test_the_app_and_the_browser_run_on_the_tests_clock(
    live: tuple[LiveServer, int], browser: Any
) -> None:
    """Under the date matrix (KT_TEST_NOW) the app process and Chromium must share the test's day."""
    server, _meeting_id = live
    page = browser.new_page()
    response = page.goto(f"{server.url}/inloggen")
    assert response is not None
    served = email.utils.parsedate_to_datetime(response.headers["date"])
    shown = dt.datetime.fromisoformat(
        page.evaluate("new Date().toISOString()").replace("Z", "+00:00")
    )
    page.close()
    now = dt.datetime.now(dt.UTC)
    assert abs(served - now) < dt.timedelta(minutes=30)
    assert abs(shown - now) < dt.timedelta(minutes=30)


def test_two_browsers_follow_the_chair_and_write_one_plan(
    live: tuple[LiveServer, int], browser: Any
) -> None:
    server, meeting_id = live
    chair = open_room(browser, server, meeting_id, "coordinator@fryslan.zvh.example")
    partner = open_room(browser, server, meeting_id, "casemanager@reclassering.example")
    expect(partner.locator("#room-presence")).to_contain_text("2 verbonden")
    chair.get_by_role("button", name="Overleg starten").click()
    heading = chair.locator("#room-panel h2").first  # a locator: it follows the panel
    expect(heading).to_be_visible()
    first = heading.inner_text()  # the names, read once
    expect(partner.locator("#room-panel h2").first).to_have_text(first)
    chair.get_by_role("button", name="Volgende →").click()
    expect(chair.locator("#room-panel [data-panel-item]")).to_have_attribute(
        "data-panel-item", re.compile(r"\d+")
    )
    expect(heading).not_to_have_text(first)
    second = heading.inner_text()
    expect(partner.locator("#room-panel h2").first).to_have_text(second, timeout=5000)

    # both type into the same section at the same time
    for page in (chair, partner):
        expect(page.locator("[data-plan-status]")).to_contain_text("Verbonden")
    chair_box = chair.locator("[data-plan-text=onderdak]")
    partner_box = partner.locator("[data-plan-text=onderdak]")
    chair_box.click()
    partner_box.click()
    chair_box.press_sequentially("Nachtopvang Leeuwarden regelen. ", delay=15)
    partner_box.press("Home")
    partner_box.press_sequentially("Eerst ID-kaart aanvragen. ", delay=15)
    for page in (chair, partner):
        box = page.locator("[data-plan-text=onderdak]")
        expect(box).to_have_value(
            re.compile(
                r"^(?=[\s\S]*Nachtopvang Leeuwarden regelen\.)(?=[\s\S]*Eerst ID-kaart aanvragen\.)"
            )
        )
    assert chair_box.input_value() == partner_box.input_value()
    expect(partner.locator("[data-typing=onderdak]")).to_contain_text("Sjoukje de Vries")

    # a real Yjs client from Node joins through the ticket URL and converges with the browsers
    case_id = int(chair.locator("#room-panel [data-case]").first.get_attribute("data-case"))
    code, outcome = run_client(
        url=ticket_url(server.url, "partner@ggz-friesland.example", case_id),
        section="onderdak",
        insert=" Zorgverzekering loopt door.",
        expect=["Nachtopvang", "Eerst ID-kaart", "Zorgverzekering loopt door."],
        timeout=10000,
    )
    assert code == 0
    for page in (chair, partner):
        expect(page.locator("[data-plan-text=onderdak]")).to_have_value(
            outcome["texts"]["onderdak"]
        )

    # markup typed into the plan, an action and a note stays text in the other browser
    chair.locator("[data-plan-text=doel]").click()
    chair.locator("[data-plan-text=doel]").press_sequentially(XSS)
    expect(partner.locator("[data-plan-text=doel]")).to_have_value(XSS)
    partner.get_by_label("Wat").fill(XSS)
    partner.get_by_label("Wie").select_option(index=1)
    partner.get_by_role("button", name="Actie toevoegen").click()
    expect(chair.locator(".kt-action__what").first).to_have_text(XSS)
    chair.locator("[id^=note-onderdak]").fill(XSS)
    chair.locator("[id^=note-onderdak]").press("Enter")
    expect(partner.locator("[id^=note-onderdak]")).to_have_value(XSS)
    for page in (chair, partner):
        assert page.evaluate("window.__xss") is None
        assert page.locator(".kt-panel img").count() == 0

    # the partner looks at another item; the chair moves on; V brings the partner back
    other = partner.locator("[data-view-item]").nth(0)
    viewing = other.locator(".kt-room-agenda__name").inner_text()
    other.click()
    expect(partner.locator("#follow-status")).to_contain_text("U kijkt zelf rond")
    expect(partner.locator("#room-panel h2").first).to_have_text(viewing)
    chair.get_by_role("button", name="Volgende →").click()
    expect(heading).not_to_have_text(second)
    third = heading.inner_text()
    partner.wait_for_timeout(800)
    assert partner.locator("#room-panel h2").first.inner_text() == viewing
    partner.locator("body").press("v")
    expect(partner.locator("#room-panel h2").first).to_have_text(third)
    expect(partner.locator("#follow-status")).to_contain_text("U volgt de voorzitter")
