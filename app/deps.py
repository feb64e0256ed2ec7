"""Named dependencies of the request handlers (provided in app/main.py)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditContext
from app.principal import Principal

DB: TypeAlias = NamedDependency[AsyncSession]
CurrentUser: TypeAlias = NamedDependency[Principal]
MaybeUser: TypeAlias = NamedDependency[Principal | None]
Audit: TypeAlias = NamedDependency[AuditContext]
