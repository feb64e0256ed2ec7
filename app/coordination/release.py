"""The release at the gate (opvang aan de poort): its appointment follows the release date in the
notices, and its checklist of what must be arranged for the first days.

`sync_release_appointments` runs in the same transaction as a delivery of notices (app/main.py
hands it to the cases domain as `after_notices`), so a delivery is applied whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, CaseStatus, DetentionPeriod
from app.coordination.appointments import DEFAULT_MINUTES, at_local, local, update
from app.coordination.models import Appointment, AppointmentKind, AppointmentStatus
from app.db import utcnow
from app.reference.models import Institution
from app.web import AMSTERDAM

APPOINTMENTS = cast(Table, Appointment.__table__)
RELEASE_TIME = dt.time(9, 0)  # PIs release in the morning; the appointment is editable


@dataclass(frozen=True)
class ChecklistItem:
    """One thing to have arranged at release, for the first 72 hours (docs/domain.md, "The life of a
    case", step 7)."""

    key: str
    label: str
    group: str  # a leefgebied key, or "reclassering"


RELEASE_CHECKLIST = [
    ChecklistItem("id_in_hand", "ID-bewijs in handen bij vertrek", "identiteitsbewijs"),
    ChecklistItem("sleep_tonight", "Slaapplek voor de eerste nacht", "onderdak"),
    ChecklistItem("income_appointment", "Afspraak voor inkomen op dag 1", "werk_inkomen"),
    ChecklistItem("debts_contact", "Contact schuldhulp of CJIB gelegd", "schulden"),
    ChecklistItem("insurance_active", "Zorgverzekering weer actief", "zorg"),
    ChecklistItem("medication", "Medicatie voor de eerste dagen mee", "zorg"),
    ChecklistItem(
        "network_informed", "Familie of netwerk weet van de vrijlating", "sociaal_netwerk"
    ),
    ChecklistItem("reclassering_date", "Datum eerste melding reclassering bekend", "reclassering"),
]
CHECKLIST_KEYS = {item.key for item in RELEASE_CHECKLIST}


def gate_address(institution: Institution | None, fallback: str = "") -> str:
    if institution is None:
        return fallback
    city = institution.city if institution.city not in institution.address else ""
    place = ", ".join(p for p in (institution.address, city) if p)
    return f"{institution.name} (poort), {place}" if place else f"{institution.name} (poort)"


async def sync_release_appointments(
    session: AsyncSession, case_ids: Iterable[int] | None = None, *, today: dt.date | None = None
) -> list[int]:
    """Keep every open case's opvang-aan-de-poort appointment on its release date (expected, or
    actual once released): create it when a date becomes known, move it when a notice moves the
    date (keeping the time of day). Works in bulk; returns the ids of the appointments it moved."""
    today = today or dt.datetime.now(AMSTERDAM).date()
    ids = list(case_ids) if case_ids is not None else None
    if ids is not None and not ids:
        return []
    wanted = await _release_dates(session, ids)
    if not wanted:
        return []
    existing = await _gate_appointments(session, list(wanted))
    new_rows: list[dict[str, Any]] = []
    moved: list[int] = []
    now = utcnow()
    for case_id, (release_on, institution) in wanted.items():
        held = existing.get(case_id)
        if held is None:
            if release_on >= today:  # released before we knew: nothing left to plan at the gate
                new_rows.append(_gate_row(case_id, release_on, institution, now))
            continue
        if not held.follows_release or held.status != AppointmentStatus.PLANNED:
            continue
        starts = local(held.starts_at)
        if starts.date() == release_on:
            continue
        duration = held.ends_at - held.starts_at
        begins = at_local(release_on, starts.time())
        await update(
            session,
            held,
            {"starts_at": begins, "ends_at": begins + duration},
            None,
            user_id=None,
            source="melding",
        )
        moved.append(held.id)
    if new_rows:
        await session.execute(insert(APPOINTMENTS), new_rows)
    return moved


async def _release_dates(
    session: AsyncSession, case_ids: list[int] | None
) -> dict[int, tuple[dt.date, Institution | None]]:
    """Per open case (all, or these): the release date of its latest period and its institution."""
    latest = (
        select(DetentionPeriod.case_id, func.max(DetentionPeriod.id).label("period_id"))
        .group_by(DetentionPeriod.case_id)
        .subquery()
    )
    query = (
        select(
            Case.id,
            DetentionPeriod.expected_release_on,
            DetentionPeriod.released_on,
            Institution,
        )
        .join(latest, latest.c.case_id == Case.id)
        .join(DetentionPeriod, DetentionPeriod.id == latest.c.period_id)
        .outerjoin(Institution, Institution.id == DetentionPeriod.institution_id)
        .where(Case.status != CaseStatus.CLOSED)
    )
    rows: list[Any] = []
    chunks = [case_ids[i : i + 900] for i in range(0, len(case_ids), 900)] if case_ids else [None]
    for chunk in chunks:
        q = query.where(Case.id.in_(chunk)) if chunk is not None else query
        rows.extend((await session.execute(q)).all())
    return {row[0]: (row[2] or row[1], row[3]) for row in rows if (row[2] or row[1]) is not None}


async def _gate_appointments(session: AsyncSession, case_ids: list[int]) -> dict[int, Appointment]:
    """The opvang-aan-de-poort appointment of each case (the one following the notices first)."""
    existing: dict[int, Appointment] = {}
    for start in range(0, len(case_ids), 900):
        for appointment in (
            await session.scalars(
                select(Appointment).where(
                    Appointment.case_id.in_(case_ids[start : start + 900]),
                    Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
                    Appointment.status != AppointmentStatus.CANCELLED,
                )
            )
        ).unique():
            held = existing.get(appointment.case_id)
            if held is None or (appointment.follows_release and not held.follows_release):
                existing[appointment.case_id] = appointment
    return existing


def _gate_row(
    case_id: int, release_on: dt.date, institution: Institution | None, now: dt.datetime
) -> dict[str, Any]:
    """A new opvang-aan-de-poort appointment at the gate on the release date, as a table row."""
    begins = at_local(release_on, RELEASE_TIME)
    minutes = dt.timedelta(minutes=DEFAULT_MINUTES[AppointmentKind.OPVANG_AAN_DE_POORT])
    return {
        "case_id": case_id,
        "kind": AppointmentKind.OPVANG_AAN_DE_POORT.value,
        "status": AppointmentStatus.PLANNED.value,
        "starts_at": begins,
        "ends_at": begins + minutes,
        "all_day": False,
        "location": gate_address(institution),
        "online_url": "",
        "notes": "",
        "follows_release": True,
        "met_by": "",
        "transport": "",
        "first_place": "",
        "first_with": "",
        "checklist": {},
        "handover_note": "",
        "sequence": 0,
        "created_at": now,
        "updated_at": now,
    }
