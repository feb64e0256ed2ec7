"""Login, logout, profile and the account API (token, me)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from app.access import Principal
from app.accounts import services
from app.accounts.models import Role, User
from app.accounts.schemas import MeResponse, OrganisationOut, TokenRequest, TokenResponse
from app.auth import (
    SESSION_COOKIE,
    client_ip,
    expired_session_cookie,
    read_session_token,
    session_cookie,
)
from app.db import utcnow
from app.deps import DB, CurrentUser, MaybeUser
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
        db, email, password, client_ip(request), demo_allowed=settings.demo_allowed
    )
    if result.user is None:
        await db.commit()  # keep the failed attempt for throttling
        return page(
            request,
            "accounts/login.html",
            principal=None,
            title="Inloggen",
            status_code=429 if result.error == services.THROTTLED else 400,
            next=target or "",
            email=email,
            error=result.error,
            logged_out=False,
        )
    # A new session id on every login; any session the browser carried before ends here.
    old = read_session_token(settings, request.cookies.get(SESSION_COOKIE))
    if old:
        found = await services.session_user(db, old)
        if found:
            await services.end_session(db, found[0].id)
    token, _row = await services.start_session(db, result.user, settings.session_hours)
    principal = await services.principal_for_user(db, result.user)
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


@get("/profiel", include_in_schema=False)
async def profile(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    agenda: FromQuery[str] = "",
    herinneringen: FromQuery[str] = "",
) -> Template:
    notice = {
        "vernieuwd": "Uw agenda-adres is gemaakt. Een eerder adres werkt niet meer.",
        "ingetrokken": "Uw agenda-adres is ingetrokken; het werkt niet meer.",
    }.get(agenda) or (
        "Uw keuze voor herinneringen is opgeslagen." if herinneringen == "opgeslagen" else None
    )
    return await _profile_page(request, db, principal, notice=notice)


async def _profile_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    *,
    error: FromQuery[str | None] = None,
    notice: FromQuery[str | None] = None,
    status_code: int = 200,
) -> Template:
    settings: Settings = request.app.state.settings
    user = await services.load_user(db, principal.user_id or 0)
    if user is None:
        raise HTTPException(status_code=404)
    url = services.calendar_url(user, settings.base_url, settings.secret_key)
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return page(
        request,
        "accounts/profile.html",
        principal=principal,
        title="Mijn profiel",
        active="",
        user=user,
        calendar_url=url,
        webcal_url=webcal,
        calendar_qr=segno.make(webcal, error="m").svg_inline(scale=4, dark="#1b1f24")
        if webcal
        else "",
        reminder_kinds=services.REMINDER_KINDS,
        reminders_on={k for k, _ in services.REMINDER_KINDS if services.wants(user, k)},
        error=error,
        notice=notice,
        status_code=status_code,
        roles=sorted(Role(r).label for r in user.roles),
    )


@post("/profiel/wachtwoord", include_in_schema=False)
async def change_password(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, data: FormData
) -> Template:
    user = await services.load_user(db, principal.user_id or 0)
    if user is None:
        raise HTTPException(status_code=404)
    current = data.get("huidig") or ""
    new = data.get("nieuw") or ""
    repeat = data.get("herhaling") or ""
    if not services.verify_password(user.password_hash, current):
        return await _profile_page(
            request, db, principal, error="Uw huidige wachtwoord klopt niet.", status_code=400
        )
    if new != repeat:
        return await _profile_page(
            request,
            db,
            principal,
            error="De twee nieuwe wachtwoorden zijn niet gelijk.",
            status_code=400,
        )
    problem = services.password_problem(new)
    if problem:
        return await _profile_page(request, db, principal, error=problem, status_code=400)
    user.password_hash = services.hash_password(new)
    user.is_demo = False
    return await _profile_page(request, db, principal, notice="Uw wachtwoord is gewijzigd.")


@post("/profiel/agenda", include_in_schema=False)
async def calendar_link(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, data: FormData
) -> Redirect:
    """Make a (new) personal feed address, or withdraw it; an old address stops working at once."""
    settings: Settings = request.app.state.settings
    user = await services.load_user(db, principal.user_id or 0)
    if user is None:
        raise HTTPException(status_code=404)
    if data.get("actie") == "intrekken":
        services.revoke_calendar_secret(user)
        flag = "ingetrokken"
    else:
        services.renew_calendar_secret(user, settings.secret_key)
        flag = "vernieuwd"
    return Redirect(f"/profiel?agenda={flag}#agenda", status_code=303)


@post("/profiel/herinneringen", include_in_schema=False)
async def reminder_settings(
    db: DB, principal: CurrentUser, data: URLEncodedBody[dict[str, Any]]
) -> Redirect:
    user = await services.load_user(db, principal.user_id or 0)
    if user is None:
        raise HTTPException(status_code=404)
    chosen = data.get("herinnering", [])
    services.set_reminders(user, set([chosen] if isinstance(chosen, str) else chosen))
    return Redirect("/profiel?herinneringen=opgeslagen#herinneringen", status_code=303)


# ---------------------------------------------------------------- API


@post("/api/v1/auth/token", tags=["account"], status_code=200, opt={"public": True})
async def api_token(
    request: Request[Any, Any, Any], db: DB, data: JSONBody[TokenRequest]
) -> Response[Any]:
    """Exchange e-mail and password for a bearer token (valid for API_TOKEN_HOURS)."""
    settings: Settings = request.app.state.settings
    result = await services.authenticate(
        db, data.email, data.password, client_ip(request), demo_allowed=settings.demo_allowed
    )
    if result.user is None:
        await db.commit()
        status = 429 if result.error == services.THROTTLED else 401
        return Response({"detail": result.error, "errors": []}, status_code=status)
    token = await services.issue_user_token(db, result.user, settings.api_token_hours)
    expires = utcnow() + dt.timedelta(hours=settings.api_token_hours)
    return Response(TokenResponse(token=token, expires_at=expires.isoformat()), status_code=200)


@get("/api/v1/me", tags=["account"], security=[{"bearer": []}])
async def api_me(request: Request[Any, Any, Any], db: DB, principal: CurrentUser) -> MeResponse:
    """The caller: user, organisation, roles, series and personal calendar feed URL."""
    settings: Settings = request.app.state.settings
    url: FromQuery[str | None] = None
    if principal.user_id is not None:
        user: User | None = await db.get(User, principal.user_id)
        if user is not None:
            if not user.calendar_nonce:
                services.renew_calendar_secret(user, settings.secret_key)
            url = services.calendar_url(user, settings.base_url, settings.secret_key)
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


ROUTES = [
    index,
    login_form,
    login,
    logout,
    profile,
    change_password,
    calendar_link,
    reminder_settings,
    api_token,
    api_me,
]
