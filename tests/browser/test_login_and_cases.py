"""In Chromium: logging in, the case list and the case page, keyboard use."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.live import LiveServer, browser_login, chromium, running

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(
    sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live-foundation")
    shutil.copyfile(sqlite_templates["demo"], data / "app.db")
    with running(LiveServer(f"sqlite+aiosqlite:///{data / 'app.db'}", data)) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


def test_login_with_wrong_password_shows_a_dutch_error(live: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    browser_login(page, live.url, "coordinator@fryslan.zvh.example", "fout")
    alert = page.get_by_role("alert")
    assert "Het e-mailadres of het wachtwoord klopt niet." in alert.inner_text()
    page.close()


def test_keyboard_only_login_and_case_navigation(live: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{live.url}/privacy")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Direct naar de inhoud"
    page.goto(f"{live.url}/inloggen")
    assert page.evaluate("document.activeElement.id") == "veld-email"  # autofocus
    page.keyboard.type("coordinator@fryslan.zvh.example")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-wachtwoord")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live.url}/casussen")
    rows = page.locator("a.kt-row-link")
    assert rows.count() > 10
    first_name = rows.first.inner_text()
    rows.first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().split()[-1] in first_name
    assert page.get_by_role("heading", name="Detentie").is_visible()
    page.close()


def test_search_filters_the_list_as_you_type(live: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    browser_login(page, live.url, "coordinator@fryslan.zvh.example")
    page.goto(f"{live.url}/casussen")
    name = page.locator("a.kt-row-link").nth(2).inner_text().split(",")[0]
    page.get_by_label("Zoeken").fill(name)
    expect(page.locator("#case-count")).to_contain_text("gevonden")
    names = page.locator("a.kt-row-link").all_inner_texts()
    assert names
    assert all(name in n for n in names)
    assert f"q={name}" in page.url
    page.close()


def test_groningen_coordinator_cannot_open_a_fryslan_case_in_the_browser(
    live: LiveServer, browser: Any
) -> None:
    frl = browser.new_page()
    browser_login(frl, live.url, "coordinator@fryslan.zvh.example")
    frl.goto(f"{live.url}/casussen")
    href = frl.locator("a.kt-row-link").first.get_attribute("href")
    name = frl.locator("a.kt-row-link").first.inner_text()
    frl.close()
    context = browser.new_context()
    grn = context.new_page()
    browser_login(grn, live.url, "coordinator@groningen.zvh.example")
    response = grn.goto(f"{live.url}{href}")
    assert response.status == 404
    assert "Niet gevonden" in grn.locator("h1").inner_text()
    assert name.split(",")[0] not in grn.content()
    context.close()
