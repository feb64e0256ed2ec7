"""Reminders by e-mail: each once, on the right day of a controllable clock, also after a restart
of the worker, and only for who wants them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.cases.models import Case
from app.coordination.models import (
    ActionItem,
    Appointment,
    AppointmentKind,
    AppointmentParticipant,
)
from app.coordination.reminders import send_reminders_job
from app.db import create_engine, session_factory
from app.mail import OutboundMessage
from app.settings import Settings
from app.web import AMSTERDAM
from tests.conftest import COORDINATOR_FRL, PI_CASEMANAGER, RECLASSERING, csrf_of, login

MORNING = dt.time(7, 0)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, MORNING, tzinfo=AMSTERDAM)


async def user(sessions: async_sessionmaker[AsyncSession], email: str) -> User:
    async with sessions() as s:
        return (await s.scalars(select(User).where(User.email == email))).unique().one()


async def frl_case(sessions: async_sessionmaker[AsyncSession]) -> Case:
    async with sessions() as s:
        case = (
            (await s.scalars(select(Case).where(Case.reference.like("FRL-%")).order_by(Case.id)))
            .unique()
            .first()
        )
    assert case is not None
    return case


async def reminders(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[OutboundMessage]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(OutboundMessage)
                    .where(OutboundMessage.kind == kind)
                    .order_by(OutboundMessage.id)
                )
            ).all()
        )


async def test_an_action_due_in_two_days_is_reminded_once_even_after_a_restart(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, database_url: str
) -> None:
    owner = await user(sessions, RECLASSERING)
    case = await frl_case(sessions)
    due = dt.date(2027, 3, 10)
    async with sessions() as s, s.begin():
        s.add(
            ActionItem(
                case_id=case.id,
                leefgebied="onderdak",
                description="Aanmelding nachtopvang",
                owner_user_id=owner.id,
                due_on=due,
            )
        )
    ctx: dict[str, Any] = {"session_factory": sessions, "settings": settings}
    before = len(await reminders(sessions, "reminder_action_due"))
    await send_reminders_job({**ctx, "now": at(due - dt.timedelta(days=3))})
    assert len(await reminders(sessions, "reminder_action_due")) == before  # too early
    for hour in (7, 12, 18):  # the job runs every quarter of an hour all day
        now = dt.datetime.combine(due - dt.timedelta(days=2), dt.time(hour), tzinfo=AMSTERDAM)
        await send_reminders_job({**ctx, "now": now})
    # a restarted worker: a new process with its own engine and nothing in memory
    engine = create_engine(database_url)
    try:
        restarted = {"session_factory": session_factory(engine), "settings": settings}
        await send_reminders_job({**restarted, "now": at(due - dt.timedelta(days=2))})
    finally:
        await engine.dispose()
    sent = [
        m
        for m in await reminders(sessions, "reminder_action_due")
        if m.recipient == RECLASSERING and case.reference in m.subject
    ]
    assert len(sent) == 1
    assert "10 maart" in sent[0].subject
    assert f"/casussen/{case.id}#actie-" in sent[0].body_text

    # overdue the day after: one reminder of that kind, however often the job runs
    for days in (1, 1, 2):
        await send_reminders_job({**ctx, "now": at(due + dt.timedelta(days=days))})
    overdue = [
        m
        for m in await reminders(sessions, "reminder_action_overdue")
        if m.recipient == RECLASSERING and case.reference in m.subject
    ]
    assert len(overdue) == 1
    assert "verlopen" in overdue[0].subject


async def test_release_reminders_go_to_everyone_on_the_appointment_a_week_and_a_day_before(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    case = await frl_case(sessions)
    reclassering = await user(sessions, RECLASSERING)
    pi = await user(sessions, PI_CASEMANAGER)
    coordinator = await user(sessions, COORDINATOR_FRL)
    release = dt.date(2027, 5, 20)
    start = dt.datetime.combine(release, dt.time(8, 30), tzinfo=AMSTERDAM)
    async with sessions() as s, s.begin():
        appointment = Appointment(
            case_id=case.id,
            kind=AppointmentKind.OPVANG_AAN_DE_POORT,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            responsible_user_id=reclassering.id,
        )
        s.add(appointment)
        await s.flush()
        s.add(AppointmentParticipant(appointment_id=appointment.id, user_id=pi.id))
        s.add(AppointmentParticipant(appointment_id=appointment.id, user_id=coordinator.id))
    # the coordinator does not want release reminders (set on the profile page)
    await login(client, COORDINATOR_FRL)
    saved = await client.post(
        "/profiel/herinneringen",
        data={
            "herinnering": ["invitations", "agenda_published", "action_due", "action_overdue"],
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    profile = await client.get("/profiel")
    assert 'value="release"' in profile.text
    assert 'value="release" checked' not in profile.text

    ctx: dict[str, Any] = {"session_factory": sessions, "settings": settings}
    for days in (8, 7, 7, 3, 1, 1, 0):
        await send_reminders_job({**ctx, "now": at(release - dt.timedelta(days=days))})
    sent = [m for m in await reminders(sessions, "reminder_release") if case.reference in m.subject]
    assert sorted((m.recipient, "morgen" in m.subject) for m in sent) == sorted(
        [
            (RECLASSERING, False),
            (RECLASSERING, True),
            (PI_CASEMANAGER, False),
            (PI_CASEMANAGER, True),
        ]
    )
    assert all(f"/momenten/{appointment.id}" in m.body_text for m in sent)
    async with sessions() as s:
        total = await s.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(
                OutboundMessage.recipient == COORDINATOR_FRL,
                OutboundMessage.kind == "reminder_release",
            )
        )
    assert total == 0
