"""In Chromium: uploading a notice file with bad rows, and reordering the agenda with the keyboard."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.live import LiveServer, browser_login, chromium, running
from tests.support.notice_helpers import csv_bytes, instroom, new_bsn

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(
    sqlite_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live-notices")
    shutil.copyfile(sqlite_templates["demo"], data / "app.db")
    with running(LiveServer(f"sqlite+aiosqlite:///{data / 'app.db'}", data)) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with chromium(chromium_path) as b:
        yield b


def test_upload_with_bad_rows_shows_a_preview_then_a_result_table(
    live: LiveServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page()
    browser_login(page, live.url, "coordinator@fryslan.zvh.example")
    page.goto(f"{live.url}/meldingen")
    path = tmp_path / "weeklijst.csv"
    path.write_bytes(
        csv_bytes(
            [
                instroom("BR-1", new_bsn(), achternaam="Wâldsma"),
                instroom("BR-2", "111111111"),
                instroom("BR-3", new_bsn(), geboortedatum="30-02-1980"),
            ],
            encoding="cp1252",
        )
    )
    page.get_by_label(re.compile("Sleep het CSV-bestand")).set_input_files(str(path))
    expect(page.locator("[data-dropzone-name]")).to_have_text("weeklijst.csv")
    with page.expect_navigation():
        page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Voorbeeld: weeklijst.csv")
    problems = page.locator("table tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.nth(0)).to_contain_text("elfproef")
    expect(problems.nth(1)).to_contain_text("geboortedatum ‘30-02-1980’ bestaat niet")
    with page.expect_navigation():
        page.get_by_role("button", name="Verwerken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resultaat: weeklijst.csv")
    rows = page.locator("#resultaten tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#resultaten")).to_contain_text("Afgewezen")
    link = page.get_by_role("link", name="Afgewezen regels downloaden (CSV)")
    with page.expect_download() as download:
        link.click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "BR-2" in content
    assert "BR-3" in content
    assert "BR-1" not in content
    # the accepted row links to its new case
    case_link = page.locator("#resultaten a").first
    with page.expect_navigation():
        case_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wâldsma")
    page.close()


def test_agenda_reorders_with_the_keyboard(live: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    browser_login(page, live.url, "coordinator@fryslan.zvh.example")
    page.goto(f"{live.url}/overleggen")
    with page.expect_navigation():
        page.locator(".kt-meeting h3 a").first.click()
    with page.expect_response(lambda r: r.url.endswith("/agenda/opbouwen")):
        page.get_by_role("button", name=re.compile("Agenda (opnieuw )?opbouwen")).click()
    expect(page.locator("#agenda .kt-alert")).to_contain_text("casussen")
    names = page.locator(".kt-item .kt-item__name")
    first, second = names.nth(0).inner_text(), names.nth(1).inner_text()
    moved_id = page.locator(".kt-item").first.get_attribute("data-item")
    page.locator(f'#item-{moved_id} [data-move="omlaag"]').focus()
    page.keyboard.press("Enter")
    expect(names.nth(0)).to_have_text(second)
    expect(names.nth(1)).to_have_text(first)
    # focus followed the moved item (the server names it; the page restores it after the swap)
    expect(page.locator(f'#item-{moved_id} [data-move="omlaag"]')).to_be_focused()
    # Alt + arrow up on the item moves it back
    page.keyboard.press("Alt+ArrowUp")
    expect(names.nth(0)).to_have_text(first)
    expect(names.nth(1)).to_have_text(second)
    page.reload()
    expect(names.nth(0)).to_have_text(first)  # the order is stored
    page.close()
