"""The case a request names, as a dependency: `case: VisibleCase` on a path with `{case_id:int}`.

The parameter's name is its key. The handler gets the case only if the access policy lets the
caller see it; any other id answers 404 before the handler runs.
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from app.access import get_visible_case
from app.cases.models import Case
from app.deps import DB, CurrentUser, refuse

VisibleCase: TypeAlias = NamedDependency[Case]


async def provide_case(db: DB, principal: CurrentUser, case_id: FromPath[int]) -> Case:
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        await refuse(db)
    return case


DEPENDENCIES = {"case": Provide(provide_case)}
