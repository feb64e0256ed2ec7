"""The beheer start page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from app.admin import services
from app.deps import DB, CurrentUser
from app.web import page


@get("/beheer", include_in_schema=False)
async def admin_index(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> Template:
    return page(
        request,
        "admin/index.html",
        principal=principal,
        active="beheer",
        title="Beheer",
        counts=await services.counts(db, principal),
    )


ROUTES = [admin_index]
