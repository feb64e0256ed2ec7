"""Outgoing e-mail through a transactional outbox: queued in the caller's transaction, delivered by a job.

Delivery uses SMTP (aiosmtplib) when SMTP_HOST is set, otherwise writes `.eml` files to OUTBOX_DIR.
A message is delivered once: its `dedupe_key` is unique and a delivered row is never sent again,
also when the worker restarts. Before a message is handed to SMTP it is claimed in its own commit
(status `sending`, a conditional UPDATE, so two workers never both take it). A worker that dies
mid-delivery leaves the claim behind; after MAIL_CLAIM_LEASE_SECONDS another run takes it over and
sends it again with the same Message-ID. The SMTP server takes responsibility for a message only
with its final 250 reply, so the retry duplicates nothing it accepted, except in the one moment
between that reply and our commit, where the stable Message-ID lets mail programs fold the two.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from app.db import Base, utcnow
from app.logs import get_logger
from app.settings import Settings

log = get_logger("app.mail")
MAX_ATTEMPTS = 8
# Messages whose body carries a one-time secret (a password-reset link): once delivered, the body
# is blanked, so the outbox table never holds a working link longer than needed.
SECRET_BEARING_KINDS = frozenset({"password_reset"})


class OutboundMessage(Base):
    """One e-mail to one recipient; carries no personal data beyond a case reference and a link."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    ics: Mapped[str] = mapped_column(Text, default="")
    ics_method: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(
        String(12), default="pending"
    )  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


async def queue(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    ics: str = "",
    ics_method: str = "",
) -> OutboundMessage | None:
    """Queue a message in the caller's transaction; None if one with this key was already queued."""
    existing = await session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return None
    message = OutboundMessage(
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        ics=ics,
        ics_method=ics_method,
    )
    try:
        async with session.begin_nested():
            session.add(message)
    except IntegrityError:  # a concurrent transaction queued the same key first
        return None
    return message


def build_email(settings: Settings, message: OutboundMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    # Stable per message: a message sent again after a crash carries the same id.
    email["Message-ID"] = f"<{message.created_at:%Y%m%d%H%M%S}.{message.id}@ketentafel>"
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    if message.ics:
        method = message.ics_method or "REQUEST"
        # RFC 6047: the calendar part inline (text/calendar; method=…) so clients offer accept/decline,
        # and the same as an attachment for clients that only show attachments.
        email.add_alternative(message.ics, subtype="calendar", params={"method": method})
        email.add_attachment(
            message.ics.encode(), maintype="application", subtype="ics", filename="uitnodiging.ics"
        )
    return email


async def _send(settings: Settings, email: EmailMessage) -> None:
    import aiosmtplib

    await aiosmtplib.send(
        email,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_user or None,
        password=settings.smtp_password or None,
        start_tls=settings.smtp_starttls,
        timeout=30,
    )


def _write_outbox(outbox: Path, message: OutboundMessage, email: EmailMessage) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{message.created_at:%Y%m%d-%H%M%S}-{message.id:06d}-{message.kind}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(email))
    tmp.replace(path)
    return path


async def deliver_pending(session: AsyncSession, settings: Settings, limit: int = 200) -> int:
    """Deliver queued messages: each is claimed in a commit of its own, then sent, then marked."""
    now = utcnow()
    stale = now - dt.timedelta(seconds=settings.mail_claim_lease_seconds)
    rows = (
        await session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.attempts < MAX_ATTEMPTS,
                (OutboundMessage.status == "pending")
                | ((OutboundMessage.status == "sending") & (OutboundMessage.claimed_at < stale)),
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    ).all()
    sent = 0
    for message in rows:
        if not await _claim(session, message):
            continue  # another worker took it meanwhile
        email = build_email(settings, message)
        try:
            if settings.smtp_host:
                await _send(settings, email)
            else:
                _write_outbox(settings.outbox_dir, message, email)
            message.status = "sent"
            message.sent_at = utcnow()
            if message.kind in SECRET_BEARING_KINDS:
                message.body_text = message.body_html = ""
            sent += 1
        except Exception as exc:  # network, refused recipient: retried later
            message.last_error = type(exc).__name__
            message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "pending"
            log.warning("mail.delivery_failed", message_id=message.id, error=type(exc).__name__)
        await session.commit()
    return sent


async def _claim(session: AsyncSession, message: OutboundMessage) -> bool:
    """Take a message for delivery; false when another worker changed it since we read it."""
    claimed = await session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id == message.id,
            OutboundMessage.status == message.status,
            OutboundMessage.attempts == message.attempts,
        )
        .values(status="sending", claimed_at=utcnow(), attempts=OutboundMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    # what the UPDATE wrote, without reading the row back
    set_committed_value(message, "status", "sending")
    set_committed_value(message, "attempts", message.attempts + 1)
    return True


_env = None


def render(template: str, **context: object) -> tuple[str, str]:
    """Plain text and HTML of `templates/mail/<name>.txt|.html` (Dutch, no personal data by design)."""
    global _env
    if _env is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        from app.settings import ROOT
        from app.web import fmt_date, fmt_datetime, fmt_long_date, fmt_time

        _env = Environment(
            loader=FileSystemLoader(str(ROOT / "templates" / "mail")),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _env.filters.update(
            date=fmt_date, datetime=fmt_datetime, long_date=fmt_long_date, time=fmt_time
        )
    text = _env.get_template(f"{template}.txt").render(**context)
    html = _env.get_template(f"{template}.html").render(**context)
    return text, html


async def deliver_mail_job(ctx: dict[str, Any]) -> int:
    """Deliver what is waiting in the outbox."""
    async with ctx["session_factory"]() as session:
        return await deliver_pending(session, ctx["settings"])
