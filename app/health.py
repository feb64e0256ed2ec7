"""GET /health: whether the app can serve, with the state of its database, Redis and jobs."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from sqlalchemy import select, text

from app.jobs import JobRun
from app.settings import Settings


@get("/health", media_type=MediaType.JSON, tags=["beheer"], opt={"public": True})
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Answers 200 with `{"status": "ok", ...}` when the database answers; 503 otherwise."""
    settings: Settings = request.app.state.settings
    checks: dict[str, Any] = {}
    ok = True
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "onbereikbaar"
        ok = False
    checks["database_engine"] = "sqlite" if settings.is_sqlite else "postgresql"
    redis_state = "niet ingesteld (alles in dit proces)"
    if settings.redis_url:
        redis_client = request.app.state.get("redis")
        try:
            if redis_client is None:
                raise RuntimeError("no client")
            await redis_client.ping()
            redis_state = "ok"
        except Exception:
            redis_state = "onbereikbaar"
    checks["redis"] = redis_state
    checks["jobs"] = request.app.state.get(
        "jobs_state", "in dit proces" if settings.run_jobs_in_process else "arq-worker"
    )
    if checks["jobs"] == "arq-worker":
        checks["worker"] = await _worker_state(request)
    if ok:
        checks.update(await _job_runs(request))
    body = {"status": "ok" if ok else "error", **checks}
    return Response(body, status_code=200 if ok else 503)


async def _worker_state(request: Request[Any, Any, Any]) -> str:
    """An arq worker refreshes its health-check key every 30 s; without it no jobs run."""
    redis_client = request.app.state.get("redis")
    try:
        if redis_client is None:
            raise RuntimeError("no client")
        alive = await redis_client.exists("arq:queue:health-check")
    except Exception:
        return "onbekend (Redis onbereikbaar)"
    return "ok" if alive else "geen worker actief"


async def _job_runs(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """When a periodic job last finished, and which failed last time (names only)."""
    async with request.app.state.session_factory() as session:
        runs = (await session.scalars(select(JobRun))).all()
    finished = [r.last_finished_at for r in runs if r.last_finished_at is not None]
    return {
        "last_job_at": max(finished).isoformat(timespec="seconds") if finished else None,
        "failed_jobs": sorted(r.name for r in runs if r.last_status == "failed"),
    }


ROUTES = [health]
