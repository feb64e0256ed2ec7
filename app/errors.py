"""Exception handlers: Dutch error pages for people, JSON `{"detail", "errors"}` for the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.auth import NotAuthenticatedError, is_api_path
from app.logs import get_logger
from app.web import navigation

log = get_logger("app.errors")

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Ongeldige invoer", "De gegevens in uw verzoek konden niet worden verwerkt."),
    401: ("Niet ingelogd", "Log in om verder te gaan."),
    403: (
        "Verzoek geweigerd",
        "Deze pagina is verlopen of het formulier kwam niet van deze website. "
        "Laad de pagina opnieuw en probeer het nog eens.",
    ),
    404: (
        "Niet gevonden",
        "Deze pagina bestaat niet, of u heeft er geen toegang toe. "
        "Controleer het adres of ga terug naar het overzicht.",
    ),
    405: ("Niet toegestaan", "Deze handeling is op deze pagina niet mogelijk."),
    409: ("Conflict", "De gegevens zijn intussen gewijzigd. Laad de pagina opnieuw."),
    413: ("Bestand te groot", "Het bestand is groter dan toegestaan."),
    422: ("Ongeldige invoer", "De gegevens in uw verzoek konden niet worden verwerkt."),
    429: (
        "Te veel verzoeken",
        "U heeft te veel verzoeken gedaan. Wacht even en probeer het opnieuw.",
    ),
    500: (
        "Er ging iets mis",
        "Er is een fout opgetreden aan onze kant. Er is niets opgeslagen van uw laatste handeling. "
        "Probeer het opnieuw; blijft het misgaan, neem dan contact op met de beheerder.",
    ),
    503: (
        "Tijdelijk niet beschikbaar",
        "De dienst is tijdelijk niet beschikbaar. Probeer het straks opnieuw.",
    ),
}


def _errors_of(exc: HTTPException) -> list[dict[str, Any]]:
    extra = exc.extra
    if isinstance(extra, list):
        out: list[dict[str, Any]] = []
        for item in extra:
            if isinstance(item, dict):
                out.append(
                    {
                        "field": str(item.get("key") or item.get("field") or ""),
                        "message": str(item.get("message", "")),
                    }
                )
        return out
    if isinstance(extra, dict) and "errors" in extra:
        return list(extra["errors"])
    return []


def _json(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        {"detail": detail, "errors": errors or []},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _page(request: Request[Any, Any, Any], status: int, detail: str | None = None) -> Response[Any]:
    title, text = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    principal = request.state.get("principal")
    template = (
        "errors/_error.html" if request.headers.get("hx-request") == "true" else "errors/error.html"
    )
    return Template(
        template_name=template,
        context={
            "status": status,
            "heading": title,
            "text": detail or text,
            "principal": principal,
            "nav": navigation(principal),
            "active": "",
            "title": title,
            "request_path": request.url.path,
            "is_htmx": False,
            "flash": None,
            "request_id": request.state.get("request_id", ""),
        },
        status_code=status,
        headers={"HX-Reswap": "none"} if template.startswith("errors/_") else None,
    )


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    api = is_api_path(request.url.path)
    if isinstance(exc, NotAuthenticatedError | NotAuthorizedException) or status == 401:
        if api:
            return _json(
                401,
                "Niet ingelogd: stuur een geldig token mee (Authorization: Bearer …).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = "/inloggen?volgende=" + quote(request.url.path, safe="/")
        if request.headers.get("hx-request") == "true":
            return Response(b"", status_code=401, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    if isinstance(exc, NotFoundException) or status == 404:
        return _json(404, "Niet gevonden.") if api else _page(request, 404)
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return _json(403, "Verzoek geweigerd (CSRF).") if api else _page(request, 403)
    if isinstance(exc, ValidationException):
        errors = _errors_of(exc)
        if api:
            return _json(400, "Ongeldige invoer.", errors)
        return _page(request, 400)
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if api:
        text = detail if _is_dutch(detail) else MESSAGES.get(status, MESSAGES[400])[1]
        return _json(status, text, _errors_of(exc), headers=exc.headers)
    return _page(request, status, detail if _is_dutch(detail) else None)


def _is_dutch(text: str) -> bool:
    """Our own HTTPExceptions carry Dutch details; the framework's English ones are replaced."""
    return (
        bool(text)
        and text
        not in {
            "Internal Server Error",
            "Bad Request",
            "Not Found",
            "Method Not Allowed",
            "Request Entity Too Large",
            "Too Many Requests",
        }
        and not text.startswith(("Request body", "Method ", "Expected "))
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("request.failed", path=request.url.path, exc_info=exc)
    if is_api_path(request.url.path):
        return _json(
            HTTP_500_INTERNAL_SERVER_ERROR,
            "Interne fout; er is niets van dit verzoek opgeslagen. Probeer het later opnieuw.",
        )
    return _page(request, 500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}
