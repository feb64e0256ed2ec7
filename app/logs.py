"""Structured logging (structlog) that never carries personal data or secrets.

Exceptions are logged by type and stack location only: messages of database errors quote the
offending values (a BSN, a name), so they are dropped on purpose. Secrets that travel in URLs (the
calendar feed's address, a password-reset link, a plan ticket or token in a query string) are
replaced by `[redacted]` in every log line, whoever logs them.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

import structlog

_INCLUDE_MESSAGES = False
REDACTED = "[redacted]"

# Each URL shape that carries a secret: the secret part is replaced, the rest stays readable.
_SECRET_URL_PARTS = re.compile(
    r"(?P<path>/calendar/|/wachtwoord-herstellen/)[^/?#\s\"',;]+"
    r"|(?P<query>[?&;](?:ticket|token|secret|key|access_token|password|wachtwoord)=)[^&#\s\"',;]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """The text with every secret-bearing URL part replaced by `[redacted]`."""
    return _SECRET_URL_PARTS.sub(lambda m: (m.group("path") or m.group("query")) + REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    return value


def _redact_secrets(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    return {key: _redact_value(value) for key, value in event.items()}


class RedactingFilter(logging.Filter):
    """The same redaction for records of libraries that log through the standard library."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _safe_exception(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        exc_type, _exc, tb = exc_info
        if exc_type is not None:
            event["exc_type"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            frames = traceback.extract_tb(tb)[-8:]
            event["frames"] = [
                f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}:{f.name}" for f in frames
            ]
            if (
                _INCLUDE_MESSAGES
            ):  # LOG_LEVEL=DEBUG on a development machine with synthetic data only
                event["exc_message"] = str(_exc)
                if _exc is not None and _exc.__context__ is not None:
                    event["exc_context"] = (
                        f"{type(_exc.__context__).__qualname__}: {_exc.__context__}"
                    )
    return event


def configure_logging(level: str = "INFO", json_output: bool = False) -> None:
    global _INCLUDE_MESSAGES
    _INCLUDE_MESSAGES = level == "DEBUG"
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _safe_exception,
        _redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries log through stdlib logging; keep them quiet and free of request lines with queries.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    # The root handler and those uvicorn installs for itself (its WebSocket lines carry the query).
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
    for noisy in (
        "uvicorn.access",
        "sqlalchemy.engine",
        "aiosqlite",
        "asyncio",
        "httpx",
        "httpcore",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
