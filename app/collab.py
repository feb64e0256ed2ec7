"""Live editing of the plan van aanpak: a y-websocket server on pycrdt (contract section 6).

One room per case's plan, holding a `pycrdt.Doc` with one `Text` per section (`doel` and each
leefgebied). The protocol facts and pitfalls behind this design are in shared/realtime-notes.md:

- Durable before visible: every update a client sends is appended to `plan_updates` before anyone
  else receives it. Updates arriving in one event-loop turn are written in one commit (group commit)
  and sent on as one merged update.
- On connect the server sends sync step 1, so a client that edited offline pushes its edits.
- Awareness (who types where) is relayed to everyone, including the sender; the name and colour in
  it are set by the server from the logged-in user, so nobody can pose as someone else. When a
  socket closes, its awareness entries are removed for everyone.
- Several processes: a room subscribes to its Redis channel before loading from the database,
  publishes its persisted updates and awareness through one ordered queue, and exchanges state
  vectors on load and periodically so a missed pub/sub message is repaired (pub/sub is at-most-once).
- Compaction squashes the update log into a snapshot in the database, from what the database holds
  (never from one process's copy), on load and every COMPACT_EVERY updates or so; it deletes
  exactly the rows it folded in and gives up if another process compacted meanwhile.
- A room is unloaded after its last client left and a grace period, after a final flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import secrets
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from pycrdt import (
    Awareness,
    Decoder,
    Doc,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    merge_updates,
    read_message,
    write_var_uint,
)
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.coordination.models import PlanSnapshot, PlanUpdate
from app.db import utcnow
from app.logs import get_logger

log = get_logger("app.collab")
PLAN_UPDATES = cast(Table, PlanUpdate.__table__)

MAX_FRAME = 1024 * 1024  # larger frames close the connection (1009)
COMPACT_EVERY = 500
UNLOAD_AFTER = 15.0  # seconds a room stays loaded after its last client left
RESYNC_EVERY = 10.0  # seconds between state-vector exchanges across processes
COLOURS = [
    "#154273",
    "#b3261e",
    "#2e7d32",
    "#8a5a00",
    "#6a1b9a",
    "#00695c",
    "#ad1457",
    "#37474f",
    "#e65100",
    "#1565c0",
]

MSG_SYNC = 0
MSG_AWARENESS = 1
MSG_AUTH = 2
MSG_QUERY_AWARENESS = 3


class ProtocolError(Exception):
    """A frame that is not y-websocket: the connection is closed, the room is unharmed."""


def colour_for(user_id: int) -> str:
    return COLOURS[user_id % len(COLOURS)]


def encode_awareness(entries: list[tuple[int, int, str]]) -> bytes:
    """Awareness update bytes: count, then (client id, clock, JSON state) per entry."""
    out = bytearray(write_var_uint(len(entries)))
    for client_id, clock, state in entries:
        data = state.encode()
        out += write_var_uint(client_id) + write_var_uint(clock) + write_var_uint(len(data)) + data
    return bytes(out)


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    decoder = Decoder(update)
    entries = []
    for _ in range(decoder.read_var_uint()):
        entries.append(
            (decoder.read_var_uint(), decoder.read_var_uint(), decoder.read_var_string())
        )
    return entries


# ---------------------------------------------------------------- persistence


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


# ---------------------------------------------------------------- connections and rooms


@dataclass(eq=False)
class Connection:
    """One client socket in a room."""

    send: Callable[[bytes], Awaitable[None]]
    user_id: int
    name: str
    colour: str
    awareness_ids: set[int] = field(default_factory=set)
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    edits: int = 0
    closed: bool = False

    def push(self, frame: bytes) -> None:
        """Queue a frame for this client's writer task."""
        if not self.closed:
            self.queue.put_nowait(frame)

    async def deliver(self, frame: bytes) -> None:
        """Send a broadcast frame at once when nothing is queued for this client (the common case:
        no task switch per recipient), else queue it behind the rest. Should a send ever suspend,
        frames may overtake each other; Yjs updates and awareness states (with clocks) allow that."""
        if self.closed:
            return
        if not self.queue.empty():
            self.queue.put_nowait(frame)
            return
        try:
            await self.send(frame)
        except Exception:  # the client went away; its writer ends the connection
            self.closed = True
            self.queue.put_nowait(None)


class Room:
    """One plan document with its connected clients."""

    def __init__(self, server: CollabServer, case_id: int, sections: list[str]) -> None:
        self.server = server
        self.case_id = case_id
        self.sections = sections
        self.doc: Doc[Any] = Doc()
        for key in sections:
            self.doc.get(key, type=Text)  # declare the schema before any update (notes, item 5)
        self.awareness = Awareness(self.doc)
        self.awareness.set_local_state(
            None
        )  # the server has no presence of its own (notes, item 6)
        self.connections: set[Connection] = set()
        self.ready = asyncio.Event()
        self.origin: Connection | str | None = None
        self.pending: list[tuple[bytes, Connection | None]] = []
        self.remote: list[bytes] = []
        self.since_compaction = 0
        # Spread over rooms, so rooms that started together do not all compact at once.
        self.compact_after = COMPACT_EVERY + random.randrange(COMPACT_EVERY // 2)  # noqa: S311
        self.unload_task: asyncio.Task[None] | None = None
        self.resync_task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None
        self.doc.observe(self._on_update)

    def _on_update(self, event: Any) -> None:
        # Called inside apply_update; `self.origin` says who sent it (notes, item 3).
        update = bytes(event.update)
        if self.origin == "remote":
            self.remote.append(update)
        elif isinstance(self.origin, Connection) or self.origin is None:
            self.pending.append(
                (update, self.origin if isinstance(self.origin, Connection) else None)
            )
        else:
            return  # loading from the database
        self.server.mark_dirty(self)

    def apply(
        self, update_or_message: bytes, origin: Connection | str, *, sync_payload: bool = False
    ) -> bytes | None:
        self.origin = origin
        try:
            if sync_payload:
                return handle_sync_message(update_or_message, self.doc)
            self.doc.apply_update(update_or_message)
            return None
        finally:
            self.origin = None

    async def flush(self) -> None:
        """Make sure everything this room received is persisted and sent on."""
        await self.server.flush()

    async def broadcast(
        self, pending: list[tuple[bytes, Connection | None]], remote: list[bytes]
    ) -> None:
        """Send on what was persisted (ours) or received from another process (remote)."""
        if pending:
            merged = pending[0][0] if len(pending) == 1 else merge_updates(*[u for u, _ in pending])
            frame = create_update_message(merged)
            senders = {c for _, c in pending}
            only = next(iter(senders)) if len(senders) == 1 else None
            self.server.fanout(self.case_id, b"U", merged)
            for connection in list(self.connections):
                if connection is not only:
                    await connection.deliver(frame)
            self.since_compaction += len(pending)
            if self.since_compaction >= self.compact_after:
                self.since_compaction = 0
                self.server.spawn(self.server.store.compact(self.case_id, self.sections))
        if remote:
            merged = remote[0] if len(remote) == 1 else merge_updates(*remote)
            frame = create_update_message(merged)
            for connection in list(self.connections):
                await connection.deliver(frame)

    def texts(self) -> dict[str, str]:
        return {key: str(self.doc.get(key, type=Text)) for key in self.sections}


class CollabServer:
    """All plan rooms of this process, their persistence and their fan-out."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        redis: Any | None = None,
        unload_after: float = UNLOAD_AFTER,
    ) -> None:
        self.store = PlanStore(factory)
        self.redis = redis
        self.unload_after = unload_after
        self.rooms: dict[int, Room] = {}
        self.process_id = secrets.token_bytes(8)
        self.outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.pubsub: Any = None
        self.wanted: set[str] = set()  # channels the rooms here need
        self.resubscribe = False  # a subscription failed (Redis away): retry in the read loop
        self.reader: asyncio.Task[None] | None = None
        self.publisher: asyncio.Task[None] | None = None
        self.drops: dict[Connection, int] = {}
        self.dirty: set[Room] = set()
        self.flush_scheduled = False
        self.flush_lock = asyncio.Lock()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("collab.background_failed", exc_info=task.exception())

    # ------------------------------------------------------------ group commit

    def mark_dirty(self, room: Room) -> None:
        self.dirty.add(room)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(lambda: self.spawn(self.flush()))

    async def flush(self) -> None:
        """One commit for everything every room received in this event-loop turn, then broadcast.

        Durable before visible: nothing is sent to other clients or processes before it is stored.
        """
        async with self.flush_lock:
            self.flush_scheduled = False
            rooms, self.dirty = self.dirty, set()
            batches = []
            for room in rooms:
                pending, room.pending = room.pending, []
                remote, room.remote = room.remote, []
                batches.append((room, pending, remote))
            stored = [
                (room.case_id, update) for room, pending, _ in batches for update, _c in pending
            ]
            if stored:
                try:
                    await self.store.append_many(stored)
                except Exception as exc:
                    # Not persisted (say the database restarted). The room's memory now holds edits
                    # the database lacks, so the room is given up: every client is disconnected and,
                    # on reconnecting, finds the room reloaded from the database and pushes what it
                    # still has (sync step 1), so the unsaved edits are saved then. Nobody saw them.
                    log.error("collab.persist_failed", updates=len(stored), exc_info=exc)
                    for room, pending, remote in batches:
                        if pending:
                            self._give_up(room)
                        else:
                            await room.broadcast([], remote)
                    return
            for room, pending, remote in batches:
                await room.broadcast(pending, remote)

    # ------------------------------------------------------------ Redis fan-out

    def channel(self, case_id: int) -> str:
        return f"kt:plan:{case_id}"

    async def start(self) -> None:
        if self.redis is not None:
            self.pubsub = self.redis.pubsub()
            self.publisher = asyncio.create_task(self._publish_loop(), name="collab-publish")

    async def stop(self) -> None:
        for room in list(self.rooms.values()):
            await self._unload(room)
        for task in (self.reader, self.publisher, *self.tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.pubsub is not None:
            with contextlib.suppress(Exception):
                await self.pubsub.aclose()
        await self.store.close()

    def fanout(self, case_id: int, kind: bytes, payload: bytes) -> None:
        if self.redis is not None:
            self.outbox.put_nowait((self.channel(case_id), kind + self.process_id + payload))

    async def _publish_loop(self) -> None:
        redis = self.redis
        if redis is None:
            return
        while True:
            batch = [await self.outbox.get()]
            while not self.outbox.empty() and len(batch) < 500:
                batch.append(self.outbox.get_nowait())
            try:
                if len(batch) == 1:
                    await redis.publish(*batch[0])
                else:  # what queued up meanwhile goes in one round trip, in order
                    pipe = redis.pipeline(transaction=False)
                    for channel, message in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
            except Exception as exc:  # Redis down: this process's clients still work together
                log.warning("collab.publish_failed", error=type(exc).__name__)

    async def _subscribe(self, case_id: int) -> None:
        if self.pubsub is None:
            return
        self.wanted.add(self.channel(case_id))
        try:
            await self.pubsub.subscribe(self.channel(case_id))
        except Exception as exc:  # Redis down: the room works for this process; retried below
            self.resubscribe = True
            log.warning("collab.subscribe_failed", error=type(exc).__name__)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read_loop(), name="collab-read")

    async def _resubscribe(self) -> None:
        """After Redis was away: subscribe what a room needs and Redis does not know of yet."""
        missing = self.wanted - {
            c.decode() if isinstance(c, bytes) else c for c in self.pubsub.channels
        }
        if missing:
            await self.pubsub.subscribe(*sorted(missing))

    async def _read_loop(self) -> None:
        while True:
            try:
                if self.resubscribe:
                    await self._resubscribe()
                    self.resubscribe = False
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception as exc:
                log.warning("collab.subscribe_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if message is None:
                if not self.pubsub.subscribed:
                    await asyncio.sleep(0.2)
                continue
            channel = (
                message["channel"].decode()
                if isinstance(message["channel"], bytes)
                else message["channel"]
            )
            data: bytes = message["data"]
            case_id = int(channel.rsplit(":", 1)[1])
            room = self.rooms.get(case_id)
            if room is None or data[1:9] == self.process_id:
                continue
            kind, payload = data[:1], data[9:]
            try:
                if kind == b"U":
                    room.apply(payload, "remote")
                elif kind == b"A":
                    room.awareness.apply_awareness_update(read_message(payload[1:]), "remote")
                    for connection in room.connections:
                        connection.push(payload)
                elif kind == b"S":
                    missing = room.doc.get_update(payload)
                    if len(missing) > 2:
                        self.fanout(case_id, b"U", missing)
            except Exception as exc:
                log.warning(
                    "collab.remote_message_failed", case_id=case_id, error=type(exc).__name__
                )

    # ------------------------------------------------------------ rooms

    async def room(self, case_id: int, sections: list[str]) -> Room:
        room = self.rooms.get(case_id)
        if room is None:
            room = Room(self, case_id, sections)
            self.rooms[case_id] = room
            try:
                await self._subscribe(
                    case_id
                )  # before loading: nothing published meanwhile is missed
                if (await self.store.pending_count(case_id)) >= COMPACT_EVERY:
                    await self.store.compact(case_id, sections)
                snapshot, updates, _ = await self.store.load(case_id)
                room.origin = "load"
                try:
                    if snapshot:
                        room.doc.apply_update(snapshot)
                    for update in updates:
                        room.doc.apply_update(update)
                finally:
                    room.origin = None
                room.pending.clear()
                room.remote.clear()
                if self.redis is not None:
                    self.fanout(case_id, b"S", room.doc.get_state())
                    room.resync_task = asyncio.create_task(self._resync(room))
            except BaseException as exc:
                room.failed = exc
                self.rooms.pop(case_id, None)
                room.ready.set()
                raise
            room.ready.set()
        else:
            await room.ready.wait()
            if room.failed is not None:
                raise RuntimeError("plan room failed to load")
        if room.unload_task is not None:
            room.unload_task.cancel()
            room.unload_task = None
        return room

    async def _resync(self, room: Room) -> None:
        while True:
            await asyncio.sleep(RESYNC_EVERY)
            self.fanout(room.case_id, b"S", room.doc.get_state())

    async def _unload_later(self, room: Room) -> None:
        await asyncio.sleep(self.unload_after)
        if not room.connections and self.rooms.get(room.case_id) is room:
            await self._unload(room)

    async def _unload(self, room: Room) -> None:
        self.rooms.pop(room.case_id, None)
        try:
            await room.flush()
            if room.resync_task is not None:
                room.resync_task.cancel()
            await self.store.compact(room.case_id, room.sections)
        except Exception as exc:
            log.warning("collab.unload_failed", case_id=room.case_id, error=type(exc).__name__)
        finally:
            if self.pubsub is not None:
                self.wanted.discard(self.channel(room.case_id))
                with contextlib.suppress(Exception):
                    await self.pubsub.unsubscribe(self.channel(room.case_id))

    def _give_up(self, room: Room) -> None:
        """Forget a room whose memory is ahead of the database; its clients reconnect (1011)."""
        if self.rooms.get(room.case_id) is room:
            self.rooms.pop(room.case_id)
        if room.resync_task is not None:
            room.resync_task.cancel()
        for connection in list(room.connections):
            self.drop(connection, 1011)

    def drop(self, connection: Connection, code: int) -> None:
        self.drops[connection] = code
        connection.closed = True
        connection.queue.put_nowait(None)

    # ------------------------------------------------------------ one client

    async def serve(
        self,
        case_id: int,
        sections: list[str],
        *,
        user_id: int,
        name: str,
        receive: Callable[[], Awaitable[bytes]],
        send: Callable[[bytes], Awaitable[None]],
    ) -> tuple[int, int]:
        """Run one client until it leaves; returns (close code, number of edits it sent)."""
        room = await self.room(case_id, sections)
        connection = Connection(send=send, user_id=user_id, name=name, colour=colour_for(user_id))
        room.connections.add(connection)
        writer = asyncio.create_task(self._write(connection))
        reader: asyncio.Task[int] | None = None
        code = 1000
        try:
            connection.push(create_sync_message(room.doc))  # sync step 1 (notes, item 1)
            if room.awareness.states:
                connection.push(
                    create_awareness_message(
                        room.awareness.encode_awareness_update(list(room.awareness.states))
                    )
                )
            reader = asyncio.create_task(self._read(room, connection, receive))
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                code = reader.result()
            else:
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader
        finally:
            if reader is not None and not reader.done():
                reader.cancel()
            room.connections.discard(connection)
            code = self.drops.pop(connection, code)
            connection.closed = True
            connection.queue.put_nowait(None)
            with contextlib.suppress(BaseException):
                await writer
            if connection.awareness_ids:
                ids = sorted(connection.awareness_ids & set(room.awareness.states))
                if ids:
                    room.awareness.remove_awareness_states(ids, "disconnect")
                    frame = create_awareness_message(room.awareness.encode_awareness_update(ids))
                    for other in room.connections:
                        other.push(frame)
                    self.fanout(case_id, b"A", frame)
            if not room.connections and self.rooms.get(case_id) is room:
                room.unload_task = asyncio.create_task(self._unload_later(room))
        return code, connection.edits

    async def _read(
        self, room: Room, connection: Connection, receive: Callable[[], Awaitable[bytes]]
    ) -> int:
        """Read frames until the client goes; the close code says why (1009 too big, 1003 malformed)."""
        while not connection.closed:
            try:
                message = await receive()
            except Exception:  # the client went away
                return 1000
            if len(message) > MAX_FRAME:
                return 1009
            try:
                self._handle(room, connection, message)
            except Exception:  # a malformed frame: this connection goes, the room stays
                return 1003
        return 1000

    def _handle(self, room: Room, connection: Connection, message: bytes) -> None:
        if not message:
            raise ProtocolError("empty frame")
        kind = message[0]
        if kind == MSG_SYNC:
            if len(message) < 2 or message[1] > 2:
                raise ProtocolError("unknown sync message")
            if message[1] in (1, 2):
                connection.edits += 1
            reply = room.apply(message[1:], connection, sync_payload=True)
            if reply:
                connection.push(reply)
        elif kind == MSG_AWARENESS:
            update = read_message(message[1:])
            entries = decode_awareness(update)
            # The name and colour others see come from the login, not from the client.
            trusted = []
            known, meta = room.awareness.states, room.awareness.meta
            for client_id, clock, state in entries:
                current = meta.get(client_id)
                if current is not None and not (
                    current["clock"] < clock
                    or (current["clock"] == clock and state == "null" and client_id in known)
                ):
                    # Nothing new (y-websocket clients re-send every state they receive): relaying
                    # it would multiply awareness traffic by the room's size for no effect.
                    continue
                if state != "null":
                    value = json.loads(state)
                    if not isinstance(value, dict):
                        raise ProtocolError("awareness state is not an object")
                    value["user"] = {
                        "name": connection.name,
                        "color": connection.colour,
                        "id": connection.user_id,
                    }
                    state = json.dumps(value, ensure_ascii=False)
                    connection.awareness_ids.add(client_id)
                trusted.append((client_id, clock, state))
            if not trusted:
                return
            update = encode_awareness(trusted)
            room.awareness.apply_awareness_update(update, connection)
            frame = create_awareness_message(update)
            for other in room.connections:  # including the sender (notes, item 2)
                other.push(frame)
            self.fanout(room.case_id, b"A", frame)
        elif kind == MSG_QUERY_AWARENESS:
            connection.push(
                create_awareness_message(
                    room.awareness.encode_awareness_update(list(room.awareness.states))
                )
            )
        elif kind == MSG_AUTH:
            return
        else:
            raise ProtocolError("unknown message type")

    async def _write(self, connection: Connection) -> None:
        while True:
            frame = await connection.queue.get()
            if frame is None:
                return
            try:
                await connection.send(frame)
            except Exception:
                connection.closed = True
                return


def section_keys(leefgebied_keys: list[str]) -> list[str]:
    return ["doel", *leefgebied_keys]
