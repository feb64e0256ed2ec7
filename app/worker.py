"""arq worker (REDIS_URL set): the periodic jobs as cron jobs, plus jobs enqueued by the app.

Start it with `python -m app.cli worker`. arq's cron jobs carry a unique id per run, so with several
workers each run happens once.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings

from app.db import create_engine, session_factory
from app.jobs import periodic_jobs, run_recorded
from app.logs import configure_logging
from app.settings import Settings


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_json)
    engine = create_engine(settings.database_url)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["session_factory"] = session_factory(engine)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


def _recorded(name: str, function: Any) -> Any:
    async def job(ctx: dict[str, Any]) -> Any:
        return await run_recorded(name, function, ctx)

    job.__name__ = name
    job.__qualname__ = name
    return job


def _cron_jobs() -> list[Any]:
    jobs = []
    for periodic in periodic_jobs():
        seconds = int(periodic.every.total_seconds())
        if seconds < 60:
            schedule: dict[str, Any] = {"second": set(range(0, 60, seconds))}
        elif seconds < 3600:
            schedule = {"minute": set(range(0, 60, seconds // 60))}
        else:
            schedule = {"minute": {7}, "hour": set(range(0, 24, seconds // 3600))}
        jobs.append(
            cron(
                _recorded(periodic.name, periodic.function),
                name=periodic.name,
                run_at_startup=periodic.at_start,
                unique=True,
                **schedule,
            )
        )
    return jobs


def _functions() -> list[Any]:
    return [_recorded(p.name, p.function) for p in periodic_jobs()]


class WorkerSettings:
    """arq settings (read by `arq app.worker.WorkerSettings` and by the CLI)."""

    functions = _functions()
    cron_jobs = _cron_jobs()
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(
        Settings.from_env().redis_url or "redis://127.0.0.1:6379/0"
    )
    max_tries = 3
    job_timeout = 600
    health_check_interval = 30
