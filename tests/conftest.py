"""Fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

- SQLite: a template database (migrated with Alembic, reference and demo data loaded) is built once
  per worker and copied for each test.
- PostgreSQL: template databases (migrated, reference and demo data) are built once per worker;
  each test gets its own clone (CREATE DATABASE … TEMPLATE), dropped in the background afterwards.
With KT_TEST_NOW set (tests/support/clock.py) every test, and every process it starts, runs from that
moment on; the templates are built on that day too. At the end the run says which suites it
skipped and writes var/test-report.json (CI checks that the PostgreSQL suite ran).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import migrate
from app.db import create_engine, session_factory
from app.demo import load_demo
from app.main import create_app
from app.reference.services import load_reference_data
from app.settings import ROOT, Settings
from tests.support import clock

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("CHROMIUM_PATH", ""),
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
        )
        if p and Path(p).exists()
    ),
    "",
)
KHAL = shutil.which("khal") or ""
TEST_SECRET = "test-secret-key-for-the-suite-only"


def xdist_worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# Two checkouts of the project may run their suites at the same time against one PostgreSQL
# server (a CI clone beside a working tree): their scratch databases carry a tag of the checkout.
CHECKOUT_TAG = hashlib.sha1(str(ROOT).encode()).hexdigest()[:6]  # noqa: S324 - a name, not a secret


def worker_id() -> str:
    """Names this test process's scratch databases: unique per checkout and xdist worker."""
    return f"{CHECKOUT_TAG}_{xdist_worker()}"


def pg_url_for(database: str) -> str:
    return re.sub(r"/[^/]*$", f"/{database}", TEST_DATABASE_URL)


async def _pg_execute(*statements: str) -> None:
    import asyncpg

    dsn = TEST_DATABASE_URL.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class PgDatabases:
    """Per-test PostgreSQL databases cloned from migrated templates; old clones dropped in the background."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.dropper = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.templates: dict[str, str] = {}

    def build_templates(self) -> None:
        with template_clock():
            self._build_templates()

    def _build_templates(self) -> None:
        for name, demo in (("empty", False), ("demo", True)):
            db = f"kt_tmpl_{name}_{worker_id()}"
            asyncio.run(
                _pg_execute(
                    f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"'
                )
            )
            url = pg_url_for(db)
            migrate(settings_for(url, Path("/tmp")))
            asyncio.run(_load(url, demo))
            self.templates[name] = db

    def clone(self, kind: str) -> str:
        db = f"kt_t_{worker_id()}_{next(self.counter)}"
        asyncio.run(
            _pg_execute(
                f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
                f'CREATE DATABASE "{db}" TEMPLATE "{self.templates[kind]}"',
            )
        )
        return db

    def drop_later(self, db: str) -> None:
        self.dropper.submit(
            asyncio.run, _pg_execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        )

    def close(self) -> None:
        self.dropper.shutdown(wait=True)


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "outbox_dir": data_dir / "outbox",
        "secret_key": TEST_SECRET,
        "base_url": "http://testserver.local",
        "redis_url": "",
        "run_jobs_in_process": False,
        "log_level": os.environ.get("TEST_LOG_LEVEL", "WARNING"),
    }
    values.update(overrides)
    return Settings.from_env(**values)


async def _load(database_url: str, demo: bool) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await load_reference_data(session)
            if demo:
                await load_demo(session)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the clock (KT_TEST_NOW)


@pytest.fixture(scope="session", autouse=True)
def session_clock() -> Iterator[None]:
    """Under KT_TEST_NOW what runs outside a test (module fixtures, set-ups) is on that day too."""
    with clock.travel(clock.configured()):
        yield


def template_clock() -> contextlib.AbstractContextManager[None]:
    """The templates' demo world is made at exactly KT_TEST_NOW, the moment every test starts at,
    so nothing in it lies after a test's "now" (the clock stands still while they are built)."""
    return clock.travel(clock.configured(), tick=False)


@pytest.fixture(scope="module", autouse=True)
def module_clock(session_clock: None) -> Iterator[None]:
    """Module fixtures (a live app, a browser) start at KT_TEST_NOW too, not minutes after it."""
    with clock.travel(clock.configured()):
        yield


@pytest.fixture(autouse=True)
def test_clock(module_clock: None) -> Iterator[None]:
    """Under KT_TEST_NOW every test starts at exactly that moment; time runs on from there."""
    with clock.travel(clock.configured()):
        yield


# ---------------------------------------------------------------- templates (once per worker)


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sqlite-templates")
    templates = {}
    with template_clock():
        for name, demo in (("empty", False), ("demo", True)):
            path = base / f"{name}.db"
            url = f"sqlite+aiosqlite:///{path}"
            migrate(settings_for(url, base))
            asyncio.run(_load(url, demo))
            templates[name] = path
    return templates


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL-suite overgeslagen: TEST_DATABASE_URL is niet gezet")
    databases = PgDatabases()
    databases.build_templates()
    yield databases
    databases.close()


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _database(request: pytest.FixtureRequest, tmp_path: Path, demo: bool) -> str:
    kind = "demo" if demo else "empty"
    if request.param == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        path = tmp_path / "test.db"
        shutil.copyfile(templates[kind], path)
        return f"sqlite+aiosqlite:///{path}"
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    db = databases.clone(kind)
    request.addfinalizer(lambda: databases.drop_later(db))
    return pg_url_for(db)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with migrations, reference data and the demo world loaded."""
    return _database(request, tmp_path, demo=True)


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database with reference data only."""
    return _database(request, tmp_path, demo=False)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Direct database access for arranging and asserting, on the test's own event loop.

    (The test client runs the app on a loop of its own; asyncpg connections cannot cross loops,
    so the tests never borrow the app's engine.)
    """
    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- helpers


async def login(
    client: AsyncTestClient[Litestar], email: str, password: str = "demo-wachtwoord"
) -> None:
    page = await client.get("/inloggen")
    csrf = page.cookies.get("kt_csrf") or client.cookies.get("kt_csrf")
    response = await client.post(
        "/inloggen",
        data={"email": email, "password": password, "_csrf_token": csrf or ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "kt_sessie" in client.cookies


async def api_token(
    client: AsyncTestClient[Litestar], email: str, password: str = "demo-wachtwoord"
) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def csrf_of(client: AsyncTestClient[Litestar]) -> str:
    return client.cookies.get("kt_csrf") or ""


COORDINATOR_FRL = "coordinator@fryslan.zvh.example"
COORDINATOR_GRN = "coordinator@groningen.zvh.example"
PI_CASEMANAGER = "casemanager@pi-leeuwarden.example"
RECLASSERING = "casemanager@reclassering.example"
GGZ_PARTNER = "partner@ggz-friesland.example"
BEHEERDER = "beheer@fryslan.zvh.example"
GEMEENTE_LWD = "gcn@leeuwarden.example"


# ---------------------------------------------------------------- reporting


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    passed = terminalreporter.stats.get("passed", [])
    counts = {"sqlite": 0, "postgresql": 0, "browser": 0, "redis": 0, "calendar_client": 0}
    for report in passed:
        node = report.nodeid
        if "[postgresql" in node or "-postgresql" in node:
            counts["postgresql"] += 1
        if "[sqlite" in node or "-sqlite" in node:
            counts["sqlite"] += 1
        if "browser" in report.keywords:
            counts["browser"] += 1
        if "redis" in report.keywords:
            counts["redis"] += 1
        if "calendar_client" in report.keywords:
            counts["calendar_client"] += 1
    skipped_suites = []
    if not TEST_DATABASE_URL:
        skipped_suites.append("PostgreSQL (TEST_DATABASE_URL is niet gezet)")
    if not TEST_REDIS_URL:
        skipped_suites.append("Redis (TEST_REDIS_URL is niet gezet)")
    if not CHROMIUM:
        skipped_suites.append(
            "browser (geen Chromium gevonden; zet CHROMIUM_PATH of installeer chromium)"
        )
    if not KHAL:
        skipped_suites.append("agenda-app (khal niet gevonden; apt-get install khal)")
    terminalreporter.write_sep("=", "suites")
    terminalreporter.write_line(
        f"geslaagd: {counts['sqlite']} op SQLite, {counts['postgresql']} op PostgreSQL, "
        f"{counts['redis']} met Redis, {counts['browser']} in Chromium, "
        f"{counts['calendar_client']} met een agenda-app"
    )
    if skipped_suites:
        terminalreporter.write_line("OVERGESLAGEN: " + "; ".join(skipped_suites))
    # A run under the test clock (make test-dates) keeps its report apart from the plain suite's.
    report_path = (
        ROOT / "var" / ("test-report-clock.json" if clock.configured() else "test-report.json")
    )
    if xdist_worker() == "main":
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(
            json.dumps(
                {
                    "passed": counts,
                    "skipped_suites": skipped_suites,
                    "exitstatus": int(exitstatus),
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                }
            )
        )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM:
        pytest.skip("browser-suite overgeslagen: geen Chromium gevonden")
    return CHROMIUM
