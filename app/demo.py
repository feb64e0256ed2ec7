"""Demo data (docs/interfaces.md, "Demo accounts"): two regions, their partners, six demo accounts, ~40 synthetic cases.

Every person is synthetic (Faker nl_NL, BSNs generated to pass the elfproef). Dates are relative
to the day of loading, so the demo always shows a live week.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.audit import AuditContext
from app.cases.ingest import ingest
from app.cases.ingest.format import COLUMNS
from app.cases.ingest.reading import parse_csv
from app.cases.models import Case, Notice, NoticeBatch, NoticeStatus, Pairing
from app.coordination.release import sync_release_appointments
from app.meetings.models import MeetingSeries, SeriesKind, SeriesMember, SeriesOrganisation
from app.reference.models import Institution, Municipality, Organisation, OrganisationKind, Region
from app.reference.services import (
    assign_province_to_region,
    load_reference_data,
)

DEMO_PASSWORD = "demo-wachtwoord"  # noqa: S105 - documented demo password, refused in production
SEED = 20261123


@dataclass(frozen=True)
class DemoUser:
    """One demo account."""

    email: str
    name: str
    organisation: str
    roles: tuple[Role, ...]
    series: tuple[str, ...] = ()


ORGANISATIONS: list[tuple[str, OrganisationKind, str | None, str | None, str | None]] = [
    # name, kind, region code, gemeente code, institution
    ("Zorg- en Veiligheidshuis Fryslân", OrganisationKind.ZVH, "FRL", None, None),
    ("Zorg- en Veiligheidshuis Groningen", OrganisationKind.ZVH, "GRN", None, None),
    ("PI Leeuwarden", OrganisationKind.PI, "FRL", None, "PI Leeuwarden"),
    ("PI Veenhuizen", OrganisationKind.PI, None, None, "PI Veenhuizen locatie Norgerhaven"),
    ("DJI Frontoffice Noord", OrganisationKind.PI, None, None, None),
    ("Reclassering Nederland", OrganisationKind.RECLASSERING_RN, None, None, None),
    ("Verslavingszorg Noord Nederland (SVG)", OrganisationKind.RECLASSERING_SVG, None, None, None),
    (
        "Leger des Heils Jeugdzorg & Reclassering",
        OrganisationKind.RECLASSERING_LJR,
        None,
        None,
        None,
    ),
    ("GGZ Friesland", OrganisationKind.GGZ, "FRL", None, None),
    ("Gemeente Leeuwarden", OrganisationKind.GEMEENTE, "FRL", "GM0080", None),
    ("Gemeente Súdwest-Fryslân", OrganisationKind.GEMEENTE, "FRL", "GM1900", None),
    ("Gemeente Groningen", OrganisationKind.GEMEENTE, "GRN", "GM0014", None),
    ("Politie Noord-Nederland", OrganisationKind.POLITIE, None, None, None),
    (
        "Maatschappelijke opvang Leeuwarden",
        OrganisationKind.MAATSCHAPPELIJKE_OPVANG,
        "FRL",
        None,
        None,
    ),
    ("Schuldhulpverlening Fryslân", OrganisationKind.SCHULDHULP, "FRL", None, None),
    ("Lentis", OrganisationKind.GGZ, "GRN", None, None),
]

FRL_SERIES = "Instroomoverleg Fryslân"
SCHEDULES = {
    "FRL": (1, dt.time(10, 0), "Zorg- en Veiligheidshuis Fryslân, Leeuwarden (en online)"),
    "GRN": (3, dt.time(13, 30), "Zorg- en Veiligheidshuis Groningen (en online)"),
}
GRN_SERIES = "Instroomoverleg Groningen"

USERS: list[DemoUser] = [
    DemoUser(
        "coordinator@fryslan.zvh.example",
        "Sjoukje de Vries",
        "Zorg- en Veiligheidshuis Fryslân",
        (Role.COORDINATOR,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "casemanager@pi-leeuwarden.example",
        "Hendrik Bosma",
        "PI Leeuwarden",
        (Role.CASEMANAGER_PI,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "casemanager@reclassering.example",
        "Fatima El Amrani",
        "Reclassering Nederland",
        (Role.CASEMANAGER_EXTERN,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "partner@ggz-friesland.example",
        "Pieter Hoekstra",
        "GGZ Friesland",
        (Role.NETWERKPARTNER,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "coordinator@groningen.zvh.example",
        "Marleen Dijkstra",
        "Zorg- en Veiligheidshuis Groningen",
        (Role.COORDINATOR,),
        (GRN_SERIES,),
    ),
    DemoUser(
        "beheer@fryslan.zvh.example",
        "Jelle Wiersma",
        "Zorg- en Veiligheidshuis Fryslân",
        (Role.BEHEERDER,),
    ),
    # Further participants, so the room and the access rules have something to show.
    DemoUser(
        "gcn@leeuwarden.example",
        "Anouk Postma",
        "Gemeente Leeuwarden",
        (Role.NETWERKPARTNER,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "casemanager@leger-des-heils.example",
        "Ruben Kramer",
        "Leger des Heils Jeugdzorg & Reclassering",
        (Role.CASEMANAGER_EXTERN,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "wijkagent@politie.example",
        "Klaas van der Meer",
        "Politie Noord-Nederland",
        (Role.NETWERKPARTNER,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "opvang@mo-leeuwarden.example",
        "Tineke Zijlstra",
        "Maatschappelijke opvang Leeuwarden",
        (Role.NETWERKPARTNER,),
        (FRL_SERIES,),
    ),
    DemoUser(
        "casemanager@pi-veenhuizen.example",
        "Erik Mulder",
        "PI Veenhuizen",
        (Role.CASEMANAGER_PI,),
        (GRN_SERIES,),
    ),
    DemoUser(
        "casemanager@gemeente-groningen.example",
        "Yvonne Smit",
        "Gemeente Groningen",
        (Role.CASEMANAGER_EXTERN,),
        (GRN_SERIES,),
    ),
]

FRL_GEMEENTEN = [
    ("GM0080", 45),
    ("GM1900", 12),
    ("GM0090", 10),
    ("GM0074", 8),
    ("GM1970", 6),
    ("GM1949", 5),
    ("GM1940", 5),
    ("GM0737", 4),
    ("GM0072", 3),
    ("GM0098", 2),
]
GRN_GEMEENTEN = [
    ("GM0014", 60),
    ("GM1952", 12),
    ("GM1895", 8),
    ("GM1979", 8),
    ("GM1966", 6),
    ("GM1969", 6),
]
FRL_PIS = [
    ("PI Leeuwarden", 60),
    ("PI Veenhuizen locatie Norgerhaven", 12),
    ("PI Veenhuizen locatie Esserheem", 8),
    ("PI Zwolle", 8),
    ("PI Lelystad", 6),
    ("PI Vught", 3),
    ("Justitieel Complex Schiphol", 3),
]
GRN_PIS = [
    ("PI Veenhuizen locatie Norgerhaven", 35),
    ("PI Veenhuizen locatie Esserheem", 20),
    ("PI Leeuwarden", 25),
    ("PI Zwolle", 12),
    ("PI Almelo", 8),
]
TITLES = [
    ("voorlopige hechtenis", 45),
    ("gevangenisstraf", 40),
    ("ISD", 5),
    ("vervangende hechtenis", 10),
]


@functools.cache
def demo_password_hash() -> str:
    """One argon2id hash shared by the demo accounts (hashing is slow on purpose)."""
    return accounts.hash_password(DEMO_PASSWORD)


def make_bsn(rng: random.Random) -> str:
    """A random nine-digit number that passes the elfproef (never a real person's on purpose)."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def _weighted(rng: random.Random, items: list[tuple[str, int]]) -> str:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(User))


async def load_regions(session: AsyncSession) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for code, name, zvh, province in (
        ("FRL", "Fryslân", "Zorg- en Veiligheidshuis Fryslân", "Fryslân"),
        ("GRN", "Groningen", "Zorg- en Veiligheidshuis Groningen", "Groningen"),
    ):
        region = (await session.scalars(select(Region).where(Region.code == code))).one_or_none()
        if region is None:
            region = Region(code=code, name=name, zvh_name=zvh)
            session.add(region)
            await session.flush()
            await assign_province_to_region(session, region, province)
        regions[code] = region
    return regions


async def load_demo(
    session: AsyncSession,
    today: dt.date | None = None,
    cases_per_region: tuple[int, int] = (26, 14),
) -> dict[str, int]:
    """Create the demo world; call only on an empty database."""
    today = today or dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    rng = random.Random(SEED)  # noqa: S311 - synthetic demo data, reproducible on purpose
    fake = Faker("nl_NL")
    fake.seed_instance(SEED)
    await load_reference_data(session)
    regions = await load_regions(session)
    institutions = {i.name: i for i in (await session.scalars(select(Institution))).all()}

    orgs: dict[str, Organisation] = {}
    for name, kind, region_code, gm, inst in ORGANISATIONS:
        org = Organisation(
            name=name,
            kind=kind,
            region_id=regions[region_code].id if region_code else None,
            municipality_code=gm,
            institution_id=institutions[inst].id if inst else None,
        )
        session.add(org)
        orgs[name] = org
    await session.flush()

    users: dict[str, User] = {}
    for spec in USERS:
        users[spec.email] = await accounts.create_user(
            session,
            email=spec.email,
            name=spec.name,
            organisation_id=orgs[spec.organisation].id,
            roles=set(spec.roles),
            password_hash=demo_password_hash(),
            is_demo=True,
        )

    series: dict[str, MeetingSeries] = {}
    for name, region_code, chair, members in (
        (
            FRL_SERIES,
            "FRL",
            "coordinator@fryslan.zvh.example",
            [
                "Zorg- en Veiligheidshuis Fryslân",
                "PI Leeuwarden",
                "Reclassering Nederland",
                "GGZ Friesland",
                "Gemeente Leeuwarden",
                "Gemeente Súdwest-Fryslân",
                "Leger des Heils Jeugdzorg & Reclassering",
                "Politie Noord-Nederland",
                "Maatschappelijke opvang Leeuwarden",
                "Schuldhulpverlening Fryslân",
                "Verslavingszorg Noord Nederland (SVG)",
            ],
        ),
        (
            GRN_SERIES,
            "GRN",
            "coordinator@groningen.zvh.example",
            [
                "Zorg- en Veiligheidshuis Groningen",
                "PI Veenhuizen",
                "Reclassering Nederland",
                "Gemeente Groningen",
                "Lentis",
                "Politie Noord-Nederland",
            ],
        ),
    ):
        weekday, start, place = SCHEDULES[region_code]
        s = MeetingSeries(
            region_id=regions[region_code].id,
            name=name,
            kind=SeriesKind.INSTROOMOVERLEG,
            chair_id=users[chair].id,
            cadence_weeks=1,
            weekday=weekday,
            start_time=start,
            duration_minutes=90,
            location=place,
            online_url=f"https://overleg.example.nl/{region_code.lower()}-instroomoverleg",
        )
        session.add(s)
        await session.flush()
        for org_name in members:
            session.add(SeriesOrganisation(series_id=s.id, organisation_id=orgs[org_name].id))
        series[name] = s
    for spec in USERS:
        for series_name in spec.series:
            session.add(
                SeriesMember(series_id=series[series_name].id, user_id=users[spec.email].id)
            )
    await session.flush()

    created = await _demo_cases(
        session, rng, fake, today, regions, orgs, users, series, cases_per_region
    )
    await session.flush()
    return {"organisaties": len(orgs), "gebruikers": len(users), "casussen": created}


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


async def _demo_cases(
    session: AsyncSession,
    rng: random.Random,
    fake: Faker,
    today: dt.date,
    regions: dict[str, Region],
    orgs: dict[str, Organisation],
    users: dict[str, User],
    series: dict[str, MeetingSeries],
    counts: tuple[int, int],
) -> int:
    """The demo cases arrive as a DJI front office's notices, through the same code as real ones."""
    events: list[tuple[dt.date, dict[str, str]]] = []
    number = 0

    def melding() -> str:
        nonlocal number
        number += 1
        return f"DJI-NOORD-{today.year}-{number:05d}"

    pi_user = users["casemanager@pi-leeuwarden.example"]
    for count, gemeenten, pis in (
        (counts[0], FRL_GEMEENTEN, FRL_PIS),
        (counts[1], GRN_GEMEENTEN, GRN_PIS),
    ):
        for _ in range(count):
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
                k: person[k]
                for k in ("bsn", "achternaam", "voornamen", "tussenvoegsel", "geboortedatum")
            }
            if phase > 0.82 and entered < today - dt.timedelta(days=40):
                released = today - dt.timedelta(days=rng.randint(1, 45))
                events.append(
                    (
                        released,
                        {
                            "melding_id": melding(),
                            "soort": "uitstroom",
                            **base,
                            "datum_ontslag": released.isoformat(),
                        },
                    )
                )
            elif entered < today - dt.timedelta(days=30) and rng.random() < 0.25:
                moved_on = entered + dt.timedelta(days=rng.randint(10, (today - entered).days - 2))
                other = _weighted(rng, [p for p in pis if p[0] != pi_name])
                events.append(
                    (
                        moved_on,
                        {
                            "melding_id": melding(),
                            "soort": "overplaatsing",
                            **base,
                            "inrichting": other,
                        },
                    )
                )
            elif expected and rng.random() < 0.2:
                changed_on = min(today, entered + dt.timedelta(days=rng.randint(3, 20)))
                new_expected = today + dt.timedelta(days=rng.randint(10, 40))
                events.append(
                    (
                        changed_on,
                        {
                            "melding_id": melding(),
                            "soort": "wijziging",
                            **base,
                            "verwachte_einddatum": new_expected.isoformat(),
                        },
                    )
                )
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
    cases = list((await session.scalars(select(Case).order_by(Case.id))).unique().all())
    await _demo_history(session, rng, today, regions, orgs, users, series, cases)
    return len(cases)


async def _demo_history(
    session: AsyncSession,
    rng: random.Random,
    today: dt.date,
    regions: dict[str, Region],
    orgs: dict[str, Organisation],
    users: dict[str, User],
    series: dict[str, MeetingSeries],
    cases: list[Case],
) -> None:
    """Past meetings in which the older cases were discussed, with pairings, statuses and dossiers."""
    from app.cases.models import BasisdossierEntry, LeefgebiedStatus
    from app.meetings.models import AgendaItem, ItemStatus, Meeting, MeetingStatus
    from app.meetings.services import occurrence_dates, starts_at

    discussed: set[int] = set()
    for s in series.values():
        days = occurrence_dates(s, today - dt.timedelta(weeks=8), today - dt.timedelta(days=1))
        for day in days:
            start = starts_at(s, day)
            meeting = Meeting(
                series_id=s.id,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=s.duration_minutes),
                status=MeetingStatus.FINISHED,
                location=s.location,
                online_url=s.online_url,
                agenda_built_at=start - dt.timedelta(hours=20),
                agenda_published_at=start - dt.timedelta(hours=18),
                started_at=start,
                ended_at=start + dt.timedelta(minutes=s.duration_minutes - 15),
            )
            session.add(meeting)
            await session.flush()
            position = 0
            for case in sorted(cases, key=lambda c: (c.opened_on, c.id)):
                if (
                    case.region_id != s.region_id
                    or case.id in discussed
                    or case.opened_on > day - dt.timedelta(days=1)
                ):
                    continue
                position += 1
                discussed.add(case.id)
                session.add(
                    AgendaItem(
                        meeting_id=meeting.id,
                        case_id=case.id,
                        reason="instroom",
                        position=position,
                        status=ItemStatus.DISCUSSED,
                        planned_minutes=s.item_minutes,
                        seconds_spent=rng.randint(120, 420),
                        started_at=start,
                        ended_at=start,
                    )
                )
                case.last_discussed_on = day
    externals = [
        users["casemanager@reclassering.example"],
        users["casemanager@leger-des-heils.example"],
    ]
    pi_user = users["casemanager@pi-leeuwarden.example"]
    frl = regions["FRL"]
    paired: list[tuple[Case, User]] = []
    for index, case in enumerate(c for c in cases if c.id in discussed and c.region_id == frl.id):
        period = case.periods[-1]
        paired.append((case, externals[index % 2]))
        session.add(
            Pairing(
                case_id=case.id,
                internal_user_id=pi_user.id if period.institution_name == "PI Leeuwarden" else None,
                internal_contact=case.pi_contact_name,
                external_user_id=externals[index % 2].id,
                confirmed_by_id=users["coordinator@fryslan.zvh.example"].id,
            )
        )
        for key in frl.leefgebied_keys():
            session.add(
                LeefgebiedStatus(
                    case_id=case.id,
                    key=key,
                    status=rng.choice(["geen_probleem", "probleem", "actie_nodig", "onbekend"]),
                )
            )
    notes = {
        "Reclassering Nederland": (
            "werk_inkomen",
            "Eerder toezicht gehad; werkte toen via uitzendbureau.",
        ),
        "Gemeente Leeuwarden": (
            "identiteitsbewijs",
            "ID-kaart verlopen; afspraak burgerzaken nodig.",
        ),
        "GGZ Friesland": ("zorg", "Bekend; eerder in behandeling geweest."),
        "Maatschappelijke opvang Leeuwarden": (
            "onderdak",
            "Verbleef voor detentie twee weken in de nachtopvang.",
        ),
    }
    for case in [c for c in cases if c.id not in discussed and c.region_id == frl.id][:6]:
        for org_name, (key, note) in notes.items():
            if rng.random() < 0.6:
                session.add(
                    BasisdossierEntry(
                        case_id=case.id,
                        organisation_id=orgs[org_name].id,
                        key=key,
                        known="ja",
                        note=note,
                    )
                )
    await session.flush()
    await _demo_work(session, rng, today, users, orgs, paired)


async def _demo_work(
    session: AsyncSession,
    rng: random.Random,
    today: dt.date,
    users: dict[str, User],
    orgs: dict[str, Organisation],
    paired: list[tuple[Case, User]],
) -> None:
    """Actions agreed in earlier meetings (some overdue), and the release moments of paired cases
    filled in, so Mijn werk, the calendars and the reminders have something to show."""
    from sqlalchemy import select

    from app.coordination.models import (
        ActionItem,
        ActionStatus,
        ActionUpdate,
        Appointment,
        AppointmentKind,
        AppointmentParticipant,
    )

    pi_user = users["casemanager@pi-leeuwarden.example"]
    templates = [
        ("identiteitsbewijs", "Afspraak burgerzaken voor een nieuwe ID-kaart"),
        ("onderdak", "Aanmelding maatschappelijke opvang voor de eerste nacht"),
        ("werk_inkomen", "Uitkering aanvragen vóór vrijlating (Participatiewet)"),
        ("schulden", "Overzicht schulden en CJIB-vorderingen opvragen"),
        ("zorg", "Zorgverzekering laten heractiveren"),
        ("sociaal_netwerk", "Contact met zus over tijdelijk verblijf"),
    ]
    offsets = [-4, -1, 2, 6, 13, 20, None]
    for index, (case, external) in enumerate(paired):
        for j in range(1 + index % 3):
            key, text = templates[(index + j) % len(templates)]
            offset = offsets[(index * 2 + j) % len(offsets)]
            owner = (
                (None, orgs["Gemeente Leeuwarden"].id)
                if key == "identiteitsbewijs"
                else ((pi_user.id, None) if key == "zorg" else (external.id, None))
            )
            status = ActionStatus.DONE if (index + j) % 5 == 4 else ActionStatus.OPEN
            action = ActionItem(
                case_id=case.id,
                leefgebied=key,
                description=text,
                owner_user_id=owner[0],
                owner_organisation_id=owner[1],
                due_on=today + dt.timedelta(days=offset) if offset is not None else None,
                status=status,
            )
            session.add(action)
            await session.flush()
            session.add(
                ActionUpdate(
                    action_id=action.id,
                    changes=[{"field": "status", "old": None, "new": "open"}],
                )
            )
    release_moments = (
        await session.scalars(
            select(Appointment).where(
                Appointment.case_id.in_([c.id for c, _ in paired]),
                Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
            )
        )
    ).all()
    externals_of = {c.id: u for c, u in paired}
    for n, moment in enumerate(sorted(release_moments, key=lambda m: m.starts_at)[:3]):
        external = externals_of[moment.case_id]
        moment.responsible_user_id = external.id
        moment.met_by = f"{external.name} ({external.organisation.name})"
        moment.transport = "Auto reclassering" if n % 2 == 0 else "Ov-chipkaart, samen met de trein"
        moment.first_place = "Loket Werk en Inkomen, gemeente Leeuwarden"
        moment.first_with = "consulent W&I"
        moment.checklist = {"id_in_hand": True, "sleep_tonight": n == 0, "insurance_active": True}
        for user in {external.id, pi_user.id}:
            session.add(AppointmentParticipant(appointment_id=moment.id, user_id=user))
    if paired:
        case, external = paired[-1]
        start = dt.datetime.combine(
            today + dt.timedelta(days=5), dt.time(14, 0), tzinfo=ZoneInfo("Europe/Amsterdam")
        )
        talk = Appointment(
            case_id=case.id,
            kind=AppointmentKind.TRAJECTGESPREK,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            location="PI Leeuwarden, spreekkamer 2",
            responsible_user_id=pi_user.id,
        )
        session.add(talk)
        await session.flush()
        for user in {external.id, pi_user.id}:
            session.add(AppointmentParticipant(appointment_id=talk.id, user_id=user))
    await session.flush()


async def municipality_name(session: AsyncSession, code: str) -> str:
    m = await session.get(Municipality, code)
    return m.name if m else code
