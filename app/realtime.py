"""Meeting events (server -> browsers) over Litestar Channels, and who is connected (presence).

Events are signals, never data: `{"type": "room", "v": 12}`, `{"type": "actions", "case_id": 7}`.
Each browser re-fetches its fragments under its own authorisation. Channels run in memory, or over
Redis when REDIS_URL is set so every app process sees every event. Presence is kept the same way:
in this process's memory, or in a Redis hash with expiring entries shared by all processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.response import ServerSentEventMessage

from app.logs import get_logger

log = get_logger("app.realtime")
PRESENCE_TTL = 45.0  # seconds an entry lives without a heartbeat
HEARTBEAT = 15.0


def meeting_channel(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


class ResilientRedisBackend(RedisChannelsPubSubBackend):
    """Redis fan-out that outlives a Redis outage. While Redis is away an event still reaches this
    process's own subscribers (one process's meeting keeps following its chair); when Redis is
    back, subscriptions are renewed and fan-out between processes resumes by itself. (The plain
    backend's reader and publisher stop for good at the first Redis error.)"""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.wanted: set[str] = set()

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self.wanted.update(channels)
        try:
            await super().subscribe(channels)
        except Exception as exc:  # renewed by the pump when Redis is back
            log.warning("realtime.subscribe_failed", error=type(exc).__name__)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        self.wanted.difference_update(channels)
        with contextlib.suppress(Exception):
            await super().unsubscribe(channels)

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        try:
            await super().publish(data, channels)
        except Exception as exc:
            log.warning("realtime.publish_failed", error=type(exc).__name__)
            for channel in channels:
                if channel in self.wanted:
                    self.events.put_nowait((channel, data))

    async def _pump(self) -> None:
        while True:
            try:
                async for event in super().stream_events():
                    self.events.put_nowait(event)
            except Exception as exc:
                log.warning("realtime.stream_failed", error=type(exc).__name__)
            await asyncio.sleep(1.0)
            if self.wanted:
                with contextlib.suppress(Exception):
                    await super().subscribe(sorted(self.wanted))

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        pump = asyncio.create_task(self._pump(), name="channels-pump")
        try:
            while True:
                yield await self.events.get()
        finally:
            pump.cancel()


def create_channels(redis_url: str) -> ChannelsPlugin:
    if redis_url:
        from redis.asyncio import Redis

        backend: Any = ResilientRedisBackend(
            redis=Redis.from_url(redis_url, socket_connect_timeout=2)
        )
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(
        backend=backend, arbitrary_channels_allowed=True, create_ws_route_handlers=False
    )


def publish(app: Litestar, meeting_id: int, event_type: str, **ids: int | str | None) -> None:
    """Send a signal to everyone in a meeting room. Only ids and types: no personal data."""
    for value in ids.values():
        if value is not None and not isinstance(value, int | str):
            raise TypeError("meeting events carry ids only")
    channels: ChannelsPlugin | None = app.state.get("channels")
    if channels is None:
        return
    try:
        channels.publish(json.dumps({"type": event_type, **ids}), meeting_channel(meeting_id))
    except Exception as exc:  # a broken Redis must not fail the change that was already committed
        log.warning("realtime.publish_failed", error=type(exc).__name__)


class Presence:
    """Who has a meeting open: per connection, with a heartbeat; Redis-backed across processes."""

    def __init__(self, redis: Any | None = None) -> None:
        self.redis = redis
        self.local: dict[int, dict[str, tuple[int, float]]] = {}

    def _key(self, meeting_id: int) -> str:
        return f"kt:presence:{meeting_id}"

    async def touch(self, meeting_id: int, connection: str, user_id: int) -> None:
        expires = time.time() + PRESENCE_TTL
        self.local.setdefault(meeting_id, {})[connection] = (user_id, expires)
        if self.redis is not None:
            try:
                await self.redis.hset(
                    self._key(meeting_id), f"{user_id}:{connection}", str(expires)
                )
                await self.redis.expire(self._key(meeting_id), int(PRESENCE_TTL * 4))
            except Exception as exc:
                log.warning("presence.redis_failed", error=type(exc).__name__)

    async def leave(self, meeting_id: int, connection: str) -> None:
        entry = self.local.get(meeting_id, {}).pop(connection, None)
        if self.redis is not None and entry is not None:
            try:
                await self.redis.hdel(self._key(meeting_id), f"{entry[0]}:{connection}")
            except Exception as exc:
                log.warning("presence.redis_failed", error=type(exc).__name__)

    async def users(self, meeting_id: int) -> set[int]:
        now = time.time()
        if self.redis is not None:
            try:
                entries = await self.redis.hgetall(self._key(meeting_id))
                live: set[int] = set()
                stale = []
                for field, expires in entries.items():
                    name = field.decode() if isinstance(field, bytes) else field
                    if float(expires) > now:
                        live.add(int(name.split(":", 1)[0]))
                    else:
                        stale.append(name)
                if stale:
                    await self.redis.hdel(self._key(meeting_id), *stale)
                return live
            except Exception as exc:
                log.warning("presence.redis_failed", error=type(exc).__name__)
        return {user for user, expires in self.local.get(meeting_id, {}).values() if expires > now}


async def meeting_events(
    app: Litestar, meeting_id: int, user_id: int
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The event stream of one browser in a meeting room: signals plus presence, with heartbeats."""
    channels: ChannelsPlugin = app.state.channels
    presence: Presence = app.state.presence
    connection = secrets.token_hex(6)
    subscriber = await channels.subscribe(meeting_channel(meeting_id))
    await presence.touch(meeting_id, connection, user_id)
    publish(app, meeting_id, "presence")
    try:
        yield ServerSentEventMessage(event="hello", data=json.dumps({"type": "hello"}), retry=2000)
        queue_iter = subscriber.iter_events().__aiter__()
        pending: asyncio.Task[bytes] | None = None
        while True:
            if pending is None:
                pending = asyncio.ensure_future(queue_iter.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT)
            if not done:
                await presence.touch(meeting_id, connection, user_id)
                yield ServerSentEventMessage(comment="ping")
                continue
            raw = pending.result()
            pending = None
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            yield ServerSentEventMessage(
                event=str(event.get("type", "room")), data=json.dumps(event)
            )
    finally:
        if pending is not None:
            pending.cancel()
        await channels.unsubscribe(subscriber)
        await presence.leave(meeting_id, connection)
        publish(app, meeting_id, "presence")
