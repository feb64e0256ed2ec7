"""Benchmark: the plan channel under load, against the reference Yjs server in the same run.

    .venv/bin/python -m bench.plan_latency                      # 31 clients in one room; 500 clients over 50 rooms
    .venv/bin/python -m bench.plan_latency --clients 31 --rooms 1 --keystrokes 300
    .venv/bin/python -m bench.plan_latency --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test \
        --redis redis://127.0.0.1:6379/0                        # the production set-up

For each scenario: N real Yjs clients (yjs + y-websocket, driven from Node by bench/yjs_load.mjs) per
room; one writer per room types a keystroke every --interval ms; the others record its arrival.
Prints keystroke-to-peer latency p50/p95/p99, updates per second, the server's CPU time and memory,
for this app (SQLite, one process) and for @y/websocket-server@0.1.1 with the same load, and the ratio.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.cli import migrate
from app.settings import ROOT, Settings
from bench.common import scratch_postgres
from tests.conftest import _load
from tests.support.live import LiveServer, free_port
from tests.support.notice_helpers import csv_bytes, instroom, new_bsn

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def drive(spec: dict[str, Any], pid: int) -> dict[str, Any]:
    node = shutil.which("node") or "node"
    before = cpu_seconds(pid)
    started = time.perf_counter()
    out = subprocess.run(
        [node, str(ROOT / "bench" / "yjs_load.mjs"), json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"load driver failed: {out.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["cpu_s"] = round(cpu_seconds(pid) - before, 2)
    result["wall_s"] = round(wall, 1)
    result["rss_mib"] = round(rss_mib(pid), 1)
    return result


def median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over runs (lost: the worst; converged: all of them)."""
    out: dict[str, Any] = {}
    for key, value in results[0].items():
        values = [r[key] for r in results]
        if key == "lost":
            out[key] = max(values)
        elif isinstance(value, bool):
            out[key] = all(values)
        elif isinstance(value, int | float):
            out[key] = statistics.median(values)
        else:
            out[key] = value
    return out


def make_cases(server: LiveServer, count: int) -> tuple[list[int], str]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/token",
            json={"email": "coordinator@fryslan.zvh.example", "password": "demo-wachtwoord"},
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        cases = [
            c["id"]
            for c in http.get("/api/v1/cases", headers=headers, params={"status": "open"}).json()
        ]
        if len(cases) < count:
            records = [instroom(f"BENCH-{i}", new_bsn()) for i in range(count - len(cases))]
            http.post(
                "/api/v1/notices",
                content=csv_bytes(records),
                headers={**headers, "Content-Type": "text/csv"},
            )
            cases = [
                c["id"]
                for c in http.get(
                    "/api/v1/cases", headers=headers, params={"status": "open"}
                ).json()
            ]
        http.get("/inloggen")
        http.post(
            "/inloggen",
            data={
                "email": "coordinator@fryslan.zvh.example",
                "password": "demo-wachtwoord",
                "_csrf_token": http.cookies.get("kt_csrf") or "",
            },
        )
        cookie = f"kt_sessie={http.cookies.get('kt_sessie')}"
    return cases[:count], cookie


def start_reference(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    process = subprocess.Popen(
        [
            shutil.which("node") or "node",
            str(ROOT / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("reference server did not start")


def scenario(
    label: str,
    clients: int,
    rooms: int,
    keystrokes: int,
    interval: int,
    server: LiveServer,
    cases: list[int],
    cookie: str,
    reference_port: int,
    reference_pid: int,
    repeat: int,
) -> None:
    runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for run in range(repeat):  # alternate, so both sides see the same machine
        ours = drive(
            {
                "rooms": [
                    {"base": f"ws://127.0.0.1:{server.port}/collab/plans", "room": str(c)}
                    for c in cases[:rooms]
                ],
                "clients": clients,
                "keystrokes": keystrokes,
                "interval": interval,
                "cookie": cookie,
            },
            server.process.pid,  # type: ignore[union-attr]
        )
        theirs = drive(
            {
                "rooms": [
                    {"base": f"ws://127.0.0.1:{reference_port}", "room": f"bench-{label}-{run}-{i}"}
                    for i in range(rooms)
                ],
                "clients": clients,
                "keystrokes": keystrokes,
                "interval": interval,
            },
            reference_pid,
        )
        runs.append((ours, theirs))
    ours, theirs = median_of([o for o, _ in runs]), median_of([t for _, t in runs])
    print(
        f"\n== {label}: {rooms} room(s) × {clients} clients, {keystrokes} keystrokes per room every {interval} ms"
        f" (median of {repeat} runs each)"
    )
    print(f"{'':22s}{'this app':>14s}{'reference':>14s}{'ratio':>8s}")
    for key, unit in (
        ("p50", "ms"),
        ("p95", "ms"),
        ("p99", "ms"),
        ("max", "ms"),
        ("updates_per_second", "/s"),
        ("cpu_s", "s"),
        ("rss_mib", "MiB"),
        ("connect_ms", "ms"),
        ("lost", ""),
        ("converged", ""),
    ):
        a, b = ours[key], theirs[key]
        ratio = (
            f"{a / b:6.2f}" if isinstance(a, int | float) and not isinstance(a, bool) and b else ""
        )
        fa = f"{a:.1f}" if isinstance(a, float) else str(a)
        fb = f"{b:.1f}" if isinstance(b, float) else str(b)
        print(f"{key + ' (' + unit + ')' if unit else key:22s}{fa:>14s}{fb:>14s}{ratio:>8s}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rooms", type=int)
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; medians printed")
    parser.add_argument("--pg", help="serve from PostgreSQL (scratch database bench_plan)")
    parser.add_argument("--redis", help="fan out through Redis, as with several processes")
    args = parser.parse_args()
    scenarios = (
        [(f"{args.rooms or 1} room(s)", args.clients, args.rooms or 1)]
        if args.clients
        else [("one room", 31, 1), ("many rooms", 10, 50)]
    )
    engine = "PostgreSQL" if args.pg else "SQLite"
    print(f"this app: one process, {engine}" + (", Redis fan-out" if args.redis else ""))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = (
            scratch_postgres(args.pg, "bench_plan")
            if args.pg
            else f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        )
        migrate(Settings.from_env(database_url=url, data_dir=folder))
        asyncio.run(_load(url, demo=True))
        env = {"RUN_JOBS_IN_PROCESS": "false", "LOG_LEVEL": "WARNING"}
        if args.redis:
            env["REDIS_URL"] = args.redis
        server = LiveServer(url, folder, extra_env=env).start()
        reference_port = free_port()
        reference = start_reference(reference_port)
        try:
            cases, cookie = make_cases(server, max(rooms for _, _, rooms in scenarios))
            for label, clients, rooms in scenarios:
                scenario(
                    label,
                    clients,
                    rooms,
                    args.keystrokes,
                    args.interval,
                    server,
                    cases,
                    cookie,
                    reference_port,
                    reference.pid,
                    args.repeat,
                )
        finally:
            server.stop()
            reference.terminate()
    print(
        "\nrepeat: .venv/bin/python -m bench.plan_latency"
        + (f" --clients {args.clients} --rooms {args.rooms or 1}" if args.clients else "")
        + (f" --pg {args.pg}" if args.pg else "")
        + (f" --redis {args.redis}" if args.redis else "")
    )


if __name__ == "__main__":
    main()
