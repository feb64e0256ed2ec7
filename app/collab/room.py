"""One plan document with its connected clients, and one client's socket in it. ("note N": the
numbered notes on the plan channel in docs/interfaces.md.)"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pycrdt import Awareness, Doc, Text, create_update_message, handle_sync_message, merge_updates

if TYPE_CHECKING:
    from app.collab.server import CollabServer

COMPACT_EVERY = 500


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
            self.doc.get(key, type=Text)  # declare the schema before any update (note 5)
        self.awareness = Awareness(self.doc)
        self.awareness.set_local_state(None)  # the server has no presence of its own (note 6)
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
        # Called inside apply_update; `self.origin` says who sent it (note 3).
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
