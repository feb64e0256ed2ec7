"""Password reset by e-mail: asking for a link, and setting a new password with it (the rules:
app/accounts/reset.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.accounts import passwords, reset, services
from app.audit import AuditContext
from app.auth import (
    audit_context,
    client_ip,
    session_cookie,
)
from app.db import transaction, utcnow
from app.deps import DB
from app.logs import get_logger
from app.settings import Settings
from app.web import page

log = get_logger("app.accounts")

FormData = URLEncodedBody[dict[str, str]]


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
    problem = passwords.password_problem(new)
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


ROUTES = [forgot_form, forgot, reset_form, reset_password]
