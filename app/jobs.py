"""Periodic jobs: their schedule, a record of each run, and the in-process runner of the embedded mode.

The same job functions run under arq (app/worker.py) when REDIS_URL is set. A job function takes a
context dict with `session_factory` and `settings` (and `now` in tests with a controllable clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, transaction, utcnow
from app.logs import get_logger

log = get_logger("app.jobs")
JobFunction = Callable[[dict[str, Any]], Awaitable[Any]]


class JobRun(Base):
    """The last run of one periodic job (for /health and to space runs after a restart)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str] = mapped_column(String(200), default="")


@dataclass(frozen=True)
class Periodic:
    """A job and how often it runs; `at_start` runs it once when the runner starts."""

    name: str
    function: JobFunction
    every: dt.timedelta
    at_start: bool = False


def periodic_jobs() -> list[Periodic]:
    from app.accounts.jobs import prune_login_attempts_job
    from app.cases.jobs import expire_previews_job
    from app.coordination.jobs import (
        send_invitations_job,
        send_reminders_job,
        sync_release_appointments_job,
    )
    from app.mail import deliver_mail_job
    from app.meetings.jobs import build_agendas_job, ensure_meetings_job

    return [
        Periodic("ensure_meetings", ensure_meetings_job, dt.timedelta(hours=6), at_start=True),
        Periodic("build_agendas", build_agendas_job, dt.timedelta(minutes=10), at_start=True),
        Periodic("deliver_mail", deliver_mail_job, dt.timedelta(seconds=15)),
        Periodic("send_invitations", send_invitations_job, dt.timedelta(minutes=5), at_start=True),
        Periodic("send_reminders", send_reminders_job, dt.timedelta(minutes=15), at_start=True),
        Periodic("sync_release_appointments", sync_release_appointments_job, dt.timedelta(hours=1)),
        Periodic("expire_previews", expire_previews_job, dt.timedelta(hours=1)),
        Periodic("prune_login_attempts", prune_login_attempts_job, dt.timedelta(hours=1)),
    ]


async def run_recorded(name: str, function: JobFunction, ctx: dict[str, Any]) -> Any:
    """Run a job and record when it ran and whether it failed (never its data)."""
    factory: async_sessionmaker[AsyncSession] = ctx["session_factory"]
    started = utcnow()
    status, error, result = "ok", "", None
    try:
        result = await function(ctx)
    except Exception as exc:
        status, error = "failed", type(exc).__name__
        log.error("job.failed", job=name, exc_info=exc)
    try:
        async with transaction(factory) as session:
            row = await session.get(JobRun, name)
            if row is None:
                row = JobRun(name=name)
                session.add(row)
            row.last_started_at = started
            row.last_finished_at = utcnow()
            row.last_status = status
            row.last_error = error
    except Exception as exc:  # bookkeeping must never stop the runner
        log.warning("job.record_failed", job=name, error=type(exc).__name__)
    return result


class InProcessRunner:
    """Runs the periodic jobs inside the app process (the embedded default, no Redis)."""

    def __init__(self, ctx: dict[str, Any], tick: float = 5.0) -> None:
        self.ctx = ctx
        self.tick = tick
        self.jobs = periodic_jobs()
        self.last: dict[str, dt.datetime] = {}
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()

    async def start(self) -> None:
        factory: async_sessionmaker[AsyncSession] = self.ctx["session_factory"]
        async with factory() as session:
            for row in (await session.scalars(select(JobRun))).all():
                if row.last_started_at:
                    self.last[row.name] = row.last_started_at
        self.task = asyncio.create_task(self._loop(), name="in-process-jobs")

    def poke(self) -> None:
        """Ask for an early round (e.g. after mail was queued)."""
        self.wake.set()

    async def _loop(self) -> None:
        first = True
        while True:
            now = utcnow()
            for job in self.jobs:
                last = self.last.get(job.name)
                due = (first and job.at_start) or last is None or now - last >= job.every
                if due or (job.name == "deliver_mail" and self.wake.is_set()):
                    self.last[job.name] = now
                    await run_recorded(job.name, job.function, self.ctx)
            first = False
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.tick)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
