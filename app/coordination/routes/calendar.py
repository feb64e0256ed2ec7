"""The personal calendar feed behind its secret URL (the entries: app/coordination/calendar_feed.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from app.accounts import preferences, principals
from app.auth import NotFoundError
from app.coordination.calendar_feed import entries_for
from app.db import utcnow
from app.deps import DB
from app.logs import get_logger
from app.meetings.calendar import feed
from app.settings import Settings

log = get_logger("app.calendar")


@get("/calendar/{secret:str}", include_in_schema=False, opt={"public": True})
async def calendar_feed(
    request: Request[Any, Any, Any], db: DB, secret: FromPath[str]
) -> Response[bytes]:
    """The personal feed behind the secret URL shown on the profile page (revocable there)."""
    settings: Settings = request.app.state.settings
    value = secret.removesuffix(".ics")
    if len(value) > 64 or not secret.endswith(".ics"):
        raise NotFoundError()
    user = await preferences.user_by_calendar_secret(db, value)
    if user is None or (user.is_demo and not settings.demo_allowed):
        raise NotFoundError()
    principal = await principals.principal_for_user(db, user)
    now = utcnow()
    body = feed(await entries_for(db, principal, settings.base_url, now), "Ketentafel", now)
    log.info("calendar.served", user_id=user.id, bytes=len(body))
    return Response(
        body,
        media_type="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="ketentafel.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )


ROUTES = [calendar_feed]
