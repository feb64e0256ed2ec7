"""The appointment form: reading and checking what people fill in (Dutch messages per field), and
the form's values for an appointment or a new one."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from app.cases.models import Case
from app.coordination.appointments import DEFAULT_MINUTES, at_local, local
from app.coordination.models import Appointment, AppointmentKind
from app.coordination.release import RELEASE_TIME, gate_address


class AppointmentInputError(ValueError):
    """Invalid input for a moment, with a Dutch message per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid appointment")
        self.errors = errors


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
    """Validate an appointment's form; returns column values and the participants' user ids.
    People and organisations must be among `candidates` and `organisations` (what the form
    offered); the messages are Dutch, per field."""
    errors: dict[str, str] = {}
    values = _when(kind, data, today, errors)
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
        values.update(_at_the_gate(data, errors))
    if kind == AppointmentKind.WARME_OVERDRACHT:
        values.update(_handover(data, organisations, errors))
    if errors:
        raise AppointmentInputError(errors)
    return values, participants


def _when(
    kind: AppointmentKind, data: dict[str, Any], today: dt.date, errors: dict[str, str]
) -> dict[str, Any]:
    """Start and end: a whole day for a vervolg (never in the past), else a time and a duration."""
    values: dict[str, Any] = {}
    day = _parse_date(str(data.get("date", "")))
    if day is None:
        errors["date"] = "Vul een datum in, bijvoorbeeld 2026-12-01."
    elif day < today - dt.timedelta(days=366) or day > today + dt.timedelta(days=3 * 366):
        errors["date"] = "Die datum ligt te ver weg; controleer het jaartal."
    if kind == AppointmentKind.VERVOLG:
        if day is not None and day < today:
            errors["date"] = "Een vervolg ligt in de toekomst."
        if day is not None:
            values.update(
                starts_at=at_local(day, dt.time(0)),
                ends_at=at_local(day + dt.timedelta(days=1), dt.time(0)),
                all_day=True,
            )
        return values
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
    if day is not None and start is not None and not errors.get("time") and "minutes" not in errors:
        begins = at_local(day, start)
        values.update(
            starts_at=begins, ends_at=begins + dt.timedelta(minutes=minutes), all_day=False
        )
    return values


def _at_the_gate(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Who meets the person, transport, the first appointment after release."""
    values: dict[str, Any] = {}
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
    return values


def _handover(
    data: dict[str, Any], organisations: set[int], errors: dict[str, str]
) -> dict[str, Any]:
    """To which organisation the case is handed over, and the note for them."""
    org = str(data.get("handover_organisation", ""))
    org_id = int(org) if org.isdigit() else None
    if org_id is None or org_id not in organisations:
        errors["handover_organisation"] = "Kies de organisatie die na de vrijlating verdergaat."
    note = str(data.get("handover_note", "")).strip()
    if len(note) > 2000:
        errors["handover_note"] = "Houd de overdrachtsnotitie korter dan 2000 tekens."
    return {"handover_organisation_id": org_id, "handover_note": note}


def form_values(
    appointment: Appointment | None, kind: AppointmentKind, case: Case
) -> dict[str, Any]:
    """What the form shows: an appointment's values, or the defaults of a new one of `kind`."""
    if appointment is None:
        period = case.current_period
        form: dict[str, Any] = {
            "minutes": DEFAULT_MINUTES.get(kind, 60),
            "participants": [],
            "follows_release": kind == AppointmentKind.OPVANG_AAN_DE_POORT,
        }
        if kind == AppointmentKind.OPVANG_AAN_DE_POORT and period is not None:
            release = period.released_on or period.expected_release_on
            form.update(
                date=release.isoformat() if release else "",
                time=RELEASE_TIME.strftime("%H:%M"),
                location=gate_address(period.institution, period.institution_name),
            )
        return form
    starts = local(appointment.starts_at)
    first = local(appointment.first_at) if appointment.first_at else None
    return {
        "date": starts.date().isoformat(),
        "time": starts.strftime("%H:%M"),
        "minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "location": appointment.location,
        "online_url": appointment.online_url,
        "responsible": appointment.responsible_user_id or "",
        "participants": [p.user_id for p in appointment.participants],
        "notes": appointment.notes,
        "follows_release": appointment.follows_release,
        "met_by": appointment.met_by,
        "transport": appointment.transport,
        "first_place": appointment.first_place,
        "first_date": first.date().isoformat() if first else "",
        "first_time": first.strftime("%H:%M") if first else "",
        "first_with": appointment.first_with,
        "handover_organisation": appointment.handover_organisation_id or "",
        "handover_note": appointment.handover_note,
    }
