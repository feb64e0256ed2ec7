"""Beheer over HTTP: users, organisations, API keys, series, the notice inbox and the audit trail.

Every page sits behind one guard: a caller who is no beheerder gets 404, as for anything they may
not see (after the app's authentication guard, so anonymous callers are sent to log in).
"""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.access import may_administer
from app.admin.routes import api_keys, audit, index, notices, organisations, series, users
from app.auth import NotFoundError, resolve_principal


async def administrators_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    principal = await resolve_principal(connection)
    if principal is None or not may_administer(principal):
        raise NotFoundError()


ROUTER = Router(
    path="/",
    guards=[administrators_only],
    route_handlers=[
        *index.ROUTES,
        *users.ROUTES,
        *organisations.ROUTES,
        *api_keys.ROUTES,
        *series.ROUTES,
        *notices.ROUTES,
        *audit.ROUTES,
    ],
)
