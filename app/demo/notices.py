"""The demo cases: a DJI front office's weekly list of notices, made up and then delivered through
the same code as real ones (parsing, the rules, the release appointments)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import cast
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.audit import AuditContext
from app.cases.ingest import ingest
from app.cases.ingest.format import COLUMNS
from app.cases.ingest.reading import parse_csv
from app.cases.ingest.state import IngestResult
from app.cases.models import Notice, NoticeBatch, NoticeStatus
from app.coordination.release import sync_release_appointments
from app.demo.world import FRL_GEMEENTEN, FRL_PIS, GRN_GEMEENTEN, GRN_PIS, TITLES, make_bsn
from app.reference.models import Organisation

Event = tuple[dt.date, dict[str, str]]


def _weighted(rng: random.Random, items: list[tuple[str, int]]) -> str:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _person_row(rng: random.Random, fake: Faker, today: dt.date) -> dict[str, str]:
    male = rng.random() < 0.9  # about nine in ten detainees are men
    first = fake.first_name_male() if male else fake.first_name_female()
    prefix = rng.choice(["", "", "", "", "de", "van", "van der", "van den"])
    last = fake.last_name().split(" ")[-1].capitalize()
    birth = today - dt.timedelta(days=rng.randint(18 * 365, 62 * 365))
    return {
        "bsn": make_bsn(rng),
        "voornamen": first,
        "tussenvoegsel": prefix,
        "achternaam": last,
        "geboortedatum": birth.isoformat(),
    }


def notice_events(
    rng: random.Random, fake: Faker, today: dt.date, pi_user: User, counts: tuple[int, int]
) -> list[Event]:
    """(day, notice) for `counts` new entrants of Fryslân and Groningen, some released, transferred
    or with a changed end since, and one from a gemeente outside both regions (parked)."""
    events: list[Event] = []
    number = 0

    def melding() -> str:
        nonlocal number
        number += 1
        return f"DJI-NOORD-{today.year}-{number:05d}"

    for count, gemeenten, pis in (
        (counts[0], FRL_GEMEENTEN, FRL_PIS),
        (counts[1], GRN_GEMEENTEN, GRN_PIS),
    ):
        for _ in range(count):
            events += _person_events(rng, fake, today, pi_user, gemeenten, pis, melding)
    # One notice for a resident of a gemeente outside both regions: parked for the beheerder.
    outsider = _person_row(rng, fake, today)
    events.append(
        (
            today - dt.timedelta(days=2),
            {
                "melding_id": melding(),
                "soort": "instroom",
                **outsider,
                "gemeente_code": "GM0363",
                "inrichting": "PI Zwolle",
                "datum_insluiting": (today - dt.timedelta(days=3)).isoformat(),
            },
        )
    )
    events.sort(key=lambda e: e[0])
    return events


def _person_events(
    rng: random.Random,
    fake: Faker,
    today: dt.date,
    pi_user: User,
    gemeenten: list[tuple[str, int]],
    pis: list[tuple[str, int]],
    melding: Callable[[], str],
) -> list[Event]:
    """One new entrant's instroom, and perhaps their release, transfer or changed end since."""
    events: list[Event] = []
    person = _person_row(rng, fake, today)
    phase = rng.random()
    entered = today - dt.timedelta(
        days=rng.randint(1, 20) if phase < 0.55 else rng.randint(21, 200)
    )
    title = _weighted(rng, TITLES)
    expected = (
        None
        if title == "voorlopige hechtenis" and rng.random() < 0.7
        else entered + dt.timedelta(days=rng.randint(25, 540))
    )
    pi_name = _weighted(rng, pis)
    gm = _weighted(rng, gemeenten)
    contact = ("", "", "")
    if pi_name == "PI Leeuwarden" and rng.random() < 0.6:
        contact = (pi_user.name, pi_user.email, "058 - 123 45 67")
    elif rng.random() < 0.5:
        contact = (fake.name(), f"{fake.user_name()}@dji.example", fake.phone_number())
    row = {
        "melding_id": melding(),
        "soort": "instroom",
        **person,
        "gemeente_code": gm,
        "terugkeer_gemeente_code": _weighted(rng, gemeenten) if rng.random() < 0.1 else "",
        "inrichting": pi_name,
        "datum_insluiting": entered.isoformat(),
        "verwachte_einddatum": expected.isoformat() if expected else "",
        "titel": title,
        "casemanager_naam": contact[0],
        "casemanager_email": contact[1],
        "casemanager_telefoon": contact[2],
    }
    events.append((entered, row))
    base = {
        k: person[k] for k in ("bsn", "achternaam", "voornamen", "tussenvoegsel", "geboortedatum")
    }
    later = _later_event(rng, today, base, phase, entered, expected, pi_name, pis, melding)
    if later is not None:
        events.append(later)
    return events


def _later_event(
    rng: random.Random,
    today: dt.date,
    base: dict[str, str],
    phase: float,
    entered: dt.date,
    expected: dt.date | None,
    pi_name: str,
    pis: list[tuple[str, int]],
    melding: Callable[[], str],
) -> Event | None:
    """What happened since an instroom, if anything: a release, a transfer or a changed end."""
    if phase > 0.82 and entered < today - dt.timedelta(days=40):
        released = today - dt.timedelta(days=rng.randint(1, 45))
        return (
            released,
            {
                "melding_id": melding(),
                "soort": "uitstroom",
                **base,
                "datum_ontslag": released.isoformat(),
            },
        )
    elif entered < today - dt.timedelta(days=30) and rng.random() < 0.25:
        moved_on = entered + dt.timedelta(days=rng.randint(10, (today - entered).days - 2))
        other = _weighted(rng, [p for p in pis if p[0] != pi_name])
        return (
            moved_on,
            {
                "melding_id": melding(),
                "soort": "overplaatsing",
                **base,
                "inrichting": other,
            },
        )
    elif expected and rng.random() < 0.2:
        changed_on = min(today, entered + dt.timedelta(days=rng.randint(3, 20)))
        new_expected = today + dt.timedelta(days=rng.randint(10, 40))
        return (
            changed_on,
            {
                "melding_id": melding(),
                "soort": "wijziging",
                **base,
                "verwachte_einddatum": new_expected.isoformat(),
            },
        )
    return None


async def deliver(
    session: AsyncSession, events: list[Event], orgs: dict[str, Organisation], today: dt.date
) -> IngestResult:
    """The notices as the front office's CSV, applied as an API delivery; each notice dated the day
    of its event."""
    columns = COLUMNS
    lines = [";".join(columns)] + [";".join(row.get(c, "") for c in columns) for _, row in events]
    raw = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    front_office = orgs["DJI Frontoffice Noord"]
    batch = NoticeBatch(
        source_key=f"org:{front_office.id}",
        organisation_id=front_office.id,
        channel="api-csv",
        filename="demo-weeklijst.csv",
        content_type="text/csv",
        raw=raw,
        encoding="utf-8",
        delimiter=";",
    )
    session.add(batch)
    await session.flush()
    records = parse_csv(raw).records
    ctx = AuditContext(
        user_id=None, token_id=None, actor="demogegevens", ip="", request_id="", channel="job"
    )
    result = await ingest(
        session, ctx, source_key=batch.source_key, batch_id=batch.id, records=records, today=today
    )
    await sync_release_appointments(session, result.changed_case_ids(), today=today)
    batch.status = "processed"
    batch.processed_at = dt.datetime.now(dt.UTC)
    batch.accepted = result.count(NoticeStatus.ACCEPTED)
    batch.parked = result.count(NoticeStatus.PARKED)
    # Notices arrived on the day of their event, not all today; today's at 09:30 or, when the demo
    # is made earlier in the day, now (never after the moment the demo was made).
    when = {row["melding_id"]: day for day, row in events}
    amsterdam = ZoneInfo("Europe/Amsterdam")
    made_at = dt.datetime.now(dt.UTC)
    await session.execute(
        update(cast(Table, Notice.__table__))
        .where(cast(Table, Notice.__table__).c.id == bindparam("_id"))
        .execution_options(synchronize_session=None)
        .values(received_at=bindparam("received_at")),
        [
            {
                "_id": r.notice.values["id"],
                "received_at": min(
                    dt.datetime.combine(day, dt.time(9, 30), tzinfo=amsterdam), made_at
                ),
            }
            for r in result.results
            if (day := when.get(r.melding_id))
        ],
    )
    return result
