"""GET /health: whether the app can serve, with the state of its database, Redis and jobs."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from sqlalchemy import text

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
    body = {"status": "ok" if ok else "error", **checks}
    return Response(body, status_code=200 if ok else 503)


ROUTES = [health]
