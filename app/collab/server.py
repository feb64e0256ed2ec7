"""All plan rooms of one process: serving a client, group commit, compaction and Redis fan-out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from pycrdt import create_awareness_message, create_sync_message, read_message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.collab.protocol import (
    MAX_FRAME,
    MSG_AUTH,
    MSG_AWARENESS,
    MSG_QUERY_AWARENESS,
    MSG_SYNC,
    ProtocolError,
    colour_for,
    decode_awareness,
    encode_awareness,
)
from app.collab.room import COMPACT_EVERY, Connection, Room
from app.collab.store import PlanStore
from app.logs import get_logger

log = get_logger("app.collab")
UNLOAD_AFTER = 15.0  # seconds a room stays loaded after its last client left
RESYNC_EVERY = 10.0  # seconds between state-vector exchanges across processes


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

    async def plan_texts(
        self,
        case_id: int,
        sections: list[str],
        session: AsyncSession | None = None,
        *,
        durable: bool = False,
    ) -> dict[str, str]:
        """The plan's text per section as it stands now: from its room when one is loaded in this
        process (with `durable`, after everything it received is stored, as a version needs), else
        from the database (pass the caller's open session; see `PlanStore.load`)."""
        room = self.rooms.get(case_id)
        if room is not None and room.ready.is_set():
            if durable:
                await room.flush()
            return room.texts()
        return await self.store.texts(case_id, sections, session)

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
            connection.push(
                create_sync_message(room.doc)
            )  # sync step 1 (docs/interfaces.md, note 1)
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
            for other in room.connections:  # including the sender (note 2)
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
