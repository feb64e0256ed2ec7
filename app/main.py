"""create_app(settings): the Litestar application with its plugins, templates and routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import health, pages
from app.accounts import routes as account_routes
from app.admin import routes as admin_routes
from app.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    authentication_guard,
    provide_audit,
    provide_optional_principal,
    provide_principal,
)
from app.cases import deps as case_deps
from app.cases import routes as case_routes
from app.collab.server import CollabServer
from app.coordination import deps as coordination_deps
from app.coordination import routes as coordination_routes
from app.coordination.live import announce_case
from app.coordination.release import sync_release_appointments
from app.db import create_engine, session_factory
from app.errors import EXCEPTION_HANDLERS
from app.jobs import InProcessRunner
from app.logs import configure_logging
from app.meetings import deps as meeting_deps
from app.meetings import routes as meeting_routes
from app.middleware import RequestContextMiddleware, upload_rate_limit
from app.realtime import Presence, create_channels
from app.settings import ROOT, Settings
from app.web import Assets, create_environment

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One session per request; committed after the handler succeeds, rolled back otherwise."""
    async with state.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def create_served_app() -> ASGIApp:
    """The app as `python -m app.cli serve` runs it: one long-lived process."""
    app = create_app()
    app.on_startup.append(_freeze_startup_objects)
    return SocketSendPassthrough(app)


class SocketSendPassthrough:
    """Outermost layer: gives WebSocket handlers the server's own `send` (as scope state
    `server_send`), so the plan channel's many small frames skip the framework's per-message
    wrappers (bench/plan_latency.py). HTTP is untouched."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope.setdefault("state", {})["server_send"] = send
        await self.app(scope, receive, send)


def _freeze_startup_objects() -> None:
    # Everything loaded at start-up (models, routes, templates) lives as long as the process. Moving
    # it out of the collector's reach keeps full collections short: without this, a collection in
    # the middle of a meeting paused every socket for 100-250 ms (bench/plan_latency.py).
    gc.collect()
    gc.freeze()


def _lifespan(settings: Settings, engine: AsyncEngine, channels: ChannelsPlugin) -> Lifespan:
    """What lives as long as the app: sessions, Redis, presence, the plan server, the hooks the
    domains call each other through, and the in-process job runner."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = session_factory(engine)
        redis_client = None
        if settings.redis_url:
            from redis.asyncio import Redis

            redis_client = Redis.from_url(
                settings.redis_url, socket_connect_timeout=2, socket_timeout=5
            )
            app.state.redis = redis_client
        app.state.channels = channels
        app.state.presence = Presence(redis_client)
        collab = CollabServer(app.state.session_factory, redis_client)
        await collab.start()
        app.state.collab = collab

        async def on_case_change(case_id: int, event: str) -> None:
            await announce_case(app, app.state.session_factory, case_id, event)

        app.state.on_case_change = on_case_change

        async def after_notices(session: AsyncSession, case_ids: list[int]) -> None:
            await sync_release_appointments(session, case_ids)

        app.state.after_notices = after_notices
        runner = None
        if settings.run_jobs_in_process:
            runner = InProcessRunner(
                {"session_factory": app.state.session_factory, "settings": settings}
            )
            await runner.start()
            app.state.jobs_runner = runner
            app.state.jobs_state = "in dit proces"
        else:
            app.state.jobs_state = "arq-worker" if settings.redis_url else "uit"
        try:
            yield
        finally:
            await collab.stop()
            if runner is not None:
                await runner.stop()
            if redis_client is not None:
                await redis_client.aclose()
            await engine.dispose()

    return lifespan


def _route_groups() -> list[Any]:
    """The app's routes: a handful of groups, each domain's in its routes package."""
    return [
        *health.ROUTES,
        *pages.ROUTES,
        account_routes.ROUTER,
        case_routes.ROUTER,
        meeting_routes.ROUTER,
        coordination_routes.ROUTER,
        admin_routes.ROUTER,
        create_static_files_router(
            path="/static",
            directories=[ROOT / "static"],
            include_in_schema=False,
            opt={"public": True},
        ),
    ]


def _openapi() -> OpenAPIConfig:
    """The API's schema at /api/schema (JSON), with bearer tokens as its one security scheme."""
    return OpenAPIConfig(
        title="Ketentafel API",
        version="1",
        path="/api/schema",
        render_plugins=[JsonRenderPlugin()],
        openapi_router=Router(path="/api/schema", route_handlers=[], opt={"public": True}),
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="Token uit POST /api/v1/auth/token of een API-sleutel",
                )
            }
        ),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_json)
    engine = create_engine(settings.database_url)
    assets = Assets(ROOT / "static" / "build")
    channels = create_channels(settings.redis_url)
    return Litestar(
        route_handlers=_route_groups(),
        lifespan=[_lifespan(settings, engine, channels)],
        guards=[authentication_guard],
        plugins=[channels],
        state=State({"settings": settings}),
        dependencies={
            "db": Provide(provide_db),
            "principal": Provide(provide_principal),
            "maybe_principal": Provide(provide_optional_principal),
            "audit": Provide(provide_audit),
            # the objects a request names by id, each through the access policy
            **case_deps.DEPENDENCIES,
            **meeting_deps.DEPENDENCIES,
            **coordination_deps.DEPENDENCIES,
        },
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(create_environment(assets))
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            cookie_httponly=False,
            exclude=["/api/", "/collab/", "/calendar/", "/health"],
        ),
        middleware=[
            DefineMiddleware(RequestContextMiddleware, secure=settings.secure_cookies),
            upload_rate_limit(settings.upload_rate_per_minute),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=_openapi(),
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        logging_config=None,  # app/logs.py configures structlog; no framework handlers on the root logger
        debug=False,
    )
