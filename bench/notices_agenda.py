"""Benchmark: import a year of the whole country's detention notices (30,000 CSV rows) and build an agenda.

    .venv/bin/python -m bench.notices_agenda                       # SQLite
    .venv/bin/python -m bench.notices_agenda --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test

Prints rows per second for the import, the number of SQL statements it took (no query per row), and
the time to build and rebuild one region's agenda. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from faker import Faker
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditContext
from app.cases.ingest import ingest
from app.cases.ingest.format import COLUMNS as FORMAT_COLUMNS
from app.cases.ingest.reading import parse_csv
from app.cases.intake import refresh_statistics
from app.cases.models import Case, NoticeBatch
from app.cli import migrate
from app.db import create_engine, session_factory
from app.demo.world import make_bsn
from app.meetings.agenda import build_agenda
from app.meetings.models import AgendaItem, Meeting, MeetingSeries
from app.meetings.services import AMSTERDAM, ensure_meetings
from app.reference.models import Municipality, Organisation, OrganisationKind, Region
from app.reference.services import assign_province_to_region, load_reference_data
from app.settings import Settings
from bench.common import scratch_postgres

PROVINCES = [
    "Groningen",
    "Fryslân",
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
PIS = [
    "PI Leeuwarden",
    "PI Vught",
    "PI Zwolle",
    "PI Lelystad",
    "PI Almelo",
    "PI Arnhem",
    "PI Dordrecht",
    "PI Haaglanden locatie Scheveningen",
    "PI Rotterdam locatie De Schie",
    "PI Sittard",
    "PI Roermond",
    "Justitieel Complex Schiphol",
    "PI Zaanstad",
    "PI Nieuwegein",
    "PI Veenhuizen locatie Norgerhaven",
]
# The notice format's columns as a front office's weekly list fills them (no return gemeente,
# transfer date, phone or remarks).
COLUMNS = [
    c
    for c in FORMAT_COLUMNS
    if c
    not in {"terugkeer_gemeente_code", "datum_overplaatsing", "casemanager_telefoon", "opmerking"}
]


def make_csv(rows: int, codes: list[str], today: dt.date, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    fake = Faker("nl_NL")
    fake.seed_instance(seed)
    lines = [";".join(COLUMNS)]
    people: list[tuple[str, str, str]] = []
    entered_of: dict[str, dt.date] = {}
    for i in range(rows):
        if people and i % 5 == 4:  # every fifth row changes an earlier person's detention
            bsn, last, birth = rng.choice(people)
            kind = rng.choice(["wijziging", "overplaatsing", "uitstroom"])
            entered = entered_of[bsn]
            fields = {
                "melding_id": f"B-{i:06d}",
                "soort": kind,
                "bsn": bsn,
                "achternaam": last,
                "geboortedatum": birth,
            }
            if kind == "wijziging":
                fields["verwachte_einddatum"] = (
                    entered + dt.timedelta(days=rng.randint(30, 400))
                ).strftime("%d-%m-%Y")
            elif kind == "overplaatsing":
                fields["inrichting"] = rng.choice(PIS)
            else:
                fields["datum_ontslag"] = min(
                    today, entered + dt.timedelta(days=rng.randint(1, 60))
                ).isoformat()
        else:
            bsn = make_bsn(rng)
            last = fake.last_name().split(" ")[-1]
            birth = (today - dt.timedelta(days=rng.randint(18 * 365, 65 * 365))).isoformat()
            entered = today - dt.timedelta(days=rng.randint(0, 364))
            entered_of[bsn] = entered
            people.append((bsn, last, birth))
            fields = {
                "melding_id": f"B-{i:06d}",
                "soort": "instroom",
                "bsn": bsn,
                "achternaam": last,
                "voornamen": fake.first_name(),
                "geboortedatum": birth,
                "gemeente_code": rng.choice(codes),
                "inrichting": rng.choice(PIS),
                "datum_insluiting": entered.strftime("%d-%m-%Y"),
                "verwachte_einddatum": ""
                if rng.random() < 0.4
                else (entered + dt.timedelta(days=rng.randint(30, 700))).isoformat(),
                "titel": "gevangenisstraf",
                "casemanager_naam": fake.name(),
                "casemanager_email": "cm@dji.example",
            }
        lines.append(";".join(fields.get(c, "") for c in COLUMNS))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


async def prepare(url: str) -> dict[str, int]:
    engine = create_engine(url)
    factory = session_factory(engine)
    async with factory() as s, s.begin():
        await load_reference_data(s)
        ids = {}
        for i, province in enumerate(PROVINCES):
            region = Region(
                code=re.sub(r"[^A-Z]", "", province.upper())[:3] + str(i),
                name=province,
                zvh_name=f"ZVH {province}",
            )
            s.add(region)
            await s.flush()
            await assign_province_to_region(s, region, province)
            s.add(MeetingSeries(region_id=region.id, name=f"Instroomoverleg {province}", weekday=1))
            ids[province] = region.id
        s.add(Organisation(name="DJI Frontoffice", kind=OrganisationKind.PI))
    await engine.dispose()
    return ids


async def time_builds(
    factory: async_sessionmaker[AsyncSession], meeting_id: int, rounds: int = 6
) -> tuple[int, list[float]]:
    timings = []
    items = 0
    for _ in range(rounds):
        async with factory() as s, s.begin():
            meeting = await s.get(Meeting, meeting_id)
            assert meeting is not None
            t = time.perf_counter()
            change = await build_agenda(s, meeting)
            timings.append((time.perf_counter() - t) * 1000)
            items = change.total
    return items, timings


async def run(url: str, rows: int) -> None:
    today = dt.datetime.now(AMSTERDAM).date()
    regions = await prepare(url)
    engine = create_engine(url)
    factory = session_factory(engine)
    async with factory() as s:
        codes = list(
            (
                await s.scalars(
                    select(Municipality.code).where(Municipality.region_id.is_not(None))
                )
            ).all()
        )
    raw = make_csv(rows, codes, today)
    started = time.perf_counter()
    parsed = parse_csv(raw)
    parse_s = time.perf_counter() - started

    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    ctx = AuditContext(
        user_id=None, token_id=None, actor="bench", ip="", request_id="", channel="job"
    )
    started = time.perf_counter()
    async with factory() as s, s.begin():
        batch = NoticeBatch(source_key="org:1", channel="api-csv", raw=raw)
        s.add(batch)
        await s.flush()
        result = await ingest(
            s, ctx, source_key="org:1", batch_id=batch.id, records=parsed.records, today=today
        )
    ingest_s = time.perf_counter() - started
    await refresh_statistics(factory)  # as apply_delivery does after a large delivery
    event.remove(engine.sync_engine, "before_cursor_execute", count)
    summary = result.as_dict()
    async with factory() as s, s.begin():
        await ensure_meetings(s)
    region_id = regions["Noord-Holland"]
    async with factory() as s:
        cases = await s.scalar(
            select(func.count()).select_from(Case).where(Case.region_id == region_id)
        )
        meeting_id = (
            await s.scalars(
                select(Meeting.id)
                .join(MeetingSeries)
                .where(MeetingSeries.region_id == region_id)
                .order_by(Meeting.starts_at)
                .limit(1)
            )
        ).one()
    worst = await time_builds(factory, meeting_id)
    # Realistic: every case that entered before last week was discussed at an earlier meeting.
    async with factory() as s, s.begin():
        meeting = await s.get(Meeting, meeting_id)
        assert meeting is not None
        past = Meeting(
            series_id=meeting.series_id,
            starts_at=meeting.starts_at - dt.timedelta(days=7),
            ends_at=meeting.ends_at - dt.timedelta(days=7),
            status="afgerond",
        )
        s.add(past)
        await s.flush()
        cutoff = (meeting.starts_at - dt.timedelta(days=8)).date()
        old = (
            await s.scalars(
                select(Case.id).where(Case.region_id == region_id, Case.opened_on <= cutoff)
            )
        ).all()
        now = dt.datetime.now(dt.UTC)
        await s.execute(
            insert(AgendaItem),
            [
                {
                    "meeting_id": past.id,
                    "case_id": cid,
                    "reason": "instroom",
                    "position": i,
                    "status": "besproken",
                    "origin": "auto",
                    "removed": False,
                    "planned_minutes": 4,
                    "seconds_spent": 0,
                    "decision": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, cid in enumerate(old, start=1)
            ],
        )
        await s.execute(delete(AgendaItem).where(AgendaItem.meeting_id == meeting_id))
    realistic = await time_builds(factory, meeting_id)
    await engine.dispose()
    engine_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n== {engine_name}: {rows} rows")
    print(f"parse CSV            {parse_s:6.2f} s")
    print(
        f"ingest (1 tx)        {ingest_s:6.2f} s   {rows / ingest_s:8.0f} rows/s   {statements} SQL statements ({statements / rows:.3f} per row)"
    )
    print(
        f"outcome              accepted {summary['accepted']}, rejected {summary['rejected']}, duplicates {summary['duplicates']}, parked {summary['parked']}"
    )
    for label, (items, timings) in (
        ("a week's agenda (history present)", realistic),
        ("worst case (nothing ever discussed)", worst),
    ):
        print(
            f"agenda {label:36s} {cases} cases in region, {items:5d} items: first build {timings[0]:5.0f} ms, rebuild median {statistics.median(timings[1:]):5.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument(
        "--pg", help="PostgreSQL URL (a scratch database bench_notices is created next to it)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        migrate(Settings.from_env(database_url=url, data_dir=Path(tmp)))
        asyncio.run(run(url, args.rows))
    if args.pg:
        url = scratch_postgres(args.pg, "bench_notices")
        migrate(Settings.from_env(database_url=url))
        asyncio.run(run(url, args.rows))
    print(
        "\nrepeat: .venv/bin/python -m bench.notices_agenda"
        + (f" --pg {args.pg}" if args.pg else "")
    )


if __name__ == "__main__":
    main()
