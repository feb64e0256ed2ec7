"""Password reset by e-mail: the same answer for any address, a single-use short-lived link stored
as a hash, the usual password rules, and every session and token of the account ended."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import models
from app.accounts.models import User
from app.audit import AuditEvent
from app.db import utcnow
from app.mail import OutboundMessage, deliver_mail_job
from app.main import create_app
from app.settings import Settings
from tests.conftest import (
    COORDINATOR_FRL,
    PI_CASEMANAGER,
    RECLASSERING,
    api_token,
    csrf_of,
    login,
    settings_for,
)
from tests.coordination.test_invitations_over_smtp import Inbox, smtp  # noqa: F401 - the SMTP server fixture

NEW_PASSWORD = "een nieuwe lange zin als wachtwoord"
SENT = "Als er een account bij dit e-mailadres hoort, ontvangt u binnen enkele minuten een e-mail"


async def ask_for_link(client: AsyncTestClient[Litestar], address: str) -> Any:
    await client.get("/wachtwoord-vergeten")
    return await client.post(
        "/wachtwoord-vergeten", data={"email": address, "_csrf_token": csrf_of(client)}
    )


async def reset_mails(sessions: async_sessionmaker[AsyncSession]) -> list[OutboundMessage]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(OutboundMessage)
                    .where(OutboundMessage.kind == "password_reset")
                    .order_by(OutboundMessage.id)
                )
            ).all()
        )


async def wait_for_mails(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """The link is made after the answer went out; give that work a moment to commit."""
    for _ in range(100):
        if len(await reset_mails(sessions)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} reset e-mails in the outbox")


async def delivered_link(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, recipient: str
) -> str:
    """Deliver the outbox to .eml files, as without SMTP, and read the newest link for `recipient`."""
    await deliver_mail_job({"session_factory": sessions, "settings": settings})
    files = sorted(settings.outbox_dir.glob("*-password_reset.eml"))
    links = []
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if message["To"] == recipient:
            body = message.get_body(("plain",))
            assert body is not None
            links += re.findall(
                r"http://testserver\.local/wachtwoord-herstellen/\S+", body.get_content()
            )
    assert links, "no reset e-mail delivered"
    return urlparse(links[-1]).path


async def set_password(
    client: AsyncTestClient[Litestar], path: str, new: str, repeat: str | None = None
) -> Any:
    form = await client.get(path)
    return await client.post(
        path,
        data={
            "nieuw": new,
            "herhaling": new if repeat is None else repeat,
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    ), form


async def test_login_page_offers_a_reset_with_an_accessible_form(
    client: AsyncTestClient[Litestar],
) -> None:
    login_page = await client.get("/inloggen")
    assert '<a href="/wachtwoord-vergeten">Wachtwoord vergeten?</a>' in login_page.text
    page = await client.get("/wachtwoord-vergeten")
    assert page.status_code == 200
    assert '<label for="veld-email">E-mailadres' in page.text
    empty = await client.post(
        "/wachtwoord-vergeten", data={"email": "", "_csrf_token": csrf_of(client)}
    )
    assert empty.status_code == 400
    assert (
        '<span class="kt-error-text" id="veld-email-fout">Vul uw e-mailadres in.</span>'
        in empty.text
    )
    assert 'aria-describedby="veld-email-fout"' in empty.text


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session_and_token(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await login(client, PI_CASEMANAGER)
    stolen_session = client.cookies.get("kt_sessie") or ""
    stolen_token = await api_token(client, PI_CASEMANAGER)
    client.cookies.clear()

    answer = await ask_for_link(client, PI_CASEMANAGER)
    assert answer.status_code == 200
    assert SENT in answer.text
    await wait_for_mails(sessions, 1)
    path = await delivered_link(sessions, settings, PI_CASEMANAGER)
    secret = path.rsplit("/", 1)[1]
    async with sessions() as s:
        row = (await s.scalars(select(models.PasswordReset))).one()
        user = await s.get(User, row.user_id)
    mail = (await reset_mails(sessions))[0]
    assert user is not None
    assert user.email == PI_CASEMANAGER
    assert secret not in row.token_hash  # only a hash is kept
    assert 25 <= (row.expires_at - row.created_at).total_seconds() / 60 <= 30
    assert secret not in mail.body_text + mail.body_html  # blanked once delivered
    assert mail.status == "sent"

    # the form enforces the password rules, with the message at its field
    (too_short, form) = await set_password(client, path, "kort")
    assert form.status_code == 200
    assert '<label for="veld-nieuw">Nieuw wachtwoord' in form.text
    assert too_short.status_code == 400
    assert 'id="veld-nieuw-fout">Kies een wachtwoord van minstens 12 tekens.' in too_short.text
    (different, _form) = await set_password(client, path, NEW_PASSWORD, "iets anders dan dat")
    assert (
        'id="veld-herhaling-fout">De twee nieuwe wachtwoorden zijn niet gelijk.' in different.text
    )

    (done, _form) = await set_password(client, path, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/profiel?wachtwoord=hersteld"
    profile = await client.get(done.headers["location"])
    assert "Uw nieuwe wachtwoord is ingesteld en u bent ingelogd." in profile.text

    # single use
    client.cookies.clear()
    again = await client.get(path)
    assert again.status_code == 400
    assert "Deze link werkt niet (meer)" in again.text
    (reuse, _form) = await set_password(client, path, "nog een ander lang wachtwoord")
    assert reuse.status_code == 400

    # every earlier way in has ended; the new password works, the old one not
    client.cookies.set("kt_sessie", stolen_session)
    assert (await client.get("/casussen", follow_redirects=False)).status_code == 303
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers=stolen_token)).status_code == 401
    old = await client.post(
        "/api/v1/auth/token", json={"email": PI_CASEMANAGER, "password": "demo-wachtwoord"}
    )
    assert old.status_code == 401
    await login(client, PI_CASEMANAGER, NEW_PASSWORD)

    # audited, without the address or the password
    async with sessions() as s:
        events = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action.like("account.password_reset%"))
            )
        ).all()
    assert sorted(e.action for e in events) == [
        "account.password_reset",
        "account.password_reset_requested",
    ]
    for event in events:
        assert event.object_id == user.id
        assert PI_CASEMANAGER not in f"{event.actor} {event.fields}"
        assert NEW_PASSWORD not in str(event.fields)


async def test_unknown_and_known_addresses_get_the_same_answer(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    known = await ask_for_link(client, COORDINATOR_FRL)
    unknown = await ask_for_link(client, "niemand@nergens.example")
    assert known.status_code == unknown.status_code == 200

    def answer(text: str) -> str:
        return re.sub(r'value="[^"]*"', "", text[text.index("<main") :])

    assert answer(known.text) == answer(unknown.text)
    await wait_for_mails(sessions, 1)
    await asyncio.sleep(0.3)  # the unknown address's background work has had its chance too
    mails = await reset_mails(sessions)
    assert [m.recipient for m in mails] == [COORDINATOR_FRL]
    async with sessions() as s:
        requested = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action == "account.password_reset_requested")
            )
        ).all()
    assert sorted(e.object_id is None for e in requested) == [False, True]


async def test_a_link_expires_and_only_the_newest_works(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await ask_for_link(client, PI_CASEMANAGER)
    await wait_for_mails(sessions, 1)
    first = await delivered_link(sessions, settings, PI_CASEMANAGER)
    await ask_for_link(client, PI_CASEMANAGER)
    await wait_for_mails(sessions, 2)
    second = await delivered_link(sessions, settings, PI_CASEMANAGER)
    assert first != second
    assert (await client.get(first)).status_code == 400  # replaced by the newer one
    assert (await client.get(second)).status_code == 200
    # thirty minutes later
    async with sessions() as s, s.begin():
        await s.execute(update(models.PasswordReset).values(expires_at=utcnow()))
    expired = await client.get(second)
    assert expired.status_code == 400
    assert '<a href="/wachtwoord-vergeten">Vraag een nieuwe link aan</a>' in expired.text
    (refused, _form) = await set_password(client, second, NEW_PASSWORD)
    assert refused.status_code == 400
    await login(client, PI_CASEMANAGER)  # the password did not change


async def test_requests_are_limited_per_address_and_mails_per_account(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        database_url,
        tmp_path,
        password_reset_requests_per_hour=4,
        password_reset_mails_per_hour=2,
        password_reset_minutes=10,
    )
    from app.db import create_engine, session_factory

    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with AsyncTestClient(
            create_app(settings), base_url="http://testserver.local"
        ) as client:
            statuses = [(await ask_for_link(client, PI_CASEMANAGER)).status_code for _ in range(3)]
            assert statuses == [200, 200, 200]
            fourth = await ask_for_link(client, "niemand@nergens.example")
            assert fourth.status_code == 200
            fifth = await ask_for_link(client, COORDINATOR_FRL)
            assert fifth.status_code == 429
            assert fifth.headers["retry-after"] == "3600"
            assert "te vaak een nieuw wachtwoord aangevraagd" in fifth.text
            await wait_for_mails(sessions, 2)
            await asyncio.sleep(0.3)
        mails = await reset_mails(sessions)
        assert [m.recipient for m in mails] == [PI_CASEMANAGER, PI_CASEMANAGER]
        async with sessions() as s:
            row = (
                await s.scalars(select(models.PasswordReset).order_by(models.PasswordReset.id))
            ).first()
        assert row is not None
        assert round((row.expires_at - row.created_at).total_seconds() / 60) == 10
    finally:
        await engine.dispose()


async def test_demo_accounts_get_no_reset_in_production(database_url: str, tmp_path: Path) -> None:
    from app.db import create_engine, session_factory

    settings = settings_for(database_url, tmp_path, app_env="production")
    engine = create_engine(database_url)
    try:
        async with AsyncTestClient(
            create_app(settings), base_url="http://testserver.local"
        ) as client:
            answer = await ask_for_link(client, COORDINATOR_FRL)
            assert answer.status_code == 200
            assert SENT in answer.text
            await asyncio.sleep(0.3)
        assert await reset_mails(session_factory(engine)) == []
    finally:
        await engine.dispose()


async def test_the_reset_mail_reaches_a_real_smtp_server_without_personal_data(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    await ask_for_link(client, RECLASSERING)
    await wait_for_mails(sessions, 1)
    via_smtp = dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    assert await deliver_mail_job({"session_factory": sessions, "settings": via_smtp}) == 1
    (message,) = inbox.messages
    assert message["To"] == RECLASSERING
    assert message["Subject"] == "Nieuw wachtwoord instellen voor Ketentafel"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    link = re.search(r"http://testserver\.local(/wachtwoord-herstellen/\S+)", text.get_content())
    assert link
    assert link.group(1) in html.get_content()
    assert "30 minuten" in text.get_content()
    async with sessions() as s:
        user = (await s.scalars(select(User).where(User.email == RECLASSERING))).unique().one()
    for part in (text.get_content(), html.get_content()):
        assert user.name not in part
        assert user.name.split()[-1] not in part  # not even the surname
    assert (await client.get(link.group(1))).status_code == 200
