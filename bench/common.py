"""Helpers shared by the benchmarks."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
from sqlalchemy import make_url


def scratch_postgres(url: str, name: str) -> str:
    """Recreate database `name` on the server of `url` (SQLAlchemy form) and return its URL."""

    async def recreate() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
