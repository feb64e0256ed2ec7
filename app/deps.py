"""Named dependencies of the request handlers, and how a dependency refuses a request.

A parameter's name is its key: `db: DB`, `principal: CurrentUser`, … The objects a request names by
id come from the domains' own dependency modules (app/cases/deps.py, app/meetings/deps.py,
app/coordination/deps.py), each through the access policy.
"""

from __future__ import annotations

from typing import NoReturn, TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditContext
from app.auth import NotFoundError
from app.principal import Principal

DB: TypeAlias = NamedDependency[AsyncSession]
CurrentUser: TypeAlias = NamedDependency[Principal]
MaybeUser: TypeAlias = NamedDependency[Principal | None]
Audit: TypeAlias = NamedDependency[AuditContext]


async def refuse(db: AsyncSession, error: Exception | None = None) -> NoReturn:
    """Refuse a request from inside a dependency: 404 (or `error`), after releasing its session.

    Litestar does not finish the session's generator (`provide_db` in app/main.py) when a later
    dependency raises, so without this the connection would wait for the garbage collector.
    """
    await db.close()
    raise error or NotFoundError()
