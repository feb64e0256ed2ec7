"""Login, logout, password reset, profile (password, API tokens, calendar, reminders) and the account API."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import segno
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.accounts import reset, services, throttle
from app.accounts.models import Role, User
from app.accounts.schemas import MeResponse, OrganisationOut, TokenRequest, TokenResponse
from app.audit import AuditContext
from app.auth import (
    SESSION_COOKIE,
    audit_context,
    client_ip,
    expired_session_cookie,
    read_session_token,
    session_cookie,
)
from app.db import transaction, utcnow
from app.deps import DB, Audit, CurrentUser, MaybeUser
from app.logs import get_logger
from app.principal import Principal
from app.settings import Settings
from app.web import page

log = get_logger("app.accounts")

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
    tokens: FromQuery[str] = "",
    wachtwoord: FromQuery[str] = "",
) -> Template:
    notice = (
        {
            "vernieuwd": "Uw agenda-adres is gemaakt. Een eerder adres werkt niet meer.",
            "ingetrokken": "Uw agenda-adres is ingetrokken; het werkt niet meer.",
        }.get(agenda)
        or ("Uw keuze voor herinneringen is opgeslagen." if herinneringen == "opgeslagen" else None)
        or TOKEN_NOTICES.get(tokens)
        or (
            "Uw nieuwe wachtwoord is ingesteld en u bent ingelogd. Al uw andere sessies en "
            "API-tokens zijn beëindigd."
            if wachtwoord == "hersteld"
            else None
        )
    )
    return await _profile_page(request, db, principal, notice=notice)


TOKEN_NOTICES = {
    "ingetrokken": "Het API-token is ingetrokken; het werkt niet meer.",
    "alle-ingetrokken": "Al uw API-tokens zijn ingetrokken.",
}


async def _profile_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    *,
    error: str | None = None,
    notice: str | None = None,
    field_errors: dict[str, str] | None = None,
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
        tokens=[
            (token, services.token_channel(token))
            for token in await services.user_tokens(db, user.id)
        ],
        token_hours=settings.api_token_hours,
        error=error,
        field_errors=field_errors or {},
        notice=notice,
        status_code=status_code,
        roles=sorted(Role(r).label for r in user.roles),
    )


@post("/profiel/wachtwoord", include_in_schema=False)
async def change_password(
    request: Request[Any, Any, Any], db: DB, principal: CurrentUser, audit: Audit, data: FormData
) -> Template:
    """A new password ends every other session and every API token of the user (not this session)."""
    settings: Settings = request.app.state.settings
    user = await services.load_user(db, principal.user_id or 0)
    if user is None:
        raise HTTPException(status_code=404)
    current = data.get("huidig") or ""
    new = data.get("nieuw") or ""
    repeat = data.get("herhaling") or ""
    # The current password is guessed no faster here than on the login page.
    rules = throttle.ThrottleRules.from_settings(settings)
    key, ip = services.account_key(user.email), client_ip(request)
    until = await throttle.blocked_until(db, key, ip, rules)
    if until is not None:
        seconds = throttle.seconds_until(until)
        response = await _profile_page(
            request,
            db,
            principal,
            field_errors={"huidig": services.throttled_message(seconds)},
            status_code=429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    if not await asyncio.to_thread(services.verify_password, user.password_hash, current):
        throttle.record(db, key, ip)
        await db.commit()  # keep the failed attempt for throttling
        return await _profile_page(
            request,
            db,
            principal,
            field_errors={"huidig": "Uw huidige wachtwoord klopt niet."},
            status_code=400,
        )
    problem = services.password_problem(new)
    if problem:
        return await _profile_page(
            request, db, principal, field_errors={"nieuw": problem}, status_code=400
        )
    if new != repeat:
        return await _profile_page(
            request,
            db,
            principal,
            field_errors={"herhaling": "De twee nieuwe wachtwoorden zijn niet gelijk."},
            status_code=400,
        )
    await services.change_password(db, user, new, keep_session_id=principal.session_id)
    audit_log.record(
        db,
        audit,
        "account.password_changed",
        object_type="user",
        object_id=user.id,
        fields=["password", "sessions", "api_tokens"],
    )
    return await _profile_page(
        request,
        db,
        principal,
        notice="Uw wachtwoord is gewijzigd. Uw andere sessies en API-tokens zijn beëindigd.",
    )


@post("/profiel/tokens/{token_id:int}/intrekken", include_in_schema=False)
async def revoke_token(
    db: DB, principal: CurrentUser, audit: Audit, token_id: FromPath[int]
) -> Redirect:
    """Revoke one of the caller's own API tokens; anyone else's is not found."""
    if principal.user_id is None or not await services.revoke_own_token(
        db, principal.user_id, token_id
    ):
        raise HTTPException(status_code=404, detail="Dit token bestaat niet (meer).")
    audit_log.record(
        db,
        audit,
        "api_token.revoked",
        object_type="api_token",
        object_id=token_id,
        fields=["revoked_at"],
    )
    return Redirect("/profiel?tokens=ingetrokken#tokens", status_code=303)


@post("/profiel/tokens/intrekken", include_in_schema=False)
async def revoke_all_tokens(db: DB, principal: CurrentUser, audit: Audit) -> Redirect:
    if principal.user_id is None:
        raise HTTPException(status_code=404)
    await services.revoke_user_tokens(db, principal.user_id)
    audit_log.record(
        db,
        audit,
        "api_token.revoked_all",
        object_type="user",
        object_id=principal.user_id,
        fields=["revoked_at"],
    )
    return Redirect("/profiel?tokens=alle-ingetrokken#tokens", status_code=303)


# ---------------------------------------------------------------- password reset


def _forgot_page(
    request: Request[Any, Any, Any],
    *,
    email: str = "",
    error: str | None = None,
    sent: bool = False,
    status_code: int = 200,
) -> Template:
    settings: Settings = request.app.state.settings
    return page(
        request,
        "accounts/forgot.html",
        principal=None,
        title="Wachtwoord vergeten",
        email=email,
        error=error,
        sent=sent,
        minutes=settings.password_reset_minutes,
        status_code=status_code,
    )


@get("/wachtwoord-vergeten", include_in_schema=False, opt={"public": True})
async def forgot_form(request: Request[Any, Any, Any]) -> Template:
    return _forgot_page(request)


@post("/wachtwoord-vergeten", include_in_schema=False, opt={"public": True})
async def forgot(request: Request[Any, Any, Any], db: DB, data: FormData) -> Template:
    """The same answer for every address; the account is looked up after the answer is sent."""
    settings: Settings = request.app.state.settings
    email = (data.get("email") or "").strip()
    if not email or "@" not in email or len(email) > 254:
        error = "Vul een geldig e-mailadres in." if email else "Vul uw e-mailadres in."
        return _forgot_page(request, email=email, error=error, status_code=400)
    rules = reset.ResetRules.from_settings(settings)
    if not await reset.note_request(db, email, client_ip(request), rules):
        response = _forgot_page(
            request,
            email=email,
            error="U heeft het afgelopen uur te vaak een nieuw wachtwoord aangevraagd. "
            "Probeer het later opnieuw.",
            status_code=429,
        )
        response.headers["Retry-After"] = "3600"
        return response
    response = _forgot_page(request, sent=True)
    response.background = BackgroundTask(
        _send_reset_link, request.app.state, email, audit_context(request, None)
    )
    return response


async def _send_reset_link(state: Any, email: str, audit: AuditContext) -> None:
    """Runs after the answer went out: a link and an e-mail only for an account that exists."""
    settings: Settings = state.settings
    rules = reset.ResetRules.from_settings(settings)
    try:
        async with transaction(state.session_factory) as db:
            issued = await reset.issue(db, email, rules, demo_allowed=settings.demo_allowed)
            if issued is not None:
                user, secret = issued
                await reset.queue_mail(db, settings, user, secret, rules)
            audit_log.record(
                db,
                audit,
                "account.password_reset_requested",
                object_type="user",
                object_id=issued[0].id if issued else None,
            )
    except Exception as exc:  # nobody is waiting for this answer any more
        log.error("password_reset.request_failed", exc_info=exc)
        return
    runner = state.get("jobs_runner")
    if issued is not None and runner is not None:
        runner.poke()  # deliver the e-mail now rather than at the next round


def _reset_page(
    request: Request[Any, Any, Any],
    secret: str,
    *,
    valid: bool,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "accounts/reset.html",
        principal=None,
        title="Nieuw wachtwoord instellen",
        secret=secret,
        valid=valid,
        errors=errors or {},
        status_code=status_code,
    )


@get("/wachtwoord-herstellen/{secret:str}", include_in_schema=False, opt={"public": True})
async def reset_form(request: Request[Any, Any, Any], db: DB, secret: FromPath[str]) -> Template:
    valid = await reset.pending(db, secret) is not None
    return _reset_page(request, secret, valid=valid, status_code=200 if valid else 400)


@post("/wachtwoord-herstellen/{secret:str}", include_in_schema=False, opt={"public": True})
async def reset_password(
    request: Request[Any, Any, Any], db: DB, secret: FromPath[str], data: FormData
) -> Response[Any]:
    """Set the new password, end every session and token of the account, and log the user in."""
    settings: Settings = request.app.state.settings
    new = data.get("nieuw") or ""
    repeat = data.get("herhaling") or ""
    if await reset.pending(db, secret) is None:
        return _reset_page(request, secret, valid=False, status_code=400)
    problem = services.password_problem(new)
    errors = (
        {"nieuw": problem}
        if problem
        else {"herhaling": "De twee nieuwe wachtwoorden zijn niet gelijk."}
        if new != repeat
        else {}
    )
    if errors:
        return _reset_page(request, secret, valid=True, errors=errors, status_code=400)
    user = await reset.complete(db, secret, new, demo_allowed=settings.demo_allowed)
    if user is None:  # spent by a simultaneous request
        return _reset_page(request, secret, valid=False, status_code=400)
    audit = dataclasses.replace(audit_context(request, None), user_id=user.id)
    audit_log.record(
        db,
        audit,
        "account.password_reset",
        object_type="user",
        object_id=user.id,
        fields=["password", "sessions", "api_tokens"],
    )
    user.last_login_at = utcnow()
    token, _row = await services.start_session(db, user, settings.session_hours)
    response: Response[Any] = Redirect("/profiel?wachtwoord=hersteld", status_code=303)
    response.set_cookie(session_cookie(settings, token))
    return response


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
    token = await services.issue_user_token(db, result.user, settings.api_token_hours)
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
            await services.first_calendar_secret(db, user, settings.secret_key)
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
    revoke_token,
    revoke_all_tokens,
    forgot_form,
    forgot,
    reset_form,
    reset_password,
    calendar_link,
    reminder_settings,
    api_token,
    api_me,
]
