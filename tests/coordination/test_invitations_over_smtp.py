"""Invitations reach a real SMTP server as iTIP e-mails (RFC 6047): Dutch text and HTML, the
calendar part inline with its METHOD and as an .ics attachment; each message once."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.coordination.invitations import send_invitations_job
from app.mail import OutboundMessage, deliver_mail_job
from app.meetings.services import ensure_meetings
from app.settings import Settings


class Inbox:
    """An SMTP server's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_invitations_arrive_over_smtp_as_itip_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    via_smtp = dataclasses.replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False
    )
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
    ctx: dict[str, Any] = {"session_factory": sessions, "settings": via_smtp}
    queued = await send_invitations_job(ctx)
    assert queued > 0
    delivered = await deliver_mail_job(ctx)
    await deliver_mail_job(ctx)  # a second round sends nothing again
    assert delivered == queued
    assert len(inbox.messages) == queued
    message = next(m for m in inbox.messages if m["To"] == "casemanager@reclassering.example")
    assert message["Subject"].startswith("Uitnodiging: ")
    types = [part.get_content_type() for part in message.walk()]
    assert {"text/plain", "text/html", "text/calendar", "application/ics"} <= set(types)
    calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    cal = Calendar.from_ical(calendar_part.get_content())
    assert str(cal["METHOD"]) == "REQUEST"
    event = next(iter(cal.walk("VEVENT")))
    assert str(event["ATTENDEE"]) == "mailto:casemanager@reclassering.example"
    assert "U bent uitgenodigd voor" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    async with sessions() as s:
        statuses = set(
            (
                await s.scalars(
                    select(OutboundMessage.status).where(OutboundMessage.kind == "invitation")
                )
            ).all()
        )
    assert statuses == {"sent"}
