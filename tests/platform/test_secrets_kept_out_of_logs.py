"""Secrets that travel in URLs (calendar feed, password-reset link, plan ticket) never reach a log;
a withdrawn calendar feed stays withdrawn until its owner makes a new one."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import logging
import re
import secrets
from pathlib import Path
from urllib.parse import urlparse

import httpx
import websockets
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import logs
from app.mail import deliver_mail_job
from app.settings import Settings
from tests.conftest import (
    COORDINATOR_FRL,
    PI_CASEMANAGER,
    api_token,
    csrf_of,
    login,
    settings_for,
)
from tests.support.live import LiveServer, running


async def form_post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    return await client.post(
        path, data={**data, "_csrf_token": client.cookies.get("kt_csrf") or ""}
    )


def reset_link_in(outbox: Path) -> str | None:
    files = sorted(outbox.glob("*-password_reset.eml"))
    if not files:
        return None
    message = email.message_from_bytes(files[-1].read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"https?://[^/\s]+(/wachtwoord-herstellen/\S+)", body.get_content())
    assert found
    return found.group(1)


async def reset_link_from_outbox(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> str:
    """Deliver the server's outbox as the worker does (to .eml files) and read the link."""
    for _ in range(100):  # the server makes the link just after its answer
        await deliver_mail_job({"session_factory": sessions, "settings": settings})
        link = reset_link_in(settings.outbox_dir)
        if link:
            return link
        await asyncio.sleep(0.1)
    raise AssertionError("no reset e-mail in the outbox")


NO_JOBS = {"RUN_JOBS_IN_PROCESS": "false", "LOG_LEVEL": "INFO"}


async def test_secret_bearing_urls_leave_no_secret_in_the_request_log(
    database_url: str, tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A real server process, its whole log: the calendar feed, a plan ticket, a password reset."""
    server = LiveServer(database_url, tmp_path, extra_env=NO_JOBS)
    with running(server):
        async with httpx.AsyncClient(base_url=server.url) as web:
            # a calendar feed, fetched as a calendar app does, and a guessed one
            await web.get("/inloggen")
            await form_post(
                web, "/inloggen", {"email": COORDINATOR_FRL, "password": "demo-wachtwoord"}
            )
            await form_post(web, "/profiel/agenda", {"actie": "vernieuwen"})
            profile = await web.get("/profiel")
            feed = re.search(
                r'id="agenda-adres" value="[^"]*(/calendar/([^"/]+)\.ics)"', profile.text
            )
            assert feed
            feed_path, feed_secret = feed.group(1), feed.group(2)
            assert (await web.get(feed_path)).status_code == 200
            guessed = secrets.token_urlsafe(24)
            assert (await web.get(f"/calendar/{guessed}.ics")).status_code == 404

            # a plan ticket, used over the WebSocket and (wrongly) over plain HTTP
            token = (
                await web.post(
                    "/api/v1/auth/token",
                    json={"email": COORDINATOR_FRL, "password": "demo-wachtwoord"},
                )
            ).json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            case_id = (await web.get("/api/v1/cases", headers=bearer)).json()[0]["id"]
            ticket_url = (
                await web.post(f"/api/v1/cases/{case_id}/plan/ticket", headers=bearer)
            ).json()["url"]
            ticket = ticket_url.split("ticket=", 1)[1]
            async with websockets.connect(ticket_url) as socket:
                # the server's first sync message: the ticket was accepted
                await asyncio.wait_for(socket.recv(), timeout=10)
            await web.get(urlparse(ticket_url).path + "?ticket=" + ticket)
        logs = server.logs()
        for secret in (feed_secret, guessed, ticket, token):
            assert secret not in logs
        assert "/calendar/[redacted]" in logs  # the requests were logged, the secret replaced
        assert "calendar.served" in logs

        # a password reset, from the request to the new password
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            await anonymous.get("/wachtwoord-vergeten")
            await form_post(anonymous, "/wachtwoord-vergeten", {"email": PI_CASEMANAGER})
            reset_path = await reset_link_from_outbox(
                sessions, settings_for(database_url, tmp_path)
            )
            reset_secret = reset_path.rsplit("/", 1)[1]
            assert (await anonymous.get(reset_path)).status_code == 200
            done = await form_post(
                anonymous,
                reset_path,
                {"nieuw": "een heel nieuw wachtwoord", "herhaling": "een heel nieuw wachtwoord"},
            )
            assert done.status_code == 303  # to the profile page, logged in
            assert (await anonymous.get(reset_path)).status_code == 400
    logs = server.logs()
    assert "/wachtwoord-herstellen/[redacted]" in logs
    assert reset_secret not in logs
    assert PI_CASEMANAGER not in logs


def test_library_log_lines_are_redacted_too() -> None:
    """Lines that reach the standard library's handlers (uvicorn's among them) get the same treatment."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RedactingFilter())
    logger = logging.getLogger("tests.secret_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(
            '%s - "WebSocket %s" 403', "127.0.0.1", "/collab/plans/7?ticket=s3cr3t-t1cket"
        )
        logger.warning("GET /calendar/Zm9vYmFyYmF6.ics failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "/collab/plans/7?ticket=[redacted]" in text
    assert "/calendar/[redacted]" in text
    assert "s3cr3t" not in text
    assert "Zm9vYmFyYmF6" not in text


async def test_me_does_not_bring_back_a_withdrawn_calendar_feed(
    client: AsyncTestClient[Litestar],
) -> None:
    headers = await api_token(client, COORDINATOR_FRL)
    first = (await client.get("/api/v1/me", headers=headers)).json()["calendar_url"]
    assert first.startswith("http://testserver.local/calendar/")  # a first feed, as before
    await login(client, COORDINATOR_FRL)
    withdrawn = await client.post(
        "/profiel/agenda", data={"actie": "intrekken", "_csrf_token": csrf_of(client)}
    )
    assert "Uw agenda-adres is ingetrokken" in withdrawn.text
    for _ in range(2):
        me = await client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["calendar_url"] is None
    assert (await client.get(urlparse(first).path)).status_code == 404
    profile = await client.get("/profiel")
    assert "Agenda-adres maken" in profile.text
    # only the owner's explicit choice makes a new one
    await client.post(
        "/profiel/agenda", data={"actie": "vernieuwen", "_csrf_token": csrf_of(client)}
    )
    renewed = (await client.get("/api/v1/me", headers=headers)).json()["calendar_url"]
    assert renewed
    assert renewed != first
    assert (await client.get(urlparse(renewed).path)).status_code == 200
