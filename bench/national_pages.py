"""Benchmark: pages at national scale on PostgreSQL.

    .venv/bin/python -m bench.national_pages --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test

Builds a scratch database `bench_national` with the demo world plus synthetic data for twelve
regions (150,000 cases with persons and detention periods, 1,000,000 actions, five years of weekly
meetings with every case discussed once, moments for the open cases), starts the app as its own
process, and drives it from a separate load-generating process: concurrent logged-in clients ask
for the agenda page of the coming meeting, a case page, Mijn werk and the calendar feed. Prints
p50/p95/p99 per page and the command to repeat. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.preferences import renew_calendar_secret
from app.cli import migrate
from app.db import create_engine, session_factory
from app.demo import load_demo
from app.meetings.agenda import build_agenda
from app.meetings.models import Meeting, MeetingSeries
from app.meetings.services import AMSTERDAM, ensure_meetings
from app.reference.models import Region
from app.reference.services import assign_province_to_region, load_reference_data
from app.settings import ROOT, Settings
from bench.common import free_port, scratch_postgres
from tests.support import clock

SECRET = "bench-national-secret-key"  # noqa: S105 (a scratch database)
OTHER_PROVINCES = [
    "Drenthe",
    "Overijssel",
    "Flevoland",
    "Gelderland",
    "Utrecht",
    "Noord-Holland",
    "Zuid-Holland",
    "Zeeland",
    "Noord-Brabant",
    "Limburg",
]
COORDINATOR = "coordinator@fryslan.zvh.example"
CASEMANAGER = "casemanager@pi-leeuwarden.example"
LEEFGEBIEDEN = ["identiteitsbewijs", "onderdak", "werk_inkomen", "schulden", "zorg"]
LEEFGEBIEDEN.append("sociaal_netwerk")


async def world(url: str) -> None:
    """The demo world, and ten more regions with a series each (twelve in all)."""
    engine = create_engine(url)
    async with session_factory(engine)() as s, s.begin():
        await load_reference_data(s)
        await load_demo(s)
        for i, province in enumerate(OTHER_PROVINCES):
            region = Region(
                code=re.sub(r"[^A-Z]", "", province.upper())[:3] + str(i),
                name=province,
                zvh_name=f"ZVH {province}",
            )
            s.add(region)
            await s.flush()
            await assign_province_to_region(s, region, province)
            s.add(MeetingSeries(region_id=region.id, name=f"Instroomoverleg {province}", weekday=1))
    await engine.dispose()


FILL = [
    # persons and cases: 15 % open, 5 % in nazorg, the rest closed over five years
    """INSERT INTO persons (bsn, first_names, prefix, last_name, birth_date, created_at, updated_at)
       SELECT lpad((800000000 + g)::text, 9, '0'),
              (ARRAY['Jan','Sanne','Mohamed','Fatima','Pieter','Anouk','Dennis','Iris'])[1 + g % 8],
              '', 'Landelijk' || g, date '1965-01-01' + (g % 14000), now(), now()
       FROM generate_series(1, $1::int) g""",
    """INSERT INTO cases (reference, person_id, region_id, status, opened_on, closed_on,
                          last_discussed_on, pi_contact_name, pi_contact_email, pi_contact_phone,
                          created_at, updated_at, needs_attention, closure_note)
       SELECT 'NL-' || p.id, p.id, ($2::int[])[1 + p.id % cardinality($2::int[])],
              CASE WHEN p.id % 20 < 3 THEN 'open' WHEN p.id % 20 = 3 THEN 'nazorg' ELSE 'gesloten' END,
              $3::date - (p.id % 1825),
              CASE WHEN p.id % 20 > 3 THEN $3::date - (p.id % 1825) + 200 END,
              $3::date - (p.id % 1825) + 5,
              'Casemanager PI', 'cm@dji.example', '', now(), now(), false, ''
       FROM persons p WHERE p.last_name LIKE 'Landelijk%' AND p.id % 1 = 0
       ORDER BY p.id LIMIT $1""",
    """INSERT INTO detention_periods (case_id, institution_name, entered_on, expected_release_on,
                                      released_on, title, created_at, updated_at)
       SELECT c.id, 'PI Leeuwarden', c.opened_on, c.opened_on + 180, c.closed_on,
              'gevangenisstraf', now(), now()
       FROM cases c WHERE c.reference LIKE 'NL-%'""",
    # five years of weekly meetings per series (beside those the app plans itself), at 06:45, an
    # hour no series meets at, so they never take the place of one of the demo's meetings
    """INSERT INTO meetings (series_id, starts_at, ends_at, status, agenda_reordered, sequence,
                             room_version, minutes_note, created_at, updated_at)
       SELECT s.id, d + time '06:45', d + time '08:15', 'afgerond', false, 0, 0, '', now(), now()
       FROM meeting_series s,
            generate_series($1::date - 1827, $1::date - 7, interval '7 days') d
       ON CONFLICT (series_id, starts_at) DO NOTHING""",
    # every synthetic case discussed once, in its region's meeting of the week it came in
    """INSERT INTO agenda_items (meeting_id, case_id, reason, position, origin, removed, status,
                                 planned_minutes, seconds_spent, decision, created_at, updated_at)
       SELECT m.id, c.id, 'instroom',
              row_number() OVER (PARTITION BY m.id ORDER BY c.id), 'auto', false, 'besproken',
              4, 240, 'Plan van aanpak vastgesteld.', now(), now()
       FROM cases c
       JOIN meeting_series s ON s.region_id = c.region_id
       JOIN meetings m ON m.series_id = s.id AND m.status = 'afgerond'
            AND m.starts_at::date BETWEEN c.opened_on AND c.opened_on + 6
            AND m.starts_at::time = time '06:45'
       WHERE c.reference LIKE 'NL-%'""",
    # a million actions; the PI casemanager owns the open ones of one case in 5,000 per region
    """INSERT INTO action_items (case_id, leefgebied, description, owner_user_id, due_on, status,
                                 created_at, updated_at, sequence)
       SELECT c0 + g % $1, ($2::text[])[1 + g % 6], 'Actie ' || g,
              CASE WHEN g % 5000 = 0 THEN $3::int END,
              $5::date - (g % 1825) + 14,
              CASE WHEN (g % $1) % 20 < 4 AND g % 3 > 0 THEN 'open' ELSE 'gereed' END,
              now(), now(), 0
       FROM generate_series(0, $4::int - 1) g,
            (SELECT min(id) AS c0 FROM cases WHERE reference LIKE 'NL-%') first""",
    # moments for the open cases; the PI casemanager takes part in those of Fryslân
    """INSERT INTO appointments (case_id, kind, status, starts_at, ends_at, all_day, location,
                                 online_url, notes, follows_release, met_by, transport,
                                 first_place, first_with, checklist, handover_note, sequence,
                                 created_at, updated_at)
       SELECT c.id, 'trajectgesprek', 'gepland',
              $1::date + (c.id % 60) + time '14:00', $1::date + (c.id % 60) + time '15:00',
              false, 'PI Leeuwarden', '', '', false, '', '', '', '', '{}', '', 0, now(), now()
       FROM cases c WHERE c.reference LIKE 'NL-%' AND c.status <> 'gesloten'""",
    """INSERT INTO appointment_participants (appointment_id, user_id)
       SELECT a.id, $1::int FROM appointments a JOIN cases c ON c.id = a.case_id
       WHERE c.reference LIKE 'NL-%' AND c.region_id = $2::int AND a.id % 20 = 0""",
]


async def fill(url: str, cases: int, actions: int) -> dict[str, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        regions = [r["id"] for r in await conn.fetch("SELECT id FROM regions ORDER BY id")]
        frl = await conn.fetchval("SELECT id FROM regions WHERE code = 'FRL'")
        casemanager = await conn.fetchval("SELECT id FROM users WHERE email = $1", CASEMANAGER)
        today = dt.datetime.now(AMSTERDAM).date()  # the app's today, not the database server's
        args: list[tuple[Any, ...]] = [
            (cases,),
            (cases, regions, today),
            (),
            (today,),
            (),
            (cases, LEEFGEBIEDEN, casemanager, actions, today),
            (today,),
            (casemanager, frl),
        ]
        for statement, values in zip(FILL, args, strict=True):
            started = time.perf_counter()
            status = await conn.execute(statement, *values)
            table = statement.split("INTO", 1)[1].split()[0]
            print(
                f"  {table:26s} {status.split()[-1]:>9s} rows  {time.perf_counter() - started:6.1f} s"
            )
        await conn.execute("ANALYZE")
        counts = {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
            for table in ("cases", "action_items", "meetings", "agenda_items", "appointments")
        }
    finally:
        await conn.close()
    return counts


async def targets(url: str, settings: Settings) -> dict[str, Any]:
    """The coming Fryslân meeting (agenda built), open Fryslân cases, the feed's secret."""
    engine = create_engine(url)
    factory = session_factory(engine)
    async with factory() as s, s.begin():
        await ensure_meetings(s)
    async with factory() as s, s.begin():
        meeting = (
            await s.scalars(
                select(Meeting)
                .join(MeetingSeries)
                .join(Region)
                .where(Region.code == "FRL", Meeting.status == "gepland")
                .order_by(Meeting.starts_at)
            )
        ).first()
        assert meeting is not None
        change = await build_agenda(s, meeting)
        user = (await s.scalars(select(User).where(User.email == CASEMANAGER))).unique().one()
        secret = renew_calendar_secret(user, settings.secret_key)
        meeting_id, items = meeting.id, change.total
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        case_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT c.id FROM cases c JOIN regions r ON r.id = c.region_id "
                "WHERE r.code = 'FRL' AND c.status = 'open' ORDER BY c.id"
            )
        ]
        my_actions = await conn.fetchval(
            "SELECT count(*) FROM action_items a JOIN users u ON u.id = a.owner_user_id "
            "WHERE u.email = $1 AND a.status = 'open'",
            CASEMANAGER,
        )
    finally:
        await conn.close()
    await engine.dispose()
    return {
        "meeting_id": meeting_id,
        "agenda_items": items,
        "case_ids": case_ids,
        "secret": secret,
        "my_actions": my_actions,
    }


# ------------------------------------------------------------------ the load-generating process


async def login(base: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    await client.get("/inloggen")
    answer = await client.post(
        "/inloggen",
        data={
            "email": email,
            "password": "demo-wachtwoord",
            "_csrf_token": client.cookies["kt_csrf"],
        },
    )
    assert answer.status_code == 303, answer.status_code
    return client


async def load(
    bases: list[str], plan: dict[str, Any], clients: int, seconds: float, think: float
) -> dict[str, Any]:
    rng = random.Random(3)
    pages = {
        "agenda page": (COORDINATOR, lambda: f"/overleggen/{plan['meeting_id']}"),
        "case page": (COORDINATOR, lambda: f"/casussen/{rng.choice(plan['case_ids'])}"),
        "Mijn werk": (CASEMANAGER, lambda: "/mijn-werk"),
        "calendar feed": ("", lambda: f"/calendar/{plan['secret']}.ics"),
    }
    # user n talks to app process n % len(bases), as a load balancer would spread them
    sessions = {
        COORDINATOR: [await login(bases[n % len(bases)], COORDINATOR) for n in range(clients)],
        CASEMANAGER: [await login(bases[n % len(bases)], CASEMANAGER) for n in range(clients)],
        "": [httpx.AsyncClient(base_url=bases[n % len(bases)], timeout=30) for n in range(clients)],
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    errors: dict[str, int] = dict.fromkeys(pages, 0)
    names = list(pages)
    deadline = time.monotonic() + seconds

    async def user(n: int) -> None:
        turn = n
        pause = random.Random(n)
        await asyncio.sleep(pause.uniform(0, think))  # users do not all start at once
        while time.monotonic() < deadline:
            name = names[turn % len(names)]
            turn += 1
            email, path = pages[name]
            started = time.perf_counter()
            answer = await sessions[email][n].get(path())
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status_code == 200:
                timings[name].append(elapsed)
            else:
                errors[name] += 1
            if think:
                await asyncio.sleep(pause.uniform(0, 2 * think))  # reading the page

    for _name, (email, path) in pages.items():  # warm up: each page once
        await sessions[email][0].get(path())
    await asyncio.gather(*(user(n) for n in range(clients)))
    for group in sessions.values():
        for client in group:
            await client.aclose()
    return {"timings": timings, "errors": errors}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


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
        "UPLOAD_RATE_PER_MINUTE": "1000",
        **clock.child_env(),
    }
    process = subprocess.Popen(
        clock.module_command("app.cli", "serve"),  # on the caller's clock (tests/support/clock.py)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", required=True, help="PostgreSQL URL (scratch database next to it)")
    parser.add_argument("--cases", type=int, default=150_000)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument(
        "--clients", type=int, default=40, help="concurrent users, each going round the four pages"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a user looks at a page (0: none)"
    )
    parser.add_argument("--processes", type=int, default=2, help="app processes")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # internal: run as the load generator
    args = parser.parse_args()
    if args.load:
        request = json.loads(args.load)
        result = asyncio.run(
            load(request["bases"], request["plan"], args.clients, args.seconds, args.think)
        )
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(data_dir=Path(tmp), secret_key=SECRET)
        if args.reuse:
            from sqlalchemy import make_url

            url = make_url(args.pg).set(database="bench_national").render_as_string(False)
        else:
            url = scratch_postgres(args.pg, "bench_national")
            migrate(Settings.from_env(database_url=url, data_dir=Path(tmp)))
            started = time.perf_counter()
            asyncio.run(world(url))
            print(f"synthetic data ({args.cases:,} cases, {args.actions:,} actions):")
            counts = asyncio.run(fill(url, args.cases, args.actions))
            print(
                "  in all: "
                + ", ".join(f"{n:,} {t}" for t, n in counts.items())
                + f"  ({time.perf_counter() - started:.0f} s)"
            )
        plan = asyncio.run(targets(url, settings))
        print(
            f"agenda of the coming Fryslân meeting: {plan['agenda_items']} items; "
            f"{len(plan['case_ids']):,} open Fryslân cases; "
            f"Mijn werk: {plan['my_actions']} open actions"
        )
        ports = [free_port() for _ in range(args.processes)]
        servers = [serve(url, Path(tmp), port) for port in ports]
        try:
            request = json.dumps(
                {"bases": [f"http://127.0.0.1:{port}" for port in ports], "plan": plan}
            )
            generator = subprocess.run(
                [
                    *(sys.executable, "-m", "bench.national_pages", "--pg", args.pg),
                    *("--load", request, "--clients", str(args.clients)),
                    *("--seconds", str(args.seconds), "--think", str(args.think)),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(15)
    result = json.loads(generator.stdout.strip().splitlines()[-1])
    total = sum(len(v) for v in result["timings"].values())
    pace = f"a page every {args.think * 2:.0f} s at most" if args.think else "no pause"
    print(
        f"\n{args.clients} users at once ({pace}), {args.seconds:.0f} s, "
        f"{total / args.seconds:.1f} pages/s; load from a separate process; "
        f"{args.processes} app process(es) on PostgreSQL:"
    )
    print(f"  {'page':16s} {'requests':>8s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'errors':>7s}")
    for name, values in result["timings"].items():
        if not values:
            print(f"  {name:16s} no successful request")
            continue
        print(
            f"  {name:16s} {len(values):8d} {statistics.median(values):6.1f}ms "
            f"{percentile(values, 95):6.1f}ms {percentile(values, 99):6.1f}ms "
            f"{result['errors'][name]:7d}"
        )
    print(
        f"\nrepeat: .venv/bin/python -m bench.national_pages --pg {args.pg} "
        f"--clients {args.clients} --think {args.think} --processes {args.processes}"
    )


if __name__ == "__main__":
    main()
