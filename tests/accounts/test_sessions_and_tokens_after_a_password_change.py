"""A password change, a password reset or a deactivation ends every other way in; users see and
revoke their own API tokens; long-lived connections can ask whether their credential still holds."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import passwords, tokens
from app.accounts.models import ApiToken, User, UserSession
from app.audit import AuditEvent
from app.db import utcnow
from tests.conftest import BEHEERDER, COORDINATOR_FRL, PI_CASEMANAGER, api_token, csrf_of, login

NEW_PASSWORD = "een lange zin als nieuw wachtwoord"


async def session_cookie_of(client: AsyncTestClient[Litestar], email: str) -> str:
    """Log in as if from a browser of its own; the client is left without cookies."""
    client.cookies.clear()
    await login(client, email)
    cookie = client.cookies.get("kt_sessie") or ""
    client.cookies.clear()
    return cookie


async def works(client: AsyncTestClient[Litestar], cookie: str) -> bool:
    client.cookies.set("kt_sessie", cookie)
    response = await client.get("/casussen", follow_redirects=False)
    client.cookies.delete("kt_sessie")
    return response.status_code == 200


async def change_password_in(client: AsyncTestClient[Litestar], cookie: str) -> Any:
    """Change the password from the browser session `cookie` (which stays on the client)."""
    client.cookies.set("kt_sessie", cookie)
    await client.get("/profiel")
    return await client.post(
        "/profiel/wachtwoord",
        data={
            "huidig": "demo-wachtwoord",
            "nieuw": NEW_PASSWORD,
            "herhaling": NEW_PASSWORD,
            "_csrf_token": csrf_of(client),
        },
    )


async def user_id_of(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as s:
        return (await s.scalars(select(User.id).where(User.email == email))).one()


async def test_a_password_change_ends_every_other_session_and_every_api_token(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    laptop = await session_cookie_of(client, PI_CASEMANAGER)
    phone = await session_cookie_of(client, PI_CASEMANAGER)
    first_token = await api_token(client, PI_CASEMANAGER)
    second_token = await api_token(client, PI_CASEMANAGER)
    other_user = await session_cookie_of(client, COORDINATOR_FRL)
    other_token = await api_token(client, COORDINATOR_FRL)
    assert await works(client, phone)
    assert (await client.get("/api/v1/me", headers=first_token)).status_code == 200

    changed = await change_password_in(client, laptop)
    assert changed.status_code == 200
    assert (await client.get("/casussen")).status_code == 200  # the session that changed it stays
    client.cookies.delete("kt_sessie")

    assert not await works(client, phone)
    for headers in (first_token, second_token):
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert "Uw andere sessies en API-tokens zijn beëindigd." in changed.text
    # someone else's ways in are untouched
    assert await works(client, other_user)
    assert (await client.get("/api/v1/me", headers=other_token)).status_code == 200
    # a new token with the new password works
    fresh = await api_token(client, PI_CASEMANAGER, NEW_PASSWORD)
    assert (await client.get("/api/v1/me", headers=fresh)).status_code == 200
    async with sessions() as s:
        event = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action == "account.password_changed")
            )
        ).one()
    assert event.object_id == await user_id_of(sessions, PI_CASEMANAGER)
    assert NEW_PASSWORD not in str(event.fields)


async def test_a_wrong_current_password_is_shown_at_its_field_and_throttled_like_a_login(
    client: AsyncTestClient[Litestar],
) -> None:
    await login(client, PI_CASEMANAGER)
    statuses = []
    for _ in range(6):
        response = await client.post(
            "/profiel/wachtwoord",
            data={
                "huidig": "geraden",
                "nieuw": NEW_PASSWORD,
                "herhaling": NEW_PASSWORD,
                "_csrf_token": csrf_of(client),
            },
        )
        statuses.append(response.status_code)
    assert statuses == [400] * 5 + [429]
    assert response.headers["retry-after"].isdigit()
    assert 'id="veld-huidig-fout"' in response.text
    assert "Te veel mislukte inlogpogingen" in response.text
    # even the right password must wait now
    right = await client.post(
        "/profiel/wachtwoord",
        data={
            "huidig": "demo-wachtwoord",
            "nieuw": NEW_PASSWORD,
            "herhaling": NEW_PASSWORD,
            "_csrf_token": csrf_of(client),
        },
    )
    assert right.status_code == 429


async def test_deactivation_ends_sessions_and_tokens_also_after_reactivation(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    pi = await session_cookie_of(client, PI_CASEMANAGER)
    token = await api_token(client, PI_CASEMANAGER)
    async with sessions() as s:
        user = (await s.scalars(select(User).where(User.email == PI_CASEMANAGER))).unique().one()
    await login(client, BEHEERDER)
    form = {
        "name": user.name,
        "organisation_id": str(user.organisation_id),
        "roles": ["casemanager_pi"],
        "_csrf_token": csrf_of(client),
    }
    assert (await client.post(f"/beheer/gebruikers/{user.id}", data=form)).status_code == 200
    reactivated = await client.post(f"/beheer/gebruikers/{user.id}", data={**form, "active": "1"})
    assert reactivated.status_code == 200
    client.cookies.clear()
    assert not await works(client, pi)
    assert (await client.get("/api/v1/me", headers=token)).status_code == 401
    # the reactivated owner logs in afresh
    await login(client, PI_CASEMANAGER)


async def test_users_see_their_own_tokens_without_values_and_revoke_them(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    kept = await api_token(client, PI_CASEMANAGER)
    revoked = await api_token(client, PI_CASEMANAGER)
    foreign = await api_token(client, COORDINATOR_FRL)
    await client.get("/api/v1/me", headers=kept)  # marks it used
    await login(client, PI_CASEMANAGER)
    profile = await client.get("/profiel")
    assert profile.status_code == 200
    section = profile.text[profile.text.index('id="tokens"') :]
    assert section.count("API, met e-mailadres en wachtwoord") == 2
    assert section.count('action="/profiel/tokens/') == 3  # two tokens, and "revoke all"
    for headers in (kept, revoked, foreign):
        value = headers["Authorization"].removeprefix("Bearer ")
        assert value not in profile.text
        assert value[:9] not in profile.text  # not even the first characters
    async with sessions() as s:
        rows = {
            row.token_hash: row
            for row in (await s.scalars(select(ApiToken).where(ApiToken.user_id.is_not(None))))
        }
    revoked_row = rows[passwords.sha256(revoked["Authorization"].removeprefix("Bearer "))]
    kept_row = rows[passwords.sha256(kept["Authorization"].removeprefix("Bearer "))]
    foreign_row = rows[passwords.sha256(foreign["Authorization"].removeprefix("Bearer "))]
    assert kept_row.last_used_at is not None
    assert revoked_row.last_used_at is None
    assert re.search(r"nog niet", section)  # the unused one says so

    gone = await client.post(
        f"/profiel/tokens/{revoked_row.id}/intrekken",
        data={"_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert (await client.get("/api/v1/me", headers=revoked)).status_code == 401
    assert (await client.get("/api/v1/me", headers=kept)).status_code == 200
    # someone else's token cannot be revoked from here, and says nothing about existing
    not_mine = await client.post(
        f"/profiel/tokens/{foreign_row.id}/intrekken", data={"_csrf_token": csrf_of(client)}
    )
    assert not_mine.status_code == 404
    assert (await client.get("/api/v1/me", headers=foreign)).status_code == 200
    page = await client.get("/profiel")
    assert page.text[page.text.index('id="tokens"') :].count("API, met e-mailadres") == 1

    everything = await client.post(
        "/profiel/tokens/intrekken", data={"_csrf_token": csrf_of(client)}
    )
    assert "Al uw API-tokens zijn ingetrokken." in everything.text
    assert (await client.get("/api/v1/me", headers=kept)).status_code == 401
    assert (await client.get("/api/v1/me", headers=foreign)).status_code == 200
    async with sessions() as s:
        actions = (
            await s.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("api_token.revoked%"))
            )
        ).all()
    assert sorted(actions) == ["api_token.revoked", "api_token.revoked_all"]


async def test_still_valid_tells_which_connections_may_go_on(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """What the plan socket and the event stream ask, for each way they may have been opened."""
    pi_id = await user_id_of(sessions, PI_CASEMANAGER)
    coordinator_id = await user_id_of(sessions, COORDINATOR_FRL)
    browser = await session_cookie_of(client, PI_CASEMANAGER)
    other_browser = await session_cookie_of(client, PI_CASEMANAGER)
    await api_token(client, PI_CASEMANAGER)
    await session_cookie_of(client, COORDINATOR_FRL)
    async with sessions() as s:
        pi_sessions = (
            await s.scalars(
                select(UserSession.id).where(UserSession.user_id == pi_id).order_by(UserSession.id)
            )
        ).all()
        coordinator_session = (
            await s.scalars(select(UserSession.id).where(UserSession.user_id == coordinator_id))
        ).one()
        pi_token = (await s.scalars(select(ApiToken.id).where(ApiToken.user_id == pi_id))).one()
    opened = utcnow() - dt.timedelta(seconds=1)
    by_browser = tokens.Credential(pi_id, session_id=pi_sessions[0], opened_at=opened)
    by_other_browser = tokens.Credential(pi_id, session_id=pi_sessions[1], opened_at=opened)
    by_token = tokens.Credential(pi_id, token_id=pi_token, opened_at=opened)
    by_ticket = tokens.Credential(pi_id, opened_at=opened)
    coordinator = tokens.Credential(coordinator_id, session_id=coordinator_session)
    everyone = [by_browser, by_other_browser, by_token, by_ticket, coordinator]
    async with sessions() as s:
        assert await tokens.still_valid(s, everyone) == set(everyone)

    # the first browser changes the password: it stays, everything else of the user ends
    changed = await change_password_in(client, browser)
    assert changed.status_code == 200
    async with sessions() as s:
        assert await tokens.still_valid(s, everyone) == {by_browser, coordinator}
        # a ticket opened after the change is fine
        later = tokens.Credential(pi_id, opened_at=utcnow() + dt.timedelta(seconds=1))
        assert await tokens.is_still_valid(s, later)

    # logging out ends the session that remained
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    async with sessions() as s:
        assert not await tokens.is_still_valid(s, by_browser)
        assert await tokens.is_still_valid(s, coordinator)
        # a deactivated user's connections all end
        user = await s.get(User, coordinator_id)
        assert user is not None
        user.active = False
        await s.commit()
        assert not await tokens.is_still_valid(s, coordinator)
    assert not await works(client, other_browser)
