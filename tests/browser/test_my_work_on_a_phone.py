"""Mijn werk and the release checklist in Chromium, on a phone-sized screen: inline changes
without a page load, filters, the checklist by touch and by keyboard, nothing wider than the
screen."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.collab_helpers import copy_db
from tests.support.live import LiveServer, browser_login, chromium, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live(
    sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Path]]:
    folder = tmp_path_factory.mktemp("live-work")
    url = copy_db(sqlite_templates["demo"], folder)
    with running(LiveServer(url, folder, extra_env={"RUN_JOBS_IN_PROCESS": "false"})) as server:
        yield server, Path(url.split(":///", 1)[1])


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
    )
    yield context
    context.close()


def fits_the_screen(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px screen"


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_casemanager_works_through_actions_on_a_phone(
    live: tuple[LiveServer, Path], phone: Any
) -> None:
    server, db = live
    page = phone.new_page()
    browser_login(page, server.url, "casemanager@reclassering.example")
    page.goto(f"{server.url}/mijn-werk")
    expect(page.get_by_role("heading", name="Mijn acties")).to_be_visible()
    fits_the_screen(page)
    first = page.locator(".kt-work-action").first
    expect(first).to_have_class(re.compile("kt-work-action--late"))  # overdue first
    action_id = int((first.get_attribute("id") or "").split("-")[1])
    with page.expect_response(re.compile(r"/acties/\d+$")):
        first.get_by_label("Status").select_option("bezig")
    expect(page.locator(f"#actie-{action_id}")).to_contain_text("Opgeslagen.")
    assert query(db, "select status from action_items where id = ?", action_id) == [("bezig",)]
    row = page.locator(f"#actie-{action_id}")
    row.get_by_placeholder("Notitie toevoegen…").fill("Gebeld met de opvang, plek vanaf maandag")
    row.get_by_placeholder("Notitie toevoegen…").press("Enter")
    expect(page.locator(f"#actie-{action_id}")).to_contain_text("plek vanaf maandag")
    assert page.url.endswith("/mijn-werk")  # no page load: htmx did it in place

    page.get_by_label("Termijn").select_option("later")
    expect(page).to_have_url(re.compile(r"termijn=later"))
    for due in page.locator(".kt-work-action .kt-muted").all_inner_texts():
        assert "verlopen" not in due
    fits_the_screen(page)


def test_the_release_checklist_by_touch_and_keyboard_on_a_phone(
    live: tuple[LiveServer, Path], phone: Any
) -> None:
    server, db = live
    page = phone.new_page()
    browser_login(page, server.url, "casemanager@reclassering.example")
    page.goto(f"{server.url}/mijn-werk")
    page.get_by_role("link", name="Opvang aan de poort").first.click()
    expect(page.get_by_role("heading", name="Checklist eerste dag")).to_be_visible()
    fits_the_screen(page)
    appointment_id = int(page.url.split("/momenten/")[1].split("?")[0])
    badge = page.locator("#checklist .kt-badge")
    start = int((badge.inner_text()).split(" ")[0])
    page.get_by_label("Medicatie voor de eerste dagen mee").tap()
    expect(badge).to_have_text(f"{start + 1} van 8 geregeld")
    # keyboard: focus stays on the line just ticked, Space ticks the next one
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(badge).to_have_text(f"{start + 2} van 8 geregeld")
    stored = query(db, "select checklist from appointments where id = ?", appointment_id)[0][0]
    assert '"medication": true' in stored
    page.reload()
    expect(page.locator("#checklist .kt-badge")).to_have_text(f"{start + 2} van 8 geregeld")
    expect(page.get_by_label("Medicatie voor de eerste dagen mee")).to_be_checked()
