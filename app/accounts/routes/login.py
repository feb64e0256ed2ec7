"""Logging in and out, and where a user lands."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import principals, services, throttle
from app.accounts.models import Role
from app.auth import (
    SESSION_COOKIE,
    client_ip,
    expired_session_cookie,
    read_session_token,
    session_cookie,
)
from app.deps import DB, MaybeUser
from app.principal import Principal
from app.settings import Settings
from app.web import page

FormData = URLEncodedBody[dict[str, str]]


def safe_next(target: str | None) -> str | None:
    """Only local paths, so the login form cannot bounce someone to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_for(p: Principal) -> str:
    if p.has(Role.COORDINATOR) or p.member_series_ids:
        return "/overleggen"
    if p.has(Role.CASEMANAGER_PI, Role.CASEMANAGER_EXTERN, Role.NETWERKPARTNER):
        return "/mijn-werk"
    if p.has(Role.BEHEERDER):
        return "/beheer"
    return "/profiel"


@get("/", include_in_schema=False, opt={"public": True})
async def index(maybe_principal: MaybeUser) -> Redirect:
    if maybe_principal is None:
        return Redirect("/inloggen", status_code=303)
    return Redirect(home_for(maybe_principal), status_code=303)


@get("/inloggen", include_in_schema=False, opt={"public": True})
async def login_form(
    request: Request[Any, Any, Any],
    maybe_principal: MaybeUser,
    volgende: FromQuery[str | None] = None,
    uitgelogd: FromQuery[str | None] = None,
) -> Template | Redirect:
    if maybe_principal is not None:
        return Redirect(safe_next(volgende) or home_for(maybe_principal), status_code=303)
    return page(
        request,
        "accounts/login.html",
        principal=None,
        title="Inloggen",
        next=safe_next(volgende) or "",
        email="",
        error=None,
        logged_out=bool(uitgelogd),
    )


@post("/inloggen", include_in_schema=False, opt={"public": True})
async def login(request: Request[Any, Any, Any], db: DB, data: FormData) -> Response[Any]:
    settings: Settings = request.app.state.settings
    email = (data.get("email") or "").strip()
    password = data.get("password") or ""
    target = safe_next(data.get("volgende"))
    if not email or not password:
        return page(
            request,
            "accounts/login.html",
            principal=None,
            title="Inloggen",
            status_code=400,
            next=target or "",
            email=email,
            error="Vul uw e-mailadres en wachtwoord in.",
            logged_out=False,
        )
    result = await services.authenticate(
        db,
        email,
        password,
        client_ip(request),
        demo_allowed=settings.demo_allowed,
        rules=throttle.ThrottleRules.from_settings(settings),
    )
    if result.user is None:
        await db.commit()  # keep the failed attempt for throttling
        refused = page(
            request,
            "accounts/login.html",
            principal=None,
            title="Inloggen",
            status_code=429 if result.throttled else 400,
            next=target or "",
            email=email,
            error=result.error,
            logged_out=False,
        )
        if result.retry_after is not None:
            refused.headers["Retry-After"] = str(result.retry_after)
        return refused
    # A new session id on every login; any session the browser carried before ends here.
    old = read_session_token(settings, request.cookies.get(SESSION_COOKIE))
    if old:
        found = await services.session_user(db, old)
        if found:
            await services.end_session(db, found[0].id)
    token, _row = await services.start_session(db, result.user, settings.session_hours)
    principal = await principals.principal_for_user(db, result.user)
    response: Response[Any] = Redirect(target or home_for(principal), status_code=303)
    response.set_cookie(session_cookie(settings, token))
    return response


@post("/uitloggen", include_in_schema=False, opt={"public": True})
async def logout(
    request: Request[Any, Any, Any], db: DB, maybe_principal: MaybeUser
) -> Response[Any]:
    settings: Settings = request.app.state.settings
    if maybe_principal is not None and maybe_principal.session_id is not None:
        await services.end_session(db, maybe_principal.session_id)
    response: Response[Any] = Redirect("/inloggen?uitgelogd=1", status_code=303)
    response.set_cookie(expired_session_cookie(settings))
    return response


ROUTES = [index, login_form, login, logout]
