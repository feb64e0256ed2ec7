"""The meeting a request names, as a dependency, through the access policy.

- `meeting: VisibleMeeting` on a path with `{meeting_id:int}`: a meeting of a series the caller may
  see, else 404.
- `chaired_meeting: ChairedMeeting`: the same, and the caller leads it (the series' chair or a
  coordinator of its region), else 403 with the handler's `opt["chair_only"]` or CHAIR_ONLY.
- `case_meeting: CaseMeeting` beside `case: VisibleCase`: the meeting a case fragment is shown in,
  from `meeting_id` in the query or the form; None when none is given; 404 unless the caller may
  see it and its series handles the case (its region). Its chair manages the case there.

The parameter's name is its key (tests/platform/test_layers.py checks that handlers keep to it).
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from app.access import get_case_meeting, get_visible_meeting, may_chair
from app.cases.deps import VisibleCase
from app.deps import DB, CurrentUser, refuse
from app.meetings.models import Meeting

VisibleMeeting: TypeAlias = NamedDependency[Meeting]
ChairedMeeting: TypeAlias = NamedDependency[Meeting]
CaseMeeting: TypeAlias = NamedDependency[Meeting | None]

CHAIR_ONLY = "Alleen de voorzitter of een coördinator van de regio kan dit doen."


class ChairOnlyError(HTTPException):
    """A participant who may see the meeting, but not lead it."""

    status_code = 403
    detail = CHAIR_ONLY


async def provide_meeting(db: DB, principal: CurrentUser, meeting_id: FromPath[int]) -> Meeting:
    meeting = await get_visible_meeting(db, principal, meeting_id)
    if meeting is None:
        await refuse(db)
    return meeting


async def provide_chaired_meeting(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, meeting: VisibleMeeting
) -> Meeting:
    if not may_chair(principal, meeting.series):
        detail = request.route_handler.opt.get("chair_only", CHAIR_ONLY)
        await refuse(db, ChairOnlyError(detail=detail))
    return meeting


async def provide_case_meeting(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, case: VisibleCase
) -> Meeting | None:
    value = request.query_params.get("meeting_id")
    if value is None and request.method == "POST":
        value = (await request.form()).get("meeting_id")
    if not value:
        return None
    value = str(value)
    meeting = await get_case_meeting(db, principal, case, int(value)) if value.isdigit() else None
    if meeting is None:
        await refuse(db)
    return meeting


DEPENDENCIES = {
    "meeting": Provide(provide_meeting),
    "chaired_meeting": Provide(provide_chaired_meeting),
    "case_meeting": Provide(provide_case_meeting),
}
