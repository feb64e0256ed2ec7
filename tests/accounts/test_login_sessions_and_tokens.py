"""Login, logout, sessions, CSRF, throttling and bearer tokens."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import UserSession
from app.main import create_app
from app.settings import Settings
from tests.conftest import (
    COORDINATOR_FRL,
    PI_CASEMANAGER,
    api_token,
    csrf_of,
    login,
    settings_for,
)


async def _post_login(client: AsyncTestClient[Litestar], email: str, password: str) -> object:
    await client.get("/inloggen")
    return await client.post(
        "/inloggen",
        data={"email": email, "password": password, "_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


async def test_login_page_is_dutch_and_accessible(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/inloggen")
    assert page.status_code == 200
    assert '<html lang="nl">' in page.text
    assert '<label for="veld-email">E-mailadres' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert 'href="#inhoud"' in page.text  # skip link


async def test_successful_login_sets_a_safe_session_cookie(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await _post_login(client, COORDINATOR_FRL, "demo-wachtwoord")
    assert response.status_code == 303  # type: ignore[attr-defined]
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("kt_sessie="))  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie


async def test_wrong_password_and_unknown_account_get_the_same_message(
    client: AsyncTestClient[Litestar],
) -> None:
    wrong = await _post_login(client, COORDINATOR_FRL, "fout-wachtwoord")
    unknown = await _post_login(client, "niemand@nergens.example", "fout-wachtwoord")
    assert wrong.status_code == unknown.status_code == 400  # type: ignore[attr-defined]
    for response in (wrong, unknown):
        assert "Het e-mailadres of het wachtwoord klopt niet." in response.text  # type: ignore[attr-defined]
    assert "kt_sessie" not in client.cookies


async def test_login_is_throttled_after_repeated_failures_even_with_the_right_password(
    client: AsyncTestClient[Litestar],
) -> None:
    for _ in range(5):
        await _post_login(client, PI_CASEMANAGER, "fout")
    blocked = await _post_login(client, PI_CASEMANAGER, "demo-wachtwoord")
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert "Te veel mislukte inlogpogingen" in blocked.text  # type: ignore[attr-defined]
    assert "kt_sessie" not in client.cookies
    # the same message for an account that does not exist: no enumeration
    for _ in range(5):
        await _post_login(client, "bestaat-niet@nergens.example", "fout")
    other = await _post_login(client, "bestaat-niet@nergens.example", "fout")
    assert other.status_code == 429  # type: ignore[attr-defined]
    # other accounts are not affected
    assert (await _post_login(client, COORDINATOR_FRL, "demo-wachtwoord")).status_code == 303  # type: ignore[attr-defined]


async def test_api_token_endpoint_is_throttled_too(client: AsyncTestClient[Litestar]) -> None:
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/token", json={"email": PI_CASEMANAGER, "password": "fout"}
        )
        assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/token", json={"email": PI_CASEMANAGER, "password": "demo-wachtwoord"}
    )
    assert r.status_code == 429
    assert "Te veel" in r.json()["detail"]


async def test_forms_without_csrf_token_are_refused(client: AsyncTestClient[Litestar]) -> None:
    await client.get("/inloggen")
    response = await client.post(
        "/inloggen",
        data={"email": COORDINATOR_FRL, "password": "demo-wachtwoord"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "Verzoek geweigerd" in response.text
    await login(client, COORDINATOR_FRL)
    logout = await client.post("/uitloggen", data={}, follow_redirects=False)
    assert logout.status_code == 403
    assert (await client.get("/casussen")).status_code == 200  # still logged in


async def test_login_gives_a_new_session_id_and_ends_the_old_one(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await login(client, COORDINATOR_FRL)
    first = client.cookies.get("kt_sessie")
    await login(client, PI_CASEMANAGER)
    second = client.cookies.get("kt_sessie")
    assert first
    assert second
    assert first != second
    async with sessions() as s:
        rows = (await s.scalars(select(UserSession).order_by(UserSession.id))).all()
    assert rows[0].ended_at is not None
    assert rows[1].ended_at is None
    client.cookies.set("kt_sessie", first)
    response = await client.get("/casussen", follow_redirects=False)
    assert response.status_code == 303  # the old session no longer works


async def test_logout_invalidates_the_session_on_the_server(
    client: AsyncTestClient[Litestar],
) -> None:
    await login(client, COORDINATOR_FRL)
    stolen = client.cookies.get("kt_sessie")
    response = await client.post(
        "/uitloggen", data={"_csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/inloggen?uitgelogd=1"
    client.cookies.set("kt_sessie", stolen or "")
    assert (await client.get("/casussen", follow_redirects=False)).status_code == 303
    page = await client.get("/inloggen?uitgelogd=1")
    assert "U bent uitgelogd." in page.text


async def test_a_forged_session_cookie_is_ignored(client: AsyncTestClient[Litestar]) -> None:
    client.cookies.set("kt_sessie", "verzonnen.handtekening")
    assert (await client.get("/casussen", follow_redirects=False)).status_code == 303


async def test_login_redirects_to_the_requested_local_page_only(
    client: AsyncTestClient[Litestar],
) -> None:
    await client.get("/inloggen")
    ok = await client.post(
        "/inloggen",
        data={
            "email": COORDINATOR_FRL,
            "password": "demo-wachtwoord",
            "volgende": "/casussen",
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert ok.headers["location"] == "/casussen"
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    await client.get("/inloggen")
    evil = await client.post(
        "/inloggen",
        data={
            "email": COORDINATOR_FRL,
            "password": "demo-wachtwoord",
            "volgende": "//evil.example/",
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert evil.headers["location"] == "/overleggen"


async def test_api_token_and_me(client: AsyncTestClient[Litestar]) -> None:
    headers = await api_token(client, COORDINATOR_FRL)
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == COORDINATOR_FRL
    assert body["roles"] == ["coordinator"]
    assert body["organisation"]["name"] == "Zorg- en Veiligheidshuis Fryslân"
    assert body["calendar_url"].startswith("http://testserver.local/calendar/")
    assert body["calendar_url"].endswith(".ics")
    # stable across calls
    assert (await client.get("/api/v1/me", headers=headers)).json()["calendar_url"] == body[
        "calendar_url"
    ]
    bad = await client.post(
        "/api/v1/auth/token", json={"email": COORDINATOR_FRL, "password": "fout"}
    )
    assert bad.status_code == 401
    assert bad.json()["detail"] == "Het e-mailadres of het wachtwoord klopt niet."
    malformed = await client.post("/api/v1/auth/token", json={"email": 12})
    assert malformed.status_code == 400
    assert malformed.json()["errors"]


async def test_demo_accounts_are_refused_in_production(database_url: str, tmp_path: object) -> None:
    from pathlib import Path

    settings: Settings = settings_for(database_url, Path(str(tmp_path)), app_env="production")
    async with AsyncTestClient(create_app(settings), base_url="http://testserver.local") as client:
        await client.get("/inloggen")
        response = await client.post(
            "/inloggen",
            data={
                "email": COORDINATOR_FRL,
                "password": "demo-wachtwoord",
                "_csrf_token": csrf_of(client),
            },
            follow_redirects=False,
        )
        assert response.status_code == 400
        token = await client.post(
            "/api/v1/auth/token", json={"email": COORDINATOR_FRL, "password": "demo-wachtwoord"}
        )
        assert token.status_code == 401


async def test_password_change_checks_the_current_password_and_strength(
    client: AsyncTestClient[Litestar],
) -> None:
    await login(client, PI_CASEMANAGER)
    csrf = csrf_of(client)
    wrong = await client.post(
        "/profiel/wachtwoord",
        data={"huidig": "fout", "nieuw": "x" * 14, "herhaling": "x" * 14, "_csrf_token": csrf},
    )
    assert wrong.status_code == 400
    assert "Uw huidige wachtwoord klopt niet." in wrong.text
    short = await client.post(
        "/profiel/wachtwoord",
        data={
            "huidig": "demo-wachtwoord",
            "nieuw": "kort",
            "herhaling": "kort",
            "_csrf_token": csrf,
        },
    )
    assert "minstens 12 tekens" in short.text
    ok = await client.post(
        "/profiel/wachtwoord",
        data={
            "huidig": "demo-wachtwoord",
            "nieuw": "een lange zin als wachtwoord",
            "herhaling": "een lange zin als wachtwoord",
            "_csrf_token": csrf,
        },
    )
    assert ok.status_code == 200
    assert "Uw wachtwoord is gewijzigd." in ok.text
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    await login(client, PI_CASEMANAGER, "een lange zin als wachtwoord")
