"""The list of meetings a user takes part in: the coming eight weeks and the past eight."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Template

from app.db import utcnow
from app.deps import DB, CurrentUser
from app.meetings import services
from app.web import page


@get("/overleggen", include_in_schema=False)
async def meeting_list(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    now = utcnow()
    recent = now - dt.timedelta(hours=4)
    upcoming = await services.visible_meetings(db, principal, recent, now + dt.timedelta(weeks=8))
    past = await services.visible_meetings(db, principal, now - dt.timedelta(weeks=8), recent)
    series = {m.series_id: m.series for m in upcoming}
    return page(
        request,
        "meetings/list.html",
        principal=principal,
        active="overleggen",
        title="Overleggen",
        upcoming=upcoming,
        past=list(reversed(past)),
        counts=await services.item_counts(db, [m.id for m in [*upcoming, *past]]),
        cadences={s.id: services.describe_cadence(s) for s in series.values()},
    )


ROUTES = [meeting_list]
