"""The meetings domain over HTTP: the list, a meeting's agenda and its planning, the meetings API."""

from __future__ import annotations

from litestar import Router

from app.meetings.routes import agenda, api, overview, planning

ROUTER = Router(
    path="/",
    route_handlers=[*overview.ROUTES, *agenda.ROUTES, *planning.ROUTES, *api.ROUTES],
)
