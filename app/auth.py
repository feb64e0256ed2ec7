"""Request authentication: session cookies for pages, bearer tokens for the API, the current Principal.

Pages accept only the session cookie (and so are covered by CSRF protection); the JSON API accepts
only `Authorization: Bearer` tokens (a user's token or an organisation's API key), so a browser
cookie can never be replayed against it cross-site.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any

from itsdangerous import BadSignature, Signer
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import principals, tokens
from app.accounts import services as accounts
from app.audit import AuditContext
from app.principal import Principal
from app.reference.models import Organisation
from app.settings import Settings

SESSION_COOKIE = "kt_sessie"
CSRF_COOKIE = "kt_csrf"
CSRF_HEADER = "x-csrftoken"


class NotAuthenticatedError(HTTPException):
    """No valid session or token: pages redirect to the login page, the API answers 401."""

    status_code = 401
    detail = "U bent niet ingelogd."


class NotFoundError(HTTPException):
    """Anything the caller may not see, or that does not exist: always the same 404."""

    status_code = 404
    detail = "Niet gevonden."


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt="kt-session")


def session_cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=_signer(settings).sign(token).decode(),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
        max_age=settings.session_hours * 3600,
    )


def expired_session_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
        max_age=0,
    )


def read_session_token(settings: Settings, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return _signer(settings).unsign(raw).decode()
    except BadSignature:
        return None


def _is_trusted_proxy(peer: str, proxies: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's address; X-Forwarded-For is honoured only from a configured reverse proxy."""
    settings: Settings = connection.app.state.settings
    peer = connection.client.host if connection.client else ""
    if settings.trusted_proxies and _is_trusted_proxy(peer, settings.trusted_proxies):
        forwarded = connection.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            try:
                return str(ipaddress.ip_address(hops[-1]))
            except ValueError:
                return peer
    return peer


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


async def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """Who is calling, or None; loaded once per request in its own short session and cached."""
    state = connection.state
    if "principal_resolved" in state:
        return state.get("principal")
    async with connection.app.state.session_factory() as db:
        principal = await _load_principal(connection, db)
        await db.commit()  # last-seen timestamps
    state["principal"] = principal
    state["principal_resolved"] = True
    return principal


async def _load_principal(
    connection: ASGIConnection[Any, Any, Any, Any], db: AsyncSession
) -> Principal | None:
    settings: Settings = connection.app.state.settings
    principal: Principal | None = None
    if is_api_path(connection.url.path):
        auth = connection.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = await tokens.token_owner(db, value.strip())
            if token is not None:
                if token.organisation_id is not None:
                    org = await db.get(Organisation, token.organisation_id)
                    if org is not None and org.active:
                        principal = principals.principal_for_api_key(token, org)
                elif token.user_id is not None:
                    user = await accounts.load_user(db, token.user_id)
                    if (
                        user is not None
                        and user.active
                        and (settings.demo_allowed or not user.is_demo)
                    ):
                        principal = await principals.principal_for_user(db, user, token_id=token.id)
    else:
        token_value = read_session_token(settings, connection.cookies.get(SESSION_COOKIE))
        if token_value:
            found = await accounts.session_user(db, token_value)
            if found is not None:
                row, user = found
                if settings.demo_allowed or not user.is_demo:
                    principal = await principals.principal_for_user(db, user, session_id=row.id)
    return principal


def audit_context(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal | None
) -> AuditContext:
    return AuditContext(
        user_id=principal.user_id if principal else None,
        token_id=principal.token_id if principal else None,
        actor=principal.audit_actor if principal else "anoniem",
        ip=client_ip(connection),
        request_id=str(connection.state.get("request_id", "")),
        channel="api" if is_api_path(connection.url.path) else "web",
    )


# ---------------------------------------------------------------- guard and dependencies


async def authentication_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """App-wide guard: every route needs a logged-in caller unless it is marked `opt={"public": True}`.

    Authentication happens here, before dependencies are resolved, so no dependency ever has to
    raise (Litestar does not finalise generator dependencies when a later one raises).
    """
    principal = await resolve_principal(connection)
    if principal is None and not handler.opt.get("public"):
        raise NotAuthenticatedError()


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = await resolve_principal(request)
    if principal is None:  # only on a route marked public that asks for a principal anyway
        raise NotAuthenticatedError()
    return principal


async def provide_optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    return await resolve_principal(request)


async def provide_audit(request: Request[Any, Any, Any]) -> AuditContext:
    return audit_context(request, await resolve_principal(request))


def new_request_id() -> str:
    return secrets.token_hex(8)
