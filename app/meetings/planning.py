"""Re-planning or cancelling one meeting (the chair): a moved meeting keeps its calendar UID and
raises its SEQUENCE, so every participant's calendar moves it; a cancelled one stays as cancelled."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.meetings.models import Meeting, MeetingStatus
from app.meetings.services import AMSTERDAM

OPEN = (MeetingStatus.PLANNED, MeetingStatus.PUBLISHED)


def parse(data: dict[str, str], meeting: Meeting) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        day = dt.date.fromisoformat(data.get("date", ""))
    except ValueError:
        errors["date"] = "Vul een datum in, bijvoorbeeld 2026-12-01."
        day = None
    try:
        start = dt.time.fromisoformat(data.get("time", ""))
    except ValueError:
        errors["time"] = "Vul een begintijd in, bijvoorbeeld 10:00."
        start = None
    try:
        minutes = int(data.get("minutes", "0"))
    except ValueError:
        minutes = 0
    if not 15 <= minutes <= 8 * 60:
        errors["minutes"] = "De duur is tussen 15 minuten en 8 uur."
    online = data.get("online_url", "").strip()
    if online and urlparse(online).scheme not in ("https", "http"):
        errors["online_url"] = "Vul een volledige link in, beginnend met https://."
    location = data.get("location", "").strip()[:300]
    if day is not None and start is not None and not errors:
        starts = dt.datetime.combine(day, start, tzinfo=AMSTERDAM).astimezone(dt.UTC)
        if starts < dt.datetime.now(dt.UTC):
            errors["date"] = "Een overleg verplaatst u naar de toekomst."
        values = {
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(minutes=minutes),
            "location": location,
            "online_url": online,
        }
    return values, errors


async def slot_taken(session: AsyncSession, meeting: Meeting, starts_at: dt.datetime) -> bool:
    """Whether another meeting of the same series starts at that moment."""
    return bool(
        await session.scalar(
            select(Meeting.id).where(
                Meeting.series_id == meeting.series_id,
                Meeting.starts_at == starts_at,
                Meeting.id != meeting.id,
            )
        )
    )


def replan(meeting: Meeting, values: dict[str, Any]) -> list[str]:
    """Apply new values; returns the fields that changed (none: nothing happens)."""
    changed = [k for k, v in values.items() if getattr(meeting, k) != v]
    if changed:
        if meeting.slot_at is None and "starts_at" in changed:
            meeting.slot_at = meeting.starts_at  # the cadence's slot it was planned in
        for key in changed:
            setattr(meeting, key, values[key])
        meeting.sequence += 1
    return changed


def cancel(meeting: Meeting) -> bool:
    """Cancel a meeting that has not begun; False when there was nothing to cancel."""
    if meeting.status not in OPEN:
        return False
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    return True
