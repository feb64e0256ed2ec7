"""The profile page: password, API tokens, the calendar feed, reminders."""

from __future__ import annotations

import asyncio
from typing import Any

import segno
from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.accounts import passwords, preferences, services, throttle, tokens
from app.accounts.models import Role
from app.auth import (
    client_ip,
)
from app.deps import DB, Audit, CurrentUser
from app.settings import Settings
from app.web import page

FormData = URLEncodedBody[dict[str, str]]


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
    url = preferences.calendar_url(user, settings.base_url, settings.secret_key)
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
        reminder_kinds=preferences.REMINDER_KINDS,
        reminders_on={k for k, _ in preferences.REMINDER_KINDS if preferences.wants(user, k)},
        tokens=[
            (token, tokens.token_channel(token)) for token in await tokens.user_tokens(db, user.id)
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
    key, ip = passwords.account_key(user.email), client_ip(request)
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
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, current):
        throttle.record(db, key, ip)
        await db.commit()  # keep the failed attempt for throttling
        return await _profile_page(
            request,
            db,
            principal,
            field_errors={"huidig": "Uw huidige wachtwoord klopt niet."},
            status_code=400,
        )
    problem = passwords.password_problem(new)
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
    if principal.user_id is None or not await tokens.revoke_own_token(
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
        preferences.revoke_calendar_secret(user)
        flag = "ingetrokken"
    else:
        preferences.renew_calendar_secret(user, settings.secret_key)
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
    preferences.set_reminders(user, set([chosen] if isinstance(chosen, str) else chosen))
    return Redirect("/profiel?herinneringen=opgeslagen#herinneringen", status_code=303)


ROUTES = [
    profile,
    change_password,
    revoke_token,
    revoke_all_tokens,
    calendar_link,
    reminder_settings,
]
