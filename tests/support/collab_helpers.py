"""Helpers for realtime tests: tickets over HTTP, real Yjs clients in Node, a live server per engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx

from app.db import create_engine, session_factory
from app.meetings.services import ensure_meetings
from app.settings import ROOT

NODE_CLIENT = ROOT / "tests" / "node" / "yclient.mjs"


def token(base_url: str, email: str, password: str = "demo-wachtwoord") -> dict[str, str]:
    response = httpx.post(
        f"{base_url}/api/v1/auth/token", json={"email": email, "password": password}, timeout=10
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def ticket(base_url: str, headers: dict[str, str], case_id: int) -> httpx.Response:
    return httpx.post(f"{base_url}/api/v1/cases/{case_id}/plan/ticket", headers=headers, timeout=10)


def ticket_url(base_url: str, email: str, case_id: int) -> str:
    response = ticket(base_url, token(base_url, email), case_id)
    response.raise_for_status()
    return str(response.json()["url"])


def yjs_client(**options: Any) -> subprocess.Popen[str]:
    node = shutil.which("node") or "node"
    return subprocess.Popen(
        [node, str(NODE_CLIENT), json.dumps(options)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(process: subprocess.Popen[str], timeout: float = 30) -> tuple[int, dict[str, Any]]:
    out, err = process.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"no output from the Yjs client: {err[-2000:]}")
    return process.returncode, json.loads(lines[-1])


def run_client(**options: Any) -> tuple[int, dict[str, Any]]:
    return result(yjs_client(**options), timeout=options.get("timeout", 10000) / 1000 + 20)


def copy_db(template: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "app.db")
    return f"sqlite+aiosqlite:///{folder / 'app.db'}"


def ensure_meetings_in(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        async with session_factory(engine)() as session, session.begin():
            await ensure_meetings(session)
        await engine.dispose()

    asyncio.run(run())


def logged_in(base_url: str, email: str, password: str = "demo-wachtwoord") -> httpx.Client:
    """An HTTP client with a browser's session on a live server (the caller closes it)."""
    browser = httpx.Client(base_url=base_url, timeout=10)
    browser.get("/inloggen")
    answer = browser.post(
        "/inloggen",
        data={"email": email, "password": password, "_csrf_token": browser.cookies["kt_csrf"]},
    )
    assert answer.status_code == 303, answer.status_code
    return browser


def chair_step_heard(
    listener_url: str, chair_url: str, meeting_id: int, action: str, listener: str, chair: str
) -> list[dict[str, Any]]:
    """The chair takes a step on one server; returns the events a participant's screen (the event
    stream on `listener_url`) received, up to and including the `room` signal, within ten seconds."""
    events: list[dict[str, Any]] = []
    ready, heard = threading.Event(), threading.Event()
    screen = logged_in(listener_url, listener)

    def listen() -> None:
        with (
            contextlib.suppress(httpx.HTTPError),
            screen.stream("GET", f"/overleggen/{meeting_id}/gebeurtenissen", timeout=12) as stream,
        ):
            event = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    events.append({"event": event, **json.loads(line.split(":", 1)[1])})
                    if event == "hello":
                        ready.set()
                    if event == "room":
                        heard.set()
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        leader = logged_in(chair_url, chair)
        step = leader.post(
            f"/overleggen/{meeting_id}/overleg/{action}",
            headers={"HX-Request": "true", "x-csrftoken": leader.cookies["kt_csrf"]},
        )
        leader.close()
        assert step.status_code == 200
        heard.wait(10)
    finally:
        screen.close()
        thread.join(15)
    return events
