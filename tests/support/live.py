"""A real app process for browser and multi-process tests, and a Chromium launched by Playwright."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.settings import ROOT
from tests.support import clock

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`python -m app.cli serve` on a free port against a given database, on the test clock."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *,
        redis_url: str = "",
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"server-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "OUTBOX_DIR": str(data_dir / "outbox"),
            "SECRET_KEY": "test-secret-key-for-the-suite-only",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "BASE_URL": self.url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": os.environ.get("TEST_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                clock.module_command("app.cli", "serve"),
                cwd=ROOT,
                env={**self.env, **clock.child_env()},  # the test clock as it is now
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60  # a loaded two-core machine needs 20 s at times
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=1) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return self
            time.sleep(0.1)
        self.kill()  # not left running for the rest of the suite
        raise RuntimeError(f"server did not start within 60 s: {self.logs()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def running(server: LiveServer) -> Iterator[LiveServer]:
    try:
        server.start()  # inside: a server that does not come up in time is stopped, not left behind
        yield server
    finally:
        server.stop()


class ClockedBrowser:
    """A Playwright Browser whose new contexts and pages run on the test clock (tests/support/clock.py)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        clock.install_in_browser(context)
        return context

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        clock.install_in_browser(page.context)
        return page


@contextlib.contextmanager
def chromium(executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield ClockedBrowser(browser)
        finally:
            browser.close()


def browser_login(page: Any, base_url: str, email: str, password: str = "demo-wachtwoord") -> None:
    page.goto(f"{base_url}/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Inloggen").click()
