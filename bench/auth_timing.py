"""Does the answer's timing tell whether an account exists? Login and password-reset requests for
known and unknown addresses against a real server, each from an address of its own (so throttling
stays out of the way), alternating; plus what a throttled attempt costs.

    .venv/bin/python -m bench.auth_timing [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from app.cli import migrate
from app.db import create_engine, session_factory
from app.demo import load_demo
from app.reference.services import load_reference_data
from app.settings import ROOT, Settings
from bench.common import free_port, scratch_postgres

SECRET = "bench-secret-key"  # noqa: S105 - a throw-away server's key
KNOWN = "casemanager@pi-leeuwarden.example"
UNKNOWN = "niemand@nergens.example"


def addresses() -> Iterator[str]:
    """A fresh client address per request (198.18.0.0/15 is set aside for benchmarks)."""
    for high, low in itertools.product(range(256), range(1, 255)):
        yield f"198.18.{high}.{low}"


async def prepare(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await load_reference_data(session)
            await load_demo(session)
    finally:
        await engine.dispose()


def serve(url: str, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": SECRET,
        "PORT": str(port),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "RUN_JOBS_IN_PROCESS": "false",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXIES": "127.0.0.1",
        # every known request makes a link and an e-mail, as the first ones of an hour do
        "PASSWORD_RESET_MAILS_PER_HOUR": "100000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / f"server-{port}.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the app did not start")


async def measure(base: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    source = addresses()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.get("/inloggen")
        csrf = client.cookies.get("kt_csrf") or ""

        async def post(name: str, path: str, data: dict[str, str], address: str) -> None:
            started = time.perf_counter()
            response = await client.post(
                path,
                data={**data, "_csrf_token": csrf},
                headers={"X-Forwarded-For": address},
            )
            times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 400, 429), response.status_code

        for _ in range(3):  # warm up both paths
            for email in (KNOWN, UNKNOWN):
                await post("warm-up", "/wachtwoord-vergeten", {"email": email}, next(source))
                await post("warm-up", "/inloggen", {"email": email, "password": "x"}, next(source))
        for _ in range(rounds):
            for label, email in (("known", KNOWN), ("unknown", UNKNOWN)):
                await post(
                    f"reset request, {label}",
                    "/wachtwoord-vergeten",
                    {"email": email},
                    next(source),
                )
                await post(
                    f"wrong password, {label}",
                    "/inloggen",
                    {"email": email, "password": "geraden"},
                    next(source),
                )
        slowed = next(source)
        for _ in range(5):
            await post("warm-up", "/inloggen", {"email": KNOWN, "password": "geraden"}, slowed)
        for _ in range(rounds):
            await post("throttled attempt", "/inloggen", {"email": KNOWN, "password": "x"}, slowed)
    times.pop("warm-up")
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", help="PostgreSQL URL (a scratch database is made next to it)")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        url = (
            scratch_postgres(args.pg, "kt_bench_auth")
            if args.pg
            else f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        )
        migrate(Settings.from_env(database_url=url, data_dir=data_dir, secret_key=SECRET))
        asyncio.run(prepare(url))
        port = free_port()
        server = serve(url, data_dir, port)
        try:
            times = asyncio.run(measure(f"http://127.0.0.1:{port}", args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=10)
    engine = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"{engine}, {args.rounds} requests each, one real server process, each from its own address:"
    )
    print(f"  {'request':28s} {'p50':>8s} {'p90':>8s} {'mean':>8s}")
    for name, values in times.items():
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        print(
            f"  {name:28s} {statistics.median(values):6.1f}ms {p90:6.1f}ms "
            f"{statistics.fmean(values):6.1f}ms"
        )
    command = "  .venv/bin/python -m bench.auth_timing" + (f" --pg {args.pg}" if args.pg else "")
    print(f"repeat with:\n{command}")


if __name__ == "__main__":
    main()
