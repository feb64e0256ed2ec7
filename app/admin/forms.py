"""Reading the beheer forms: multi-valued fields arrive as lists, single ones as text."""

from __future__ import annotations

from typing import Any

from litestar.params import URLEncodedBody

FormData = URLEncodedBody[dict[str, Any]]  # multi-valued fields come as lists


def values(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def first(data: dict[str, Any], key: str) -> str:
    found = values(data, key)
    return found[0].strip() if found else ""
