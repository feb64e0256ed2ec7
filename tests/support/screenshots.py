"""Screenshots of the main screens in Chromium: `make screenshots` writes them to screenshots/.

Runs a real app process on a fresh copy of the demo database (SQLite) and logs in as the demo users.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

from app.cli import migrate
from app.settings import ROOT
from tests.conftest import CHROMIUM, _load, settings_for
from tests.support.live import LiveServer, browser_login, chromium, running

OUT = ROOT / "screenshots"


def shoot(page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    path = OUT / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)
    print(f"  {path.relative_to(ROOT)}")


def main() -> None:
    executable = os.environ.get("CHROMIUM_PATH") or CHROMIUM
    if not executable:
        sys.exit("Geen Chromium gevonden (zet CHROMIUM_PATH).")
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        url = f"sqlite+aiosqlite:///{data / 'app.db'}"
        migrate(settings_for(url, data))
        asyncio.run(_load(url, demo=True))
        with running(LiveServer(url, data)) as server, chromium(executable) as browser:
            desktop = browser.new_context(
                viewport={"width": 1366, "height": 900},
                locale="nl-NL",
                timezone_id="Europe/Amsterdam",
            )
            page = desktop.new_page()
            page.goto(f"{server.url}/inloggen")
            shoot(page, "01-inloggen", full_page=False)
            browser_login(page, server.url, "coordinator@fryslan.zvh.example")
            page.goto(f"{server.url}/casussen")
            shoot(page, "02-casussen")
            page.locator("a.kt-row-link").first.click()
            page.wait_for_load_state("networkidle")
            shoot(page, "03-casus")
            page.goto(f"{server.url}/overleggen")
            shoot(page, "04-overleggen")
            page.locator(".kt-meeting h3 a").first.click()
            page.wait_for_load_state("networkidle")
            page.get_by_role("button", name=re.compile("Agenda (opnieuw )?opbouwen")).click()
            page.wait_for_selector(".kt-item")
            shoot(page, "05-agenda")
            meeting_url = page.url
            page.goto(f"{server.url}/meldingen")
            shoot(page, "06-meldingen")
            # the live meeting room: the chair and a partner
            page.goto(f"{meeting_url}/overleg")
            page.get_by_role("button", name="Overleg starten").click()
            page.locator("#room-panel h2").first.wait_for()
            page.get_by_role("button", name="Volgende →").click()
            page.wait_for_timeout(800)
            partner_ctx = browser.new_context(
                viewport={"width": 1366, "height": 900},
                locale="nl-NL",
                timezone_id="Europe/Amsterdam",
            )
            partner = partner_ctx.new_page()
            browser_login(partner, server.url, "casemanager@reclassering.example")
            partner.goto(f"{meeting_url}/overleg")
            partner.locator("[data-plan-status]").filter(has_text="Verbonden").wait_for()
            page.locator("[data-plan-status]").filter(has_text="Verbonden").wait_for()
            box = page.locator("[data-plan-text=doel]")
            box.click()
            box.press_sequentially(
                "Binnen vier weken een vaste woonplek en inkomen; contact met zoon herstellen.",
                delay=5,
            )
            partner_box = partner.locator("[data-plan-text=onderdak]")
            partner_box.click()
            partner_box.press_sequentially(
                "Aanmelding bij de maatschappelijke opvang loopt; ", delay=5
            )
            page.locator("[id^=status-identiteitsbewijs]").select_option("actie_nodig")
            page.get_by_label("Wat").fill("Afspraak burgerzaken voor een ID-kaart")
            page.get_by_label("Wie").select_option(index=2)
            page.get_by_role("button", name="Actie toevoegen").click()
            page.wait_for_timeout(1000)
            shoot(page, "07-overleg-voorzitter")
            shoot(partner, "08-overleg-deelnemer")
            page.goto(f"{meeting_url}/besluitenlijst")
            shoot(page, "09-besluitenlijst")
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            mobile = phone.new_page()
            browser_login(mobile, server.url, "coordinator@fryslan.zvh.example")
            mobile.goto(f"{server.url}/casussen")
            shoot(mobile, "90-telefoon-casussen", full_page=False)
            worker = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            ).new_page()
            browser_login(worker, server.url, "casemanager@reclassering.example")
            worker.goto(f"{server.url}/mijn-werk")
            shoot(worker, "91-telefoon-mijn-werk")
            worker.get_by_role("link", name="Opvang aan de poort").first.click()
            worker.wait_for_load_state("networkidle")
            shoot(worker, "92-telefoon-opvang-checklist")
            desk = browser.new_context(
                viewport={"width": 1366, "height": 900},
                locale="nl-NL",
                timezone_id="Europe/Amsterdam",
            ).new_page()
            browser_login(desk, server.url, "casemanager@reclassering.example")
            desk.goto(f"{server.url}/mijn-werk")
            shoot(desk, "10-mijn-werk")
            desk.goto(f"{server.url}/profiel")
            shoot(desk, "11-profiel-agenda")
            admin = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            browser_login(admin, server.url, "beheer@fryslan.zvh.example")
            admin.goto(f"{server.url}/beheer/audit")
            shoot(admin, "80-beheer-audit")


if __name__ == "__main__":
    main()
