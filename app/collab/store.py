"""The plan's update log and snapshots in the database: appending fast, loading, compacting."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from pycrdt import Doc, Text
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.collab.models import PlanSnapshot, PlanUpdate
from app.db import utcnow

PLAN_UPDATES = cast(Table, PlanUpdate.__table__)


class SQLiteLog:
    """Appends plan updates to SQLite with the standard library's driver.

    An append is an INSERT and a COMMIT of ≈30 µs, done on the event loop when the write lock is
    free (no thread hop, which costs more than the write and waits for the GIL under load); when
    another writer holds the lock it waits on a thread instead. This connection never checkpoints
    the WAL inside a commit; a passive checkpoint runs on the thread every CHECKPOINT_EVERY rows.
    """

    CHECKPOINT_EVERY = 2000
    INSERT = "INSERT INTO plan_updates (case_id, data, created_at) VALUES (?, ?, ?)"

    def __init__(self, path: str) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-log")
        self.connection: sqlite3.Connection | None = None
        self.since_checkpoint = 0

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=0, isolation_level=None, check_same_thread=False
        )
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=0"):
            connection.execute(f"PRAGMA {pragma}")
        return connection

    def _write(self, rows: list[tuple[int, bytes, str]]) -> None:
        if self.connection is None:
            self.connection = self._connect()
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(self.INSERT, rows)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _write_waiting(self, rows: list[tuple[int, bytes, str]]) -> None:
        if self.connection is None:
            self.connection = self._connect()
        self.connection.execute("PRAGMA busy_timeout=30000")
        try:
            self._write(rows)
        finally:
            self.connection.execute("PRAGMA busy_timeout=0")

    def _checkpoint(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()

    async def append(self, updates: list[tuple[int, bytes]], at: dt.datetime) -> None:
        stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = [(case_id, update, stamp) for case_id, update in updates]
        loop = asyncio.get_running_loop()
        try:
            self._write(rows)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            await loop.run_in_executor(self.executor, self._write_waiting, rows)
        self.since_checkpoint += len(rows)
        if self.since_checkpoint >= self.CHECKPOINT_EVERY:
            self.since_checkpoint = 0
            loop.run_in_executor(self.executor, self._checkpoint)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.executor, self._checkpoint)
        self.executor.shutdown(wait=True)
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class PostgresLog:
    """Appends plan updates to PostgreSQL on a connection of its own: one INSERT … SELECT FROM
    unnest per batch, a single atomic statement and a single round trip."""

    INSERT = (
        "INSERT INTO plan_updates (case_id, data, created_at) "
        "SELECT u.case_id, u.data, $3 FROM unnest($1::integer[], $2::bytea[]) "
        "WITH ORDINALITY AS u(case_id, data, n) ORDER BY u.n"
    )

    def __init__(self, engine: AsyncEngine) -> None:
        _args, self.connect_args = engine.dialect.create_connect_args(engine.url)
        self.connection: asyncpg.Connection | None = None

    async def append(self, updates: list[tuple[int, bytes]], at: dt.datetime) -> None:
        if self.connection is None or self.connection.is_closed():
            self.connection = await asyncpg.connect(**self.connect_args, timeout=5)
        try:
            await self.connection.execute(
                self.INSERT, [c for c, _ in updates], [u for _, u in updates], at
            )
        except Exception:
            # A broken connection (say the database restarted): the next append opens a new one.
            connection, self.connection = self.connection, None
            connection.terminate()
            raise

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close(timeout=2)
            self.connection = None


@dataclass(frozen=True)
class Squashed:
    """A plan's snapshot and log folded into one update, not yet stored."""

    base: int | None  # upto_id of the snapshot it started from (None: there was none)
    ids: list[int]  # the log rows folded in
    data: bytes
    texts: dict[str, str]


class PlanStore:
    """The update log and snapshots of plans in the database.

    Appends take the shortest path to a commit, because every keystroke waits for one (durable
    before visible): SQLiteLog or PostgresLog; reads and compaction go through SQLAlchemy.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        engine: AsyncEngine = factory.kw["bind"]
        database = engine.url.database or ""
        self.log: SQLiteLog | PostgresLog | None = None
        if engine.dialect.name == "sqlite" and database not in ("", ":memory:"):
            self.log = SQLiteLog(database)
        elif engine.dialect.name == "postgresql":
            self.log = PostgresLog(engine)
        self.compacting = asyncio.Lock()  # one compaction at a time per process

    async def close(self) -> None:
        if self.log is not None:
            await self.log.close()

    async def load(
        self, case_id: int, session: AsyncSession | None = None
    ) -> tuple[bytes | None, list[bytes], int]:
        """Snapshot and the updates not yet folded into it. Pass the caller's session when it has
        one open: on SQLite a second transaction would wait for the first one's write lock."""
        if session is None:
            async with self.factory() as own:
                return await self._load(own, case_id)
        return await self._load(session, case_id)

    async def _load(
        self, session: AsyncSession, case_id: int
    ) -> tuple[bytes | None, list[bytes], int]:
        snapshot = await session.get(PlanSnapshot, case_id)
        # Every row still in the log, not only those above the snapshot's mark: on PostgreSQL a row
        # with a lower id can commit after a higher one. Applying an update twice changes nothing.
        rows = (
            (
                await session.execute(
                    select(PlanUpdate.data)
                    .where(PlanUpdate.case_id == case_id)
                    .order_by(PlanUpdate.id)
                )
            )
            .scalars()
            .all()
        )
        return (snapshot.data if snapshot else None), list(rows), len(rows)

    async def append_many(self, updates: list[tuple[int, bytes]]) -> None:
        """Append updates of any number of plans in one transaction."""
        now = utcnow()
        if self.log is not None:
            await self.log.append(updates, now)
            return
        async with self.factory() as session, session.begin():
            await session.execute(
                insert(PLAN_UPDATES),
                [{"case_id": c, "data": u, "created_at": now} for c, u in updates],
            )

    async def compact(self, case_id: int, sections: list[str]) -> int:
        """Squash the log into the snapshot from what the database holds; returns rows folded in.

        Read and squash happen before the write, so the write lock (SQLite) or row lock
        (PostgreSQL) is held only for the short write while appends go on; see `write_squashed`.
        """
        async with self.compacting:
            squashed = await self.squash(case_id, sections)
            return await self.write_squashed(case_id, squashed) if squashed else 0

    async def squash(self, case_id: int, sections: list[str]) -> Squashed | None:
        """The snapshot and every row of the log, folded into one update (None: empty log)."""
        async with self.factory() as session:
            snapshot = await session.get(PlanSnapshot, case_id)
            rows = (
                await session.execute(
                    select(PlanUpdate.id, PlanUpdate.data)
                    .where(PlanUpdate.case_id == case_id)
                    .order_by(PlanUpdate.id)
                )
            ).all()
            base = snapshot.upto_id if snapshot is not None else None
            base_data = snapshot.data if snapshot is not None else None
        if not rows:
            return None
        doc: Doc[Any] = Doc()
        texts = {key: doc.get(key, type=Text) for key in sections}
        if base_data is not None:
            doc.apply_update(base_data)
        for row in rows:
            doc.apply_update(row.data)
        ids = [row.id for row in rows]
        return Squashed(
            base=base,
            ids=ids,
            data=doc.get_update(),
            texts={k: str(t) for k, t in texts.items()},
        )

    async def write_squashed(self, case_id: int, squashed: Squashed) -> int:
        """Store the snapshot and delete exactly the rows folded into it (a row committed meanwhile
        stays in the log); gives up when another process compacted since `squash`."""
        values = {
            "data": squashed.data,
            "upto_id": max(squashed.ids),
            "texts": squashed.texts,
            "updated_at": utcnow(),
        }
        try:
            async with self.factory() as session, session.begin():
                current = await session.get(
                    PlanSnapshot, case_id, with_for_update=True, populate_existing=True
                )
                if (current.upto_id if current else None) != squashed.base:
                    return 0  # compacted meanwhile; these rows are gone or go next time
                if current is None:
                    session.add(PlanSnapshot(case_id=case_id, **values))
                else:
                    for key, value in values.items():
                        setattr(current, key, value)
                for start in range(0, len(squashed.ids), 1000):
                    await session.execute(
                        delete(PlanUpdate).where(
                            PlanUpdate.id.in_(squashed.ids[start : start + 1000])
                        )
                    )
        except IntegrityError:  # another process wrote the first snapshot meanwhile
            return 0
        return len(squashed.ids)

    async def texts(
        self, case_id: int, sections: list[str], session: AsyncSession | None = None
    ) -> dict[str, str]:
        """The plan's current text per section, from the database (for versions and printing)."""
        snapshot, updates, _count = await self.load(case_id, session)
        doc: Doc[Any] = Doc()
        texts = {key: doc.get(key, type=Text) for key in sections}
        if snapshot:
            doc.apply_update(snapshot)
        for update in updates:
            doc.apply_update(update)
        return {key: str(value) for key, value in texts.items()}

    async def pending_count(self, case_id: int) -> int:
        async with self.factory() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(PlanUpdate)
                    .where(PlanUpdate.case_id == case_id)
                )
                or 0
            )
