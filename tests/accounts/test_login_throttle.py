"""Failed logins slow down the address they come from, never the rightful owner elsewhere; waits
grow with every further failure and end; a password reset lets the owner in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import services
from app.accounts.models import LoginAttempt
from app.main import create_app
from app.settings import Settings
from tests.accounts.test_password_reset import (
    ask_for_link,
    delivered_link,
    set_password,
    wait_for_mails,
)
from tests.conftest import COORDINATOR_FRL, PI_CASEMANAGER, csrf_of, login, settings_for
from tests.support.live import LiveServer, running

ATTACKER = "203.0.113.9"
OWNER = "198.51.100.20"


async def web_login(client: Any, email: str, password: str, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    await client.get("/inloggen", headers=headers)
    return await client.post(
        "/inloggen",
        data={"email": email, "password": password, "_csrf_token": client.cookies.get("kt_csrf")},
        headers=headers,
        follow_redirects=False,
    )


async def test_wrong_passwords_from_one_address_leave_the_owner_elsewhere_alone(
    database_url: str, tmp_path: Path
) -> None:
    """A real server behind a trusted proxy: the attacker and the owner come from two addresses."""
    server = LiveServer(
        database_url,
        tmp_path,
        extra_env={"TRUSTED_PROXIES": "127.0.0.1", "RUN_JOBS_IN_PROCESS": "false"},
    )
    with running(server):
        async with (
            httpx.AsyncClient(base_url=server.url) as attacker,
            httpx.AsyncClient(base_url=server.url) as owner,
        ):
            for _ in range(5):
                wrong = await web_login(attacker, PI_CASEMANAGER, "geraden", ATTACKER)
                assert wrong.status_code == 400

            # the rightful owner, from their own address, is not locked out
            mine = await web_login(owner, PI_CASEMANAGER, "demo-wachtwoord", OWNER)
            assert mine.status_code == 303
            own_token = await owner.post(
                "/api/v1/auth/token",
                json={"email": PI_CASEMANAGER, "password": "demo-wachtwoord"},
                headers={"X-Forwarded-For": OWNER},
            )
            assert own_token.status_code == 200
            assert set(own_token.json()) >= {"token"}

            # the guessing address waits, even with the right password, on the web and the API
            blocked = await web_login(attacker, PI_CASEMANAGER, "demo-wachtwoord", ATTACKER)
            assert blocked.status_code == 429
            assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert "Te veel mislukte inlogpogingen vanaf dit adres" in blocked.text
            assert "Wachtwoord vergeten?" in blocked.text
            token = await attacker.post(
                "/api/v1/auth/token",
                json={"email": PI_CASEMANAGER, "password": "demo-wachtwoord"},
                headers={"X-Forwarded-For": ATTACKER},
            )
            assert token.status_code == 429
            assert token.headers["retry-after"].isdigit()
            assert token.json()["detail"].startswith("Te veel mislukte inlogpogingen")


async def test_waits_grow_with_every_further_failure_and_waiting_helps(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from app.accounts.throttle import ThrottleRules

    rules = ThrottleRules(window=dt.timedelta(hours=1))  # nothing is forgotten during this test

    async def attempt(password: str) -> services.LoginResult:
        async with sessions() as s, s.begin():
            return await services.authenticate(
                s, PI_CASEMANAGER, password, ATTACKER, demo_allowed=True, rules=rules
            )

    async def time_passes(seconds: int) -> None:
        async with sessions() as s, s.begin():
            for row in (await s.scalars(select(LoginAttempt))).all():
                row.at -= dt.timedelta(seconds=seconds)

    for _ in range(5):
        assert (await attempt("geraden")).error == services.BAD_CREDENTIALS
    waits = []
    for _ in range(3):
        refused = await attempt("demo-wachtwoord")
        assert refused.user is None
        assert refused.retry_after is not None
        waits.append(refused.retry_after)
        await time_passes(refused.retry_after + 1)
        assert (await attempt("geraden")).error == services.BAD_CREDENTIALS
    assert [round(w / 60) for w in waits] == [1, 2, 4]
    # attempts while waiting are refused without being counted: waiting it out always helps
    refused = await attempt("demo-wachtwoord")
    assert refused.retry_after is not None
    assert round(refused.retry_after / 60) == 8
    for _ in range(3):
        assert (await attempt("geraden")).retry_after is not None
    await time_passes(8 * 60 + 1)
    assert (await attempt("demo-wachtwoord")).user is not None
    # never longer than the window, however many failures
    assert rules.wait_after(500, 5) == rules.window
    async with sessions() as s:
        stored = (await s.scalars(select(LoginAttempt.email_hash))).all()
    assert PI_CASEMANAGER not in "".join(stored)


async def test_one_address_trying_many_accounts_waits_for_every_account(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, login_max_failures_per_address=6)
    async with AsyncTestClient(create_app(settings), base_url="http://testserver.local") as client:
        for n in range(6):
            wrong = await web_login(client, f"iemand{n}@nergens.example", "geraden")
            assert wrong.status_code == 400
        blocked = await web_login(client, COORDINATOR_FRL, "demo-wachtwoord")
        assert blocked.status_code == 429
        assert blocked.headers["retry-after"].isdigit()
        token = await client.post(
            "/api/v1/auth/token", json={"email": PI_CASEMANAGER, "password": "demo-wachtwoord"}
        )
        assert token.status_code == 429


async def test_a_password_reset_lets_the_owner_in_at_an_address_that_was_slowed(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    for _ in range(5):
        await web_login(client, PI_CASEMANAGER, "geraden")
    assert (await web_login(client, PI_CASEMANAGER, "demo-wachtwoord")).status_code == 429
    await ask_for_link(client, PI_CASEMANAGER)
    await wait_for_mails(sessions, 1)
    path = await delivered_link(sessions, settings, PI_CASEMANAGER)
    (done, _form) = await set_password(client, path, "mijn nieuwe lange wachtwoordzin")
    assert done.status_code == 303
    assert (await client.get("/mijn-werk")).status_code == 200  # logged in by the reset
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    await login(client, PI_CASEMANAGER, "mijn nieuwe lange wachtwoordzin")
