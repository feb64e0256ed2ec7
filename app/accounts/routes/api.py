"""The account API: a bearer token for a user, and who the caller is."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import JSONBody, URLEncodedBody

from app.accounts import preferences, services, throttle, tokens
from app.accounts.models import User
from app.accounts.schemas import MeResponse, OrganisationOut, TokenRequest, TokenResponse
from app.auth import (
    client_ip,
)
from app.db import utcnow
from app.deps import DB, CurrentUser
from app.settings import Settings

FormData = URLEncodedBody[dict[str, str]]


@post("/api/v1/auth/token", tags=["account"], status_code=200, opt={"public": True})
async def api_token(
    request: Request[Any, Any, Any], db: DB, data: JSONBody[TokenRequest]
) -> Response[Any]:
    """Exchange e-mail and password for a bearer token (valid for API_TOKEN_HOURS)."""
    settings: Settings = request.app.state.settings
    result = await services.authenticate(
        db,
        data.email,
        data.password,
        client_ip(request),
        demo_allowed=settings.demo_allowed,
        rules=throttle.ThrottleRules.from_settings(settings),
    )
    if result.user is None:
        await db.commit()  # keep the failed attempt for throttling
        if result.retry_after is not None:
            return Response(
                {"detail": result.error, "errors": []},
                status_code=429,
                headers={"Retry-After": str(result.retry_after)},
            )
        return Response({"detail": result.error, "errors": []}, status_code=401)
    token = await tokens.issue_user_token(db, result.user, settings.api_token_hours)
    expires = utcnow() + dt.timedelta(hours=settings.api_token_hours)
    return Response(TokenResponse(token=token, expires_at=expires.isoformat()), status_code=200)


@get("/api/v1/me", tags=["account"], security=[{"bearer": []}])
async def api_me(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> MeResponse:
    """The caller: user, organisation, roles, series and personal calendar feed URL.

    A user who never had a feed gets one here; after they withdrew it, `calendar_url` is null
    until they make a new one on their profile page.
    """
    settings: Settings = request.app.state.settings
    url: str | None = None
    if principal.user_id is not None:
        user: User | None = await db.get(User, principal.user_id)
        if user is not None:
            await preferences.first_calendar_secret(db, user, settings.secret_key)
            url = preferences.calendar_url(user, settings.base_url, settings.secret_key)
    return MeResponse(
        id=principal.user_id,
        name=principal.name,
        email=principal.email,
        organisation=OrganisationOut(
            id=principal.organisation_id,
            name=principal.organisation_name,
            kind=str(principal.organisation_kind),
        ),
        roles=sorted(str(r) for r in principal.roles),
        calendar_url=url,
        series=sorted(principal.member_series_ids),
    )


ROUTES = [api_token, api_me]
