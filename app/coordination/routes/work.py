"""Mijn werk: one page with what is on a user's plate (the queries: app/coordination/work.py);
the actions list alone for htmx when a filter changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.coordination import work
from app.coordination.release import RELEASE_CHECKLIST
from app.deps import DB, CurrentUser
from app.web import AMSTERDAM, page, today_local

ALL_OPEN = work.Filters(None, "", "", "open")


@get("/mijn-werk", include_in_schema=False)
async def my_work(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    zaak: FromQuery[str] = "",
    leefgebied: FromQuery[str] = "",
    termijn: FromQuery[str] = "",
    status: FromQuery[str] = "open",
) -> Template:
    today = today_local()
    now = dt.datetime.now(AMSTERDAM)
    filters = work.filters_of(zaak, leefgebied, termijn, status)
    actions = await work.my_actions(db, principal, filters, today)
    all_open = (
        await work.my_actions(db, principal, ALL_OPEN, today) if filters != ALL_OPEN else actions
    )
    leefgebieden: dict[str, str] = {}
    cases_with_actions: dict[int, str] = {}
    for action, c in all_open:
        leefgebieden.setdefault(action.leefgebied, c.region.leefgebied_label(action.leefgebied))
        cases_with_actions[c.id] = c.reference
    template = "work/_actions.html" if request.headers.get("hx-request") else "work/my_work.html"
    return page(
        request,
        template,
        principal=principal,
        title="Mijn werk",
        active="mijn-werk",
        actions=actions,
        overdue=sum(1 for a, _ in all_open if a.due_on and a.due_on < today),
        filters=filters,
        terms=work.TERMS,
        statuses=work.STATUSES,
        leefgebied_options=sorted(leefgebieden.items(), key=lambda kv: kv[1]),
        case_options=sorted(cases_with_actions.items(), key=lambda kv: kv[1]),
        cases=await work.my_cases(db, principal),
        appointments=await work.my_appointments(db, principal, now),
        meetings=await work.my_meetings(db, principal, now),
        organisations_overdue=await work.overdue_by_organisation(db, principal, today),
        closures=await work.closures_due(db, principal, today),
        today_date=today,
        checklist_size=len(RELEASE_CHECKLIST),
    )


ROUTES = [my_work]
