"""Information pages everyone may read (privacy statement)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from app.deps import MaybeUser
from app.web import page


@get("/privacy", include_in_schema=False, opt={"public": True})
async def privacy(request: Request[Any, Any, Any], maybe_principal: MaybeUser) -> Template:
    return page(
        request, "privacy.html", principal=maybe_principal, title="Privacy en bewaartermijnen"
    )


ROUTES = [privacy]
