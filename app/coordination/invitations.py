"""Calendar invitations by e-mail (iTIP REQUEST/CANCEL, RFC 5546) for meetings and appointments.

A periodic job reconciles what each participant should have with what was last sent to them
(`Invitation`): a new participant gets a REQUEST, a re-planned meeting or appointment an update with its
higher SEQUENCE, a cancellation (or someone no longer taking part) a CANCEL. Each message goes
through the outbox once (its key holds the SEQUENCE and method), so reruns and restarts send
nothing twice.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.accounts.models import User
from app.cases.models import Case
from app.coordination.calendar_feed import appointment_entry, meeting_entry
from app.coordination.models import Appointment, AppointmentStatus
from app.coordination.recipients import CaseAccess, wants
from app.db import transaction, utcnow
from app.meetings.calendar import CalendarEntry, invitation
from app.meetings.models import Invitation, Meeting, SeriesMember
from app.reference.models import Region
from app.settings import Settings

AHEAD = dt.timedelta(weeks=9)  # a little past the horizon meetings are created for


def _wanted(cancelled: bool) -> str:
    return "CANCEL" if cancelled else "REQUEST"


async def _send(
    session: AsyncSession,
    settings: Settings,
    *,
    subject: str,
    subject_id: int,
    user: User,
    entry: CalendarEntry,
    method: str,
    update: bool,
    sender: str,
    online_url: str,
    now: dt.datetime,
) -> bool:
    organizer_name, organizer_email = parseaddr(settings.mail_from)
    ics = invitation(
        entry,
        method,
        organizer_email=organizer_email or "noreply@ketentafel.example",
        organizer_name=sender or organizer_name or "Ketentafel",
        attendee_email=user.email,
        attendee_name=user.name,
        now=now,
    )
    text, html = mail.render(
        "invitation",
        name=user.name,
        method=method,
        update=update,
        summary=entry.summary,
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        all_day=not isinstance(entry.starts_at, dt.datetime),
        location=entry.location,
        online_url=online_url,
        link=entry.url,
        sender=sender or "Ketentafel",
    )
    prefix = "Geannuleerd" if method == "CANCEL" else "Gewijzigd" if update else "Uitnodiging"
    message = await mail.queue(
        session,
        kind="invitation",
        dedupe_key=f"invite:{subject}:{subject_id}:{user.id}:{entry.sequence}:{method}",
        recipient=user.email,
        subject=f"{prefix}: {entry.summary}",
        body_text=text,
        body_html=html,
        ics=ics,
        ics_method=method,
    )
    return message is not None


async def _reconcile(
    session: AsyncSession,
    settings: Settings,
    subject: str,
    items: list[tuple[int, CalendarEntry, list[User], str, str]],
    now: dt.datetime,
) -> int:
    """Bring what was sent in line with what should be, for meetings or appointments (`subject`).

    items: (id, entry, who should have it, sender name, online link). One pass per item: first a
    CANCEL to whoever had it and no longer takes part, then a REQUEST (new or updated) or CANCEL to
    each participant whose copy is behind; kept whole because both halves read and update the same
    record of what was sent."""
    if not items:
        return 0
    ids = [item[0] for item in items]
    sent_rows = {
        (row.subject_id, row.user_id): row
        for row in (
            await session.scalars(
                select(Invitation).where(
                    Invitation.subject == subject, Invitation.subject_id.in_(ids)
                )
            )
        ).all()
    }
    users_by_id: dict[int, User] = {}
    queued = 0
    for object_id, entry, audience, sender, online in items:
        wanted = _wanted(entry.cancelled)
        targets = {u.id: u for u in audience if wants(u, "invitations")}
        users_by_id.update(targets)
        # people who had it but no longer take part get a cancellation
        gone = [
            uid for (oid, uid), row in sent_rows.items() if oid == object_id and uid not in targets
        ]
        for user_id in gone:
            previous = sent_rows[(object_id, user_id)]
            if previous.method == "CANCEL":
                continue
            user = users_by_id.get(user_id) or await session.get(User, user_id)
            if user is not None and await _send(
                session,
                settings,
                subject=subject,
                subject_id=object_id,
                user=user,
                entry=entry,
                method="CANCEL",
                update=True,
                sender=sender,
                online_url="",
                now=now,
            ):
                queued += 1
            previous.method, previous.sequence, previous.sent_at = "CANCEL", entry.sequence, now
        for user in targets.values():
            row = sent_rows.get((object_id, user.id))
            if row is None and wanted == "CANCEL":
                continue  # never invited, nothing to cancel
            if row is not None and (row.method, row.sequence) == (wanted, entry.sequence):
                continue
            if row is not None and row.method == "CANCEL" and wanted == "CANCEL":
                continue
            if await _send(
                session,
                settings,
                subject=subject,
                subject_id=object_id,
                user=user,
                entry=entry,
                method=wanted,
                update=row is not None,
                sender=sender,
                online_url=online if wanted == "REQUEST" else "",
                now=now,
            ):
                queued += 1
            if row is None:
                session.add(
                    Invitation(
                        subject=subject,
                        subject_id=object_id,
                        user_id=user.id,
                        sequence=entry.sequence,
                        method=wanted,
                        sent_at=now,
                    )
                )
            else:
                row.method, row.sequence, row.sent_at = wanted, entry.sequence, now
    return queued


async def reconcile_meetings(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    meetings = (
        (
            await session.scalars(
                select(Meeting)
                .where(Meeting.starts_at >= now, Meeting.starts_at < now + AHEAD)
                .order_by(Meeting.starts_at)
            )
        )
        .unique()
        .all()
    )
    if not meetings:
        return 0
    series_ids = {m.series_id for m in meetings}
    members: dict[int, list[User]] = {}
    for series_id, user in (
        await session.execute(
            select(SeriesMember.series_id, User)
            .join(User, User.id == SeriesMember.user_id)
            .where(SeriesMember.series_id.in_(series_ids), User.active.is_(True))
        )
    ).unique():
        members.setdefault(series_id, []).append(user)
    regions = {r.id: r for r in (await session.scalars(select(Region))).all()}
    items = []
    for meeting in meetings:
        region = regions.get(meeting.series.region_id)
        items.append(
            (
                meeting.id,
                meeting_entry(meeting, settings.base_url),
                members.get(meeting.series_id, []),
                region.zvh_name if region else "",
                meeting.online_url,
            )
        )
    return await _reconcile(session, settings, "meeting", items, now)


async def reconcile_appointments(
    session: AsyncSession, settings: Settings, now: dt.datetime
) -> int:
    rows = (
        (
            await session.execute(
                select(Appointment, Case)
                .join(Case, Case.id == Appointment.case_id)
                .where(
                    Appointment.ends_at >= now,
                    Appointment.starts_at < now + AHEAD,
                    Appointment.status != AppointmentStatus.DONE,
                )
                .order_by(Appointment.starts_at)
            )
        )
        .unique()
        .all()
    )
    if not rows:
        return 0
    access = CaseAccess(session)
    wanted_ids = {uid for appointment, _ in rows for uid in appointment.participant_ids}
    users = (
        {
            u.id: u
            for u in (await session.scalars(select(User).where(User.id.in_(wanted_ids)))).unique()
        }
        if wanted_ids
        else {}
    )
    items = []
    for appointment, case in rows:
        audience = []
        for user_id in sorted(appointment.participant_ids):
            user = users.get(user_id)
            if user is not None and await access.may_see(user, case.id):
                audience.append(user)
        items.append(
            (
                appointment.id,
                appointment_entry(appointment, case.reference, settings.base_url),
                audience,
                case.region.zvh_name,
                appointment.online_url,
            )
        )
    return await _reconcile(session, settings, "appointment", items, now)


async def send_invitations_job(ctx: dict[str, Any]) -> int:
    """Queue the invitations, updates and cancellations that are due."""
    settings: Settings = ctx["settings"]
    now = ctx.get("now") or utcnow()
    async with transaction(ctx["session_factory"]) as session:
        return await reconcile_meetings(session, settings, now) + await reconcile_appointments(
            session, settings, now
        )
