"""Messages about meetings to their participants (queued in the outbox; no personal data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.accounts.models import User
from app.accounts.preferences import wants
from app.meetings.agenda import items_of
from app.meetings.models import Meeting, SeriesMember
from app.meetings.services import AMSTERDAM
from app.reference.models import Region
from app.settings import Settings


async def participants(session: AsyncSession, meeting: Meeting) -> list[User]:
    return list(
        (
            await session.scalars(
                select(User)
                .join(SeriesMember, SeriesMember.user_id == User.id)
                .where(SeriesMember.series_id == meeting.series_id, User.active.is_(True))
                .order_by(User.id)
            )
        )
        .unique()
        .all()
    )


async def agenda_published(session: AsyncSession, meeting: Meeting, settings: Settings) -> int:
    """Tell every participant the agenda is out (once per publication)."""
    items = await items_of(session, meeting)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.reason_label] = counts.get(item.reason_label, 0) + 1
    region = await session.get(Region, meeting.series.region_id)
    stamp = meeting.agenda_published_at.isoformat() if meeting.agenda_published_at else ""
    first = not await session.scalar(
        select(mail.OutboundMessage.id)
        .where(mail.OutboundMessage.dedupe_key.like(f"agenda-published:{meeting.id}:%"))
        .limit(1)
    )
    queued = 0
    for user in await participants(session, meeting):
        if not wants(user, "agenda_published"):
            continue
        text, html = mail.render(
            "agenda_published",
            name=user.name,
            series=meeting.series.name,
            starts_at=meeting.starts_at,
            total=len(items),
            counts=counts,
            location=meeting.location,
            online_url=meeting.online_url,
            link=f"{settings.base_url}/overleggen/{meeting.id}",
            zvh=region.zvh_name if region else "",
            update=not first,
        )
        message = await mail.queue(
            session,
            kind="agenda_published",
            dedupe_key=f"agenda-published:{meeting.id}:{stamp}:{user.id}",
            recipient=user.email,
            subject=f"Agenda {meeting.series.name} – {meeting.starts_at.astimezone(AMSTERDAM):%d-%m-%Y}",
            body_text=text,
            body_html=html,
        )
        queued += 1 if message else 0
    return queued
