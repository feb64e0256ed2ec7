"""Appointments of a case (moments, on screens): follow-ups, trajectgesprekken, the release at the
gate and warm handovers; creating, changing and cancelling them with their history.

The rules: a case has at most one planned `vervolg`, whose date is the case's follow-up date (the
agenda builder reads `Case.follow_up_on`). Every change of time, place or status raises the
appointment's SEQUENCE, so calendars and invitations follow. The release at the gate follows the
notices (app/coordination/release.py); the form people fill in is app/coordination/appointment_form.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case
from app.cases.services import current_pairing
from app.coordination.models import (
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentParticipant,
    AppointmentStatus,
)
from app.db import utcnow
from app.web import AMSTERDAM

DEFAULT_MINUTES = {
    AppointmentKind.TRAJECTGESPREK: 60,
    AppointmentKind.OPVANG_AAN_DE_POORT: 90,
    AppointmentKind.WARME_OVERDRACHT: 60,
}


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(AMSTERDAM)


def at_local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=AMSTERDAM).astimezone(dt.UTC)


def _set_participants(appointment: Appointment, user_ids: Iterable[int]) -> None:
    wanted = set(user_ids)
    appointment.participants[:] = [p for p in appointment.participants if p.user_id in wanted]
    have = {p.user_id for p in appointment.participants}
    for user_id in sorted(wanted - have):
        appointment.participants.append(AppointmentParticipant(user_id=user_id))


async def create(
    session: AsyncSession,
    case: Case,
    kind: AppointmentKind,
    values: dict[str, Any],
    participants: list[int],
    *,
    user_id: int | None,
    meeting_id: int | None = None,
) -> Appointment:
    if kind == AppointmentKind.VERVOLG:
        follow_up = await plan_follow_up(
            session, case, local(values["starts_at"]).date(), user_id=user_id, meeting_id=meeting_id
        )
        if follow_up is None:  # a date was given, so a vervolg is planned
            raise ValueError("a vervolg without a date")
        return follow_up
    appointment = Appointment(
        case_id=case.id, kind=kind, created_by_id=user_id, meeting_id=meeting_id, **values
    )
    return await _add(session, appointment, participants, user_id=user_id)


async def _add(
    session: AsyncSession, appointment: Appointment, participants: list[int], *, user_id: int | None
) -> Appointment:
    """Store a new appointment with its participants; its history starts with "gepland"."""
    appointment.participants = []
    _set_participants(appointment, participants)
    session.add(appointment)
    await session.flush()
    session.add(
        AppointmentChange(
            appointment_id=appointment.id,
            user_id=user_id,
            changes=[{"field": "status", "old": None, "new": AppointmentStatus.PLANNED.value}],
        )
    )
    return appointment


TRACKED = ("starts_at", "ends_at", "location", "online_url", "status")


def _describe(field: str, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return local(value).isoformat(timespec="minutes")
    return value if field in ("status",) else None  # place and link: that they changed, not what


async def update(
    session: AsyncSession,
    appointment: Appointment,
    values: dict[str, Any],
    participants: list[int] | None,
    *,
    user_id: int | None,
    source: str = "gebruiker",
) -> list[dict[str, Any]]:
    """Apply changes, record them, raise the SEQUENCE when calendars must follow."""
    changes: list[dict[str, Any]] = []
    for field, value in values.items():
        old = getattr(appointment, field)
        if old != value:
            if field in TRACKED:
                changes.append(
                    {"field": field, "old": _describe(field, old), "new": _describe(field, value)}
                )
            else:
                changes.append({"field": field, "old": None, "new": None})
            setattr(appointment, field, value)
    if participants is not None and set(participants) != {
        p.user_id for p in appointment.participants
    }:
        _set_participants(appointment, participants)
        changes.append({"field": "participants", "old": None, "new": None})
    if changes:
        if any(c["field"] in TRACKED for c in changes):
            appointment.sequence += 1
        appointment.updated_at = utcnow()
        session.add(
            AppointmentChange(
                appointment_id=appointment.id, user_id=user_id, source=source, changes=changes
            )
        )
        if appointment.kind == AppointmentKind.VERVOLG:
            await _refresh_follow_up(session, appointment.case_id)
    return changes


async def set_status(
    session: AsyncSession,
    appointment: Appointment,
    status: AppointmentStatus,
    *,
    user_id: int | None,
) -> list[dict[str, Any]]:
    return await update(session, appointment, {"status": status}, None, user_id=user_id)


async def _refresh_follow_up(session: AsyncSession, case_id: int) -> None:
    """The case's follow-up date is its planned vervolg (the agenda builder reads it)."""
    case = await session.get(Case, case_id)
    if case is None:
        return
    await session.flush()
    first = await session.scalar(
        select(func.min(Appointment.starts_at)).where(
            Appointment.case_id == case_id,
            Appointment.kind == AppointmentKind.VERVOLG,
            Appointment.status == AppointmentStatus.PLANNED,
        )
    )
    case.follow_up_on = local(first).date() if first is not None else None


async def plan_follow_up(
    session: AsyncSession,
    case: Case,
    on: dt.date | None,
    *,
    user_id: int | None,
    meeting_id: int | None = None,
) -> Appointment | None:
    """The one planned vervolg of a case on `on` (None: none). An earlier one that has passed is
    done; one still ahead is moved rather than duplicated, so calendars see one event move."""
    current = (
        await session.scalars(
            select(Appointment).where(
                Appointment.case_id == case.id,
                Appointment.kind == AppointmentKind.VERVOLG,
                Appointment.status == AppointmentStatus.PLANNED,
            )
        )
    ).all()
    today = dt.datetime.now(AMSTERDAM).date()
    keep: Appointment | None = None
    for existing in current:
        if keep is None and on is not None and local(existing.starts_at).date() >= today:
            keep = existing
            continue
        passed = local(existing.starts_at).date() <= today
        await set_status(
            session,
            existing,
            AppointmentStatus.DONE if passed else AppointmentStatus.CANCELLED,
            user_id=user_id,
        )
    if on is None:
        await _refresh_follow_up(session, case.id)
        return None
    values = {
        "starts_at": at_local(on, dt.time(0)),
        "ends_at": at_local(on + dt.timedelta(days=1), dt.time(0)),
        "all_day": True,
    }
    if keep is not None:
        await update(session, keep, values, None, user_id=user_id)
        await _refresh_follow_up(session, case.id)
        return keep
    appointment = Appointment(
        case_id=case.id,
        kind=AppointmentKind.VERVOLG,
        created_by_id=user_id,
        meeting_id=meeting_id,
        **values,
    )
    await _add(session, appointment, await _paired_users(session, case.id), user_id=user_id)
    await _refresh_follow_up(session, case.id)
    return appointment


async def _paired_users(session: AsyncSession, case_id: int) -> list[int]:
    pairing = await current_pairing(session, case_id)
    return sorted(pairing.user_ids) if pairing is not None else []


async def for_case(session: AsyncSession, case_id: int) -> list[Appointment]:
    return list(
        (
            await session.scalars(
                select(Appointment)
                .where(Appointment.case_id == case_id)
                .order_by(Appointment.starts_at, Appointment.id)
            )
        )
        .unique()
        .all()
    )


async def history(session: AsyncSession, appointment_id: int) -> list[AppointmentChange]:
    return list(
        (
            await session.scalars(
                select(AppointmentChange)
                .where(AppointmentChange.appointment_id == appointment_id)
                .order_by(AppointmentChange.at, AppointmentChange.id)
            )
        )
        .unique()
        .all()
    )
