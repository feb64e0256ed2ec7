"""Server-rendered pages: the Jinja environment, Dutch date filters, navigation and page helpers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.response import Template

from app.access import may_administer
from app.accounts.models import Role
from app.principal import Principal
from app.settings import ROOT

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LOCALE = "nl_NL"


def to_local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(AMSTERDAM)


def fmt_date(value: dt.date | dt.datetime | None, style: str = "d MMM y") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return format_date(value, style, locale=LOCALE)


def fmt_datetime(value: dt.datetime | None, style: str = "d MMM y HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(to_local(value), style, locale=LOCALE)


def fmt_time(value: dt.datetime | dt.time | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value)
    return format_time(value, "HH:mm", locale=LOCALE)


def fmt_long_date(value: dt.date | dt.datetime | None) -> str:
    return fmt_date(value, "EEEE d MMMM y")


def days_between(a: dt.date | None, b: dt.date | None) -> int | None:
    if a is None or b is None:
        return None
    return (b - a).days


def today_local() -> dt.date:
    return dt.datetime.now(AMSTERDAM).date()


@dataclass(frozen=True)
class NavItem:
    """One entry in the main navigation."""

    key: str
    label: str
    href: str


def navigation(p: Principal | None) -> list[NavItem]:
    """Only what the caller's roles may use."""
    if p is None or p.is_api_key:
        return []
    items: list[NavItem] = []
    working = p.has(
        Role.COORDINATOR, Role.CASEMANAGER_PI, Role.CASEMANAGER_EXTERN, Role.NETWERKPARTNER
    )
    if p.member_series_ids or p.coordinator_region_ids:
        items.append(NavItem("overleggen", "Overleggen", "/overleggen"))
    if working:
        items.append(NavItem("casussen", "Casussen", "/casussen"))
        items.append(NavItem("mijn-werk", "Mijn werk", "/mijn-werk"))
    if p.has(Role.COORDINATOR):
        items.append(NavItem("meldingen", "Meldingen", "/meldingen"))
    if may_administer(p):
        items.append(NavItem("beheer", "Beheer", "/beheer"))
    return items


class Assets:
    """Built front-end files by logical name (static/build/manifest.json, written by `npm run build`)."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self._manifest: dict[str, str] | None = None

    def url(self, name: str) -> str:
        if self._manifest is None:
            path = self.build_dir / "manifest.json"
            self._manifest = json.loads(path.read_text()) if path.exists() else {}
        return "/static/build/" + self._manifest.get(name, name)


def options(items: Any, key: str = "id", label: str = "name") -> list[tuple[Any, Any]]:
    """(value, text) pairs for a select from objects or enum members."""
    return [(getattr(i, key), getattr(i, label)) for i in items]


def create_environment(assets: Assets) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        date=fmt_date,
        datetime=fmt_datetime,
        time=fmt_time,
        long_date=fmt_long_date,
        local=to_local,
        options=options,
    )
    env.globals.update(asset=assets.url, Role=Role, today=today_local, days_between=days_between)
    return env


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    principal: Principal | None,
    active: str = "",
    title: str = "",
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A full page, or only its fragment when `template` is a `_fragment.html` for htmx."""
    context.update(
        principal=principal,
        nav=navigation(principal),
        active=active,
        title=title,
        request_path=request.url.path,
        request_query=request.query_params,
        is_htmx=request.headers.get("hx-request") == "true",
        flash=request.state.get("flash"),
    )
    return Template(template_name=template, context=context, status_code=status_code)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"
