"""Structured logging (structlog) that never carries personal data.

Exceptions are logged by type and stack location only: messages of database errors quote the
offending values (a BSN, a name), so they are dropped on purpose.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import structlog

_INCLUDE_MESSAGES = False


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
