"""A meeting's minutes (besluitenlijst): reading them, and the chair adopting and sending them
(the rules: app/coordination/minutes.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.coordination import minutes as minutes_service
from app.coordination.routes.room import LEADS, announce
from app.deps import DB, Audit, CurrentUser
from app.meetings.deps import ChairedMeeting, VisibleMeeting
from app.web import page


@get("/overleggen/{meeting_id:int}/besluitenlijst", include_in_schema=False)
async def minutes(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    meeting: VisibleMeeting,
) -> Template:
    context = await minutes_service.minutes_context(db, principal, meeting)
    if context["visible"]:
        audit_log.record(
            db,
            audit,
            "minutes.viewed",
            object_type="meeting",
            object_id=meeting.id,
            fields=["decisions", "actions", "pairing"],
        )
    return page(
        request,
        "room/minutes.html",
        principal=principal,
        active="overleggen",
        title=f"Besluitenlijst {meeting.series.name}",
        **context,
    )


@post("/overleggen/{meeting_id:int}/besluitenlijst", include_in_schema=False, opt=LEADS)
async def minutes_close(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    chaired_meeting: ChairedMeeting,
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    """The chair adds a closing note, adopts the minutes and sends them to the participants."""
    meeting = chaired_meeting
    meeting.minutes_note = (data.get("note") or "").strip()[:4000]
    if data.get("vaststellen") and await minutes_service.adopt(
        db, meeting, user_id=principal.user_id, settings=request.app.state.settings
    ):
        audit_log.record(db, audit, "minutes.closed", object_type="meeting", object_id=meeting.id)
    await announce(request, db, meeting)
    return Redirect(f"/overleggen/{meeting.id}/besluitenlijst", status_code=303)


ROUTES = [minutes, minutes_close]
