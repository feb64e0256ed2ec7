"""Re-planning or cancelling one meeting (the chair): a moved meeting keeps its calendar UID and
raises its SEQUENCE, so every participant's calendar moves it; a cancelled one stays as cancelled."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from litestar import Request, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import audit as audit_log
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import Meeting, MeetingStatus
from app.meetings.routes import _meeting_or_404, _require_chair, agenda_context
from app.meetings.services import AMSTERDAM, describe_cadence
from app.web import page

FormData = URLEncodedBody[dict[str, str]]
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


async def _detail(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Any,
    meeting: Meeting,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    message: str = "",
    status_code: int = 200,
) -> Template:
    context = await agenda_context(db, principal, meeting)
    return page(
        request,
        "meetings/detail.html",
        principal=principal,
        active="overleggen",
        title=meeting.series.name,
        cadence=describe_cadence(meeting.series),
        planning_errors=errors or {},
        planning_form=form or {},
        planning_message=message,
        status_code=status_code,
        **context,
    )


@post("/overleggen/{meeting_id:int}/planning", include_in_schema=False)
async def replan(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
    data: FormData,
) -> Template | Redirect:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    if meeting.status not in OPEN:
        return await _detail(
            request,
            db,
            principal,
            meeting,
            errors={"date": "Dit overleg is al begonnen, afgerond of geannuleerd."},
            form=dict(data),
            status_code=409,
        )
    values, errors = parse(data, meeting)
    if not errors and values["starts_at"] != meeting.starts_at:
        taken = await db.scalar(
            select(Meeting.id).where(
                Meeting.series_id == meeting.series_id,
                Meeting.starts_at == values["starts_at"],
                Meeting.id != meeting.id,
            )
        )
        if taken:
            errors["date"] = "Op dat moment staat al een overleg van deze reeks."
    if errors:
        return await _detail(
            request, db, principal, meeting, errors=errors, form=dict(data), status_code=400
        )
    changed = [k for k, v in values.items() if getattr(meeting, k) != v]
    if changed:
        if meeting.slot_at is None and "starts_at" in changed:
            meeting.slot_at = meeting.starts_at
        for key in changed:
            setattr(meeting, key, values[key])
        meeting.sequence += 1
        audit_log.record(
            db,
            audit,
            "meeting.replanned",
            object_type="meeting",
            object_id=meeting.id,
            fields=changed,
        )
    return Redirect(f"/overleggen/{meeting.id}?gewijzigd=1", status_code=303)


@post("/overleggen/{meeting_id:int}/annuleren", include_in_schema=False)
async def cancel(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting_id: FromPath[int],
) -> Redirect:
    meeting = await _meeting_or_404(db, principal, meeting_id)
    _require_chair(principal, meeting)
    if meeting.status in OPEN:
        meeting.status = MeetingStatus.CANCELLED
        meeting.sequence += 1
        audit_log.record(
            db,
            audit,
            "meeting.cancelled",
            object_type="meeting",
            object_id=meeting.id,
            fields=["status"],
        )
    return Redirect(f"/overleggen/{meeting.id}?geannuleerd=1", status_code=303)


ROUTES = [replan, cancel]
