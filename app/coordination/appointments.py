"""Moments of a case: follow-ups, trajectgesprekken, the release at the gate and warm handovers.

The rules: a case has at most one planned `vervolg`, whose date is the case's follow-up date (the
agenda builder reads `Case.follow_up_on`). The `opvang_aan_de_poort` moment is created from the
expected release date in the notices and moves with it (`sync_release_moments`, called in the same
transaction as the notices, so a batch is applied whole or not at all). Every change of time, place
or status raises the moment's SEQUENCE, so calendars and invitations follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.models import Case, CaseStatus, DetentionPeriod
from app.cases.services import current_pairing
from app.coordination.models import (
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentParticipant,
    AppointmentStatus,
)
from app.db import utcnow
from app.reference.models import Institution
from app.web import AMSTERDAM

APPOINTMENTS = cast(Table, Appointment.__table__)
RELEASE_TIME = dt.time(9, 0)  # PIs release in the morning; the moment is editable
DEFAULT_MINUTES = {
    AppointmentKind.TRAJECTGESPREK: 60,
    AppointmentKind.OPVANG_AAN_DE_POORT: 90,
    AppointmentKind.WARME_OVERDRACHT: 60,
}


@dataclass(frozen=True)
class ChecklistItem:
    """One thing to have arranged at release (000:L1129-1131; the first 72 hours, 001:L107-109)."""

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


class AppointmentInputError(ValueError):
    """Invalid input for a moment, with a Dutch message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid appointment")
        self.errors = errors


def local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(AMSTERDAM)


def at_local(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=AMSTERDAM).astimezone(dt.UTC)


def skipped_by_the_clock(day: dt.date, time: dt.time) -> bool:
    """True for a wall-clock time that does not exist in Amsterdam: on the last Sunday of March
    the clock jumps from 02:00 to 03:00, so 02:30 would silently become 03:30."""
    return local(at_local(day, time)).time() != time


DST_GAP = "Dat tijdstip bestaat die dag niet: de klok gaat dan van 02:00 naar 03:00 (zomertijd)."


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _parse_time(value: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat(value) if value else None
    except ValueError:
        return None


def _url_ok(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("https", "http") and bool(parsed.netloc)


def parse_form(
    kind: AppointmentKind,
    data: dict[str, Any],
    *,
    candidates: set[int],
    organisations: set[int],
    today: dt.date,
) -> tuple[dict[str, Any], list[int]]:
    """Validate a moment's form; returns column values and the participants' user ids."""
    errors: dict[str, str] = {}
    day = _parse_date(str(data.get("date", "")))
    if day is None:
        errors["date"] = "Vul een datum in, bijvoorbeeld 2026-12-01."
    elif day < today - dt.timedelta(days=366) or day > today + dt.timedelta(days=3 * 366):
        errors["date"] = "Die datum ligt te ver weg; controleer het jaartal."
    values: dict[str, Any] = {}
    if kind == AppointmentKind.VERVOLG:
        if day is not None and day < today:
            errors["date"] = "Een vervolg ligt in de toekomst."
        if day is not None:
            values.update(
                starts_at=at_local(day, dt.time(0)),
                ends_at=at_local(day + dt.timedelta(days=1), dt.time(0)),
                all_day=True,
            )
    else:
        start = _parse_time(str(data.get("time", "")))
        if start is None:
            errors["time"] = "Vul een tijd in, bijvoorbeeld 09:30."
        try:
            minutes = int(str(data.get("minutes") or DEFAULT_MINUTES[kind]))
        except ValueError:
            minutes = 0
        if not 5 <= minutes <= 12 * 60:
            errors["minutes"] = "De duur is tussen 5 minuten en 12 uur."
        if day is not None and start is not None and skipped_by_the_clock(day, start):
            errors["time"] = DST_GAP
        if (
            day is not None
            and start is not None
            and not errors.get("time")
            and "minutes" not in errors
        ):
            begins = at_local(day, start)
            values.update(
                starts_at=begins, ends_at=begins + dt.timedelta(minutes=minutes), all_day=False
            )
    location = str(data.get("location", "")).strip()
    if len(location) > 300:
        errors["location"] = "Houd de plaats korter dan 300 tekens."
    online = str(data.get("online_url", "")).strip()
    if online and not _url_ok(online):
        errors["online_url"] = "Vul een volledige link in, beginnend met https://."
    notes = str(data.get("notes", "")).strip()
    if len(notes) > 2000:
        errors["notes"] = "Houd de notitie korter dan 2000 tekens."
    responsible = str(data.get("responsible", ""))
    responsible_id = int(responsible) if responsible.isdigit() else None
    if responsible and responsible_id not in candidates:
        errors["responsible"] = "Kies de verantwoordelijke uit de lijst."
    raw_participants = data.get("participants", [])
    if isinstance(raw_participants, str):
        raw_participants = [raw_participants]
    participants = sorted({int(v) for v in raw_participants if str(v).isdigit()})
    if any(p not in candidates for p in participants):
        errors["participants"] = "Kies de deelnemers uit de lijst."
    values.update(
        location=location,
        online_url=online,
        notes=notes,
        responsible_user_id=responsible_id,
    )
    if kind == AppointmentKind.OPVANG_AAN_DE_POORT:
        for name, limit in (("met_by", 200), ("transport", 200), ("first_place", 300)):
            value = str(data.get(name, "")).strip()
            if len(value) > limit:
                errors[name] = f"Houd dit korter dan {limit} tekens."
            values[name] = value
        values["first_with"] = str(data.get("first_with", "")).strip()[:200]
        first_day = _parse_date(str(data.get("first_date", "")))
        first_time = _parse_time(str(data.get("first_time", "")))
        if data.get("first_date") and first_day is None:
            errors["first_date"] = "Vul de datum van de eerste afspraak in als JJJJ-MM-DD."
        elif first_day and first_time and skipped_by_the_clock(first_day, first_time):
            errors["first_time"] = DST_GAP
        values["first_at"] = at_local(first_day, first_time or dt.time(9)) if first_day else None
        values["follows_release"] = bool(data.get("follows_release"))
    if kind == AppointmentKind.WARME_OVERDRACHT:
        org = str(data.get("handover_organisation", ""))
        org_id = int(org) if org.isdigit() else None
        if org_id is None or org_id not in organisations:
            errors["handover_organisation"] = "Kies de organisatie die na de vrijlating verdergaat."
        values["handover_organisation_id"] = org_id
        note = str(data.get("handover_note", "")).strip()
        if len(note) > 2000:
            errors["handover_note"] = "Houd de overdrachtsnotitie korter dan 2000 tekens."
        values["handover_note"] = note
    if errors:
        raise AppointmentInputError(errors)
    return values, participants


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
        if follow_up is None:  # pragma: no cover - a date was given
            raise AppointmentInputError({"date": "Vul een datum in."})
        return follow_up
    appointment = Appointment(
        case_id=case.id, kind=kind, created_by_id=user_id, meeting_id=meeting_id, **values
    )
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
    pairing_users = await _paired_users(session, case.id)
    appointment = Appointment(
        case_id=case.id,
        kind=AppointmentKind.VERVOLG,
        created_by_id=user_id,
        meeting_id=meeting_id,
        **values,
    )
    appointment.participants = []
    _set_participants(appointment, pairing_users)
    session.add(appointment)
    await session.flush()
    session.add(
        AppointmentChange(
            appointment_id=appointment.id,
            user_id=user_id,
            changes=[{"field": "status", "old": None, "new": AppointmentStatus.PLANNED.value}],
        )
    )
    await _refresh_follow_up(session, case.id)
    return appointment


async def _paired_users(session: AsyncSession, case_id: int) -> list[int]:
    pairing = await current_pairing(session, case_id)
    if pairing is None:
        return []
    return [
        u
        for u in (pairing.internal_user_id, pairing.external_user_id, pairing.coordinator_user_id)
        if u
    ]


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


def gate_address(institution: Institution | None, fallback: str = "") -> str:
    if institution is None:
        return fallback
    city = institution.city if institution.city not in institution.address else ""
    place = ", ".join(p for p in (institution.address, city) if p)
    return f"{institution.name} (poort), {place}" if place else f"{institution.name} (poort)"


async def sync_release_moments(
    session: AsyncSession, case_ids: Iterable[int] | None = None, *, today: dt.date | None = None
) -> list[int]:
    """Keep every open case's opvang-aan-de-poort moment on its release date (expected, or actual
    once released): create it when a date becomes known, move it when a notice moves the date
    (keeping the time of day). Works in bulk; returns the ids of moments it moved."""
    today = today or dt.datetime.now(AMSTERDAM).date()
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
    ids = list(case_ids) if case_ids is not None else None
    if ids is not None and not ids:
        return []
    rows: list[Any] = []
    for chunk in [ids[i : i + 900] for i in range(0, len(ids), 900)] if ids else [None]:
        q = query.where(Case.id.in_(chunk)) if chunk is not None else query
        rows.extend((await session.execute(q)).all())
    if not rows:
        return []
    wanted = {row[0]: (row[2] or row[1], row[3]) for row in rows if (row[2] or row[1]) is not None}
    existing: dict[int, Appointment] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 900):
        for appointment in (
            await session.scalars(
                select(Appointment).where(
                    Appointment.case_id.in_(keys[start : start + 900]),
                    Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
                    Appointment.status != AppointmentStatus.CANCELLED,
                )
            )
        ).unique():
            held = existing.get(appointment.case_id)
            if held is None or (appointment.follows_release and not held.follows_release):
                existing[appointment.case_id] = appointment
    new_rows: list[dict[str, Any]] = []
    moved: list[int] = []
    now = utcnow()
    minutes = dt.timedelta(minutes=DEFAULT_MINUTES[AppointmentKind.OPVANG_AAN_DE_POORT])
    for case_id, (release_on, institution) in wanted.items():
        held = existing.get(case_id)
        if held is None:
            if release_on < today:
                continue  # released before we knew: nothing left to plan at the gate
            begins = at_local(release_on, RELEASE_TIME)
            new_rows.append(
                {
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
            )
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


def upcoming(appointments: list[Appointment], now: dt.datetime) -> list[Appointment]:
    return [a for a in appointments if a.status == AppointmentStatus.PLANNED and a.ends_at >= now]
