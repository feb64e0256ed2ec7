"""Reminders by e-mail, each sent once: an action due in two days, an action overdue, a release in
seven days and tomorrow (to everyone on the opvang-aan-de-poort appointment). The agenda-published
message is sent by the meetings domain and honours the same settings.

"Once" is the outbox's unique key per reminder, recipient and date; the job can run again, on any
worker, after any restart, without sending twice. The clock comes from the job context (`now`), so
tests move it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.accounts.models import User
from app.cases.models import Case, CaseStatus
from app.coordination.models import (
    ActionItem,
    ActionStatus,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
)
from app.coordination.recipients import CaseAccess, wants
from app.db import transaction, utcnow
from app.settings import Settings
from app.web import AMSTERDAM, fmt_date, fmt_long_date, fmt_time

OVERDUE_GRACE = dt.timedelta(days=14)  # older overdue actions are not worth a first reminder
OPEN = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


async def _queue(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    key: str,
    kind: str,
    subject: str,
    text: str,
    link: str,
) -> bool:
    body_text, body_html = mail.render(
        "reminder",
        name=user.name,
        subject=subject,
        text=text,
        link=link,
        settings_link=f"{settings.base_url}/profiel#herinneringen",
    )
    message = await mail.queue(
        session,
        kind=kind,
        dedupe_key=key,
        recipient=user.email,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
    )
    return message is not None


async def action_reminders(
    session: AsyncSession, settings: Settings, today: dt.date, access: CaseAccess
) -> int:
    rows = (
        await session.execute(
            select(ActionItem, Case.reference, User)
            .join(Case, Case.id == ActionItem.case_id)
            .join(User, User.id == ActionItem.owner_user_id)
            .where(
                ActionItem.status.in_(OPEN),
                Case.status != CaseStatus.CLOSED,
                ActionItem.due_on.is_not(None),
                ActionItem.due_on >= today - OVERDUE_GRACE,
                ActionItem.due_on <= today + dt.timedelta(days=2),
            )
        )
    ).unique()
    sent = 0
    for action, reference, user in rows:
        due = action.due_on
        if due is None or not await access.may_see(user, action.case_id):
            continue
        link = f"{settings.base_url}/casussen/{action.case_id}#actie-{action.id}"
        if due == today + dt.timedelta(days=2) and wants(user, "action_due"):
            sent += await _queue(
                session,
                settings,
                user,
                key=f"reminder:action-due:{action.id}:{due.isoformat()}:{user.id}",
                kind="reminder_action_due",
                subject=f"Actie voor {reference}: uiterlijk {fmt_date(due, 'd MMMM')}",
                text=(
                    f"Een actie van u bij casus {reference} moet uiterlijk "
                    f"{fmt_long_date(due)} klaar zijn."
                ),
                link=link,
            )
        elif due < today and wants(user, "action_overdue"):
            sent += await _queue(
                session,
                settings,
                user,
                key=f"reminder:action-overdue:{action.id}:{due.isoformat()}:{user.id}",
                kind="reminder_action_overdue",
                subject=f"Actie voor {reference} is verlopen",
                text=(
                    f"Een actie van u bij casus {reference} had op {fmt_long_date(due)} klaar "
                    "moeten zijn. Zet de status bij, of spreek een nieuwe datum af."
                ),
                link=link,
            )
    return sent


async def release_reminders(
    session: AsyncSession, settings: Settings, today: dt.date, access: CaseAccess
) -> int:
    sent = 0
    for days in (7, 1):
        day = today + dt.timedelta(days=days)
        start = dt.datetime.combine(day, dt.time(0), tzinfo=AMSTERDAM)
        rows = (
            await session.execute(
                select(Appointment, Case.reference)
                .join(Case, Case.id == Appointment.case_id)
                .where(
                    Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
                    Appointment.status == AppointmentStatus.PLANNED,
                    Appointment.starts_at >= start,
                    Appointment.starts_at < start + dt.timedelta(days=1),
                    Case.status != CaseStatus.CLOSED,
                )
            )
        ).unique()
        for appointment, reference in rows:
            ids = sorted(appointment.participant_ids)
            if not ids:
                continue
            users = (await session.scalars(select(User).where(User.id.in_(ids)))).unique()
            when = "morgen" if days == 1 else "over een week"
            for user in users:
                if not wants(user, "release") or not await access.may_see(
                    user, appointment.case_id
                ):
                    continue
                sent += await _queue(
                    session,
                    settings,
                    user,
                    key=f"reminder:release-{days}:{appointment.id}:{day.isoformat()}:{user.id}",
                    kind="reminder_release",
                    subject=f"Opvang aan de poort {when}: {reference}",
                    text=(
                        f"De vrijlating bij casus {reference} is {when}, "
                        f"{fmt_long_date(appointment.starts_at)} om "
                        f"{fmt_time(appointment.starts_at)}. Loop de checklist voor de eerste "
                        "dag na en kijk wie de persoon aan de poort opvangt."
                    ),
                    link=(
                        f"{settings.base_url}/casussen/{appointment.case_id}"
                        f"/momenten/{appointment.id}"
                    ),
                )
    return sent


async def send_reminders(session: AsyncSession, settings: Settings, now: dt.datetime) -> int:
    today = now.astimezone(AMSTERDAM).date()
    access = CaseAccess(session)
    return await action_reminders(session, settings, today, access) + await release_reminders(
        session, settings, today, access
    )


async def send_reminders_job(ctx: dict[str, Any]) -> int:
    """Queue the reminders that are due now (each once)."""
    now = ctx.get("now") or utcnow()
    async with transaction(ctx["session_factory"]) as session:
        return await send_reminders(session, ctx["settings"], now)
