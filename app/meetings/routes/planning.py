"""The chair re-plans or cancels one meeting (the rules: app/meetings/planning.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.deps import DB, Audit, CurrentUser
from app.meetings import planning
from app.meetings.deps import ChairedMeeting
from app.meetings.models import Meeting
from app.meetings.routes.agenda import agenda_context
from app.meetings.services import describe_cadence
from app.principal import Principal
from app.web import page

FormData = URLEncodedBody[dict[str, str]]


async def _detail(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    meeting: Meeting,
    *,
    errors: dict[str, str],
    form: dict[str, str],
    status_code: int,
) -> Template:
    context = await agenda_context(db, principal, meeting)
    return page(
        request,
        "meetings/detail.html",
        principal=principal,
        active="overleggen",
        title=meeting.series.name,
        cadence=describe_cadence(meeting.series),
        planning_errors=errors,
        planning_form=form,
        planning_message="",
        status_code=status_code,
        **context,
    )


@post("/overleggen/{meeting_id:int}/planning", include_in_schema=False)
async def replan(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    data: FormData,
) -> Template | Redirect:
    meeting = chaired_meeting
    if meeting.status not in planning.OPEN:
        return await _detail(
            request,
            db,
            principal,
            meeting,
            errors={"date": "Dit overleg is al begonnen, afgerond of geannuleerd."},
            form=dict(data),
            status_code=409,
        )
    values, errors = planning.parse(data, meeting)
    if (
        not errors
        and values["starts_at"] != meeting.starts_at
        and await planning.slot_taken(db, meeting, values["starts_at"])
    ):
        errors["date"] = "Op dat moment staat al een overleg van deze reeks."
    if errors:
        return await _detail(
            request, db, principal, meeting, errors=errors, form=dict(data), status_code=400
        )
    changed = planning.replan(meeting, values)
    if changed:
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
async def cancel(db: DB, audit: Audit, chaired_meeting: ChairedMeeting) -> Redirect:
    meeting = chaired_meeting
    if planning.cancel(meeting):
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
