"""What the pairing and action fragments of a case share: rendering with the coordination context,
and announcing a change to the rooms that show the case after its commit."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from app.cases.models import Case
from app.cases.services import current_pairing
from app.coordination.live import announce_case
from app.coordination.panel import coordination_context
from app.deps import DB
from app.meetings.models import Meeting
from app.principal import Principal
from app.web import page


async def case_fragment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    case: Case,
    template: str,
    meeting: Meeting | None,
    **extra: Any,
) -> Template:
    context = await coordination_context(db, principal, case, meeting)
    return page(
        request,
        template,
        principal=principal,
        case=case,
        pairing=await current_pairing(db, case.id),
        region=case.region,
        **context,
        **extra,
    )


async def commit_and_announce(
    request: Request[Any, Any, Any], db: DB, case: Case, event: str
) -> None:
    await db.commit()
    await announce_case(request.app, request.app.state.session_factory, case.id, event)
