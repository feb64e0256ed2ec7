"""ASGI middleware: request ids, one structured log line per request, security headers."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import structlog
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import SESSION_COOKIE, new_request_id
from app.logs import get_logger

log = get_logger("app.request")


def _csp() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


CSP = _csp()


class RequestContextMiddleware:
    """Gives every request an id, logs method/path/status/duration (never query strings or bodies),
    and sets the security headers on every response."""

    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A socket carries many frames: no per-frame wrapper, just the request id.
            scope.setdefault("state", {})["request_id"] = new_request_id()
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                headers["x-request-id"] = request_id
                headers.setdefault("content-security-policy", CSP)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = "same-origin"
                headers["x-frame-options"] = "DENY"
                headers["permissions-policy"] = "camera=(), microphone=(), geolocation=()"
                headers["cross-origin-opener-policy"] = "same-origin"
                if self.secure:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
                path = scope.get("path", "")
                if not path.startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if scope["type"] == "http" and not scope.get("path", "").startswith("/static/"):
                state: dict[str, Any] = scope.get("state", {})
                principal = state.get("principal")
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status_holder["status"],
                    ms=round((time.perf_counter() - started) * 1000, 1),
                    user_id=getattr(principal, "user_id", None),
                )
            structlog.contextvars.unbind_contextvars("request_id")


UPLOAD_PATHS = frozenset({"/api/v1/notices", "/meldingen"})


def _is_upload(request: Request[Any, Any, Any]) -> bool:
    return request.method == "POST" and request.url.path in UPLOAD_PATHS


def _uploader(request: Request[Any, Any, Any]) -> str:
    """Who is uploading: the bearer token or session (hashed, never stored), else the address."""
    credential = request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE)
    if not credential:
        return f"ip:{get_remote_address(request)}"
    return hashlib.sha256(credential.encode()).hexdigest()[:32]


def upload_rate_limit(per_minute: int) -> DefineMiddleware:
    """Notice deliveries per minute per account or key (each process counts its own); 429 above."""
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        identifier_for_request=_uploader,
        check_throttle_handler=_is_upload,
        store="upload_rate",
    ).middleware
