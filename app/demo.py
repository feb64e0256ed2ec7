"""Demo data (contract section 2): two regions, their partners, six demo accounts, ~40 synthetic cases.

Every person is synthetic (Faker nl_NL, BSNs generated to pass the elfproef). Dates are relative
to the day of loading, so the demo always shows a live week.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.cases.models import Case, CaseStatus, DetentionPeriod, Person
from app.coordination.models import Pairing
from app.meetings.models import MeetingSeries, SeriesKind, SeriesMember, SeriesOrganisation
from app.reference.models import Institution, Municipality, Organisation, OrganisationKind, Region
from app.reference.services import (
    assign_province_to_region,
    load_reference_data,
    next_case_reference,
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
        s = MeetingSeries(
            region_id=regions[region_code].id,
            name=name,
            kind=SeriesKind.INSTROOMOVERLEG,
            chair_id=users[chair].id,
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

    created = 0
    for region_code, count, gemeenten, pis in (
        ("FRL", cases_per_region[0], FRL_GEMEENTEN, FRL_PIS),
        ("GRN", cases_per_region[1], GRN_GEMEENTEN, GRN_PIS),
    ):
        region = regions[region_code]
        for index in range(count):
            created += await _demo_case(
                session, rng, fake, today, region, gemeenten, pis, institutions, users, index
            )
    await session.flush()
    return {"organisaties": len(orgs), "gebruikers": len(users), "casussen": created}


async def _demo_case(
    session: AsyncSession,
    rng: random.Random,
    fake: Faker,
    today: dt.date,
    region: Region,
    gemeenten: list[tuple[str, int]],
    pis: list[tuple[str, int]],
    institutions: dict[str, Institution],
    users: dict[str, User],
    index: int,
) -> int:
    male = rng.random() < 0.9  # about nine in ten detainees are men
    first = fake.first_name_male() if male else fake.first_name_female()
    prefix = rng.choice(["", "", "", "", "de", "van", "van der", "van den"])
    last = fake.last_name().split(" ")[-1]
    birth = today - dt.timedelta(days=rng.randint(18 * 365, 62 * 365))
    person = Person(
        bsn=make_bsn(rng),
        first_names=first,
        prefix=prefix,
        last_name=last.capitalize(),
        birth_date=birth,
    )
    session.add(person)
    await session.flush()

    # Most cases are new this month (they feed the agenda); some older, some released.
    phase = rng.random()
    entered = today - dt.timedelta(
        days=rng.randint(1, 20) if phase < 0.55 else rng.randint(21, 200)
    )
    title = _weighted(rng, TITLES)
    expected: dt.date | None = (
        None
        if title == "voorlopige hechtenis" and rng.random() < 0.7
        else entered + dt.timedelta(days=rng.randint(25, 540))
    )
    released: dt.date | None = None
    if phase > 0.82 and entered < today - dt.timedelta(days=40):
        released = today - dt.timedelta(days=rng.randint(1, 45))
        expected = expected or released
    pi_name = _weighted(rng, pis)
    gm = _weighted(rng, gemeenten)
    return_gm = gm if rng.random() < 0.9 else _weighted(rng, gemeenten)
    status = CaseStatus.OPEN
    aftercare_ends = None
    closed_on = None
    if released:
        aftercare_ends = released + dt.timedelta(days=region.aftercare_days)
        status = CaseStatus.NAZORG if aftercare_ends >= today else CaseStatus.CLOSED
        closed_on = aftercare_ends if status == CaseStatus.CLOSED else None
    pi_user = users.get("casemanager@pi-leeuwarden.example")
    pi_contact = (
        (pi_user.name, pi_user.email, "058 - 123 45 67")
        if pi_name == "PI Leeuwarden" and pi_user and rng.random() < 0.6
        else (
            (fake.name(), f"{fake.user_name()}@dji.example", fake.phone_number())
            if rng.random() < 0.5
            else ("", "", "")
        )
    )
    case = Case(
        reference=await next_case_reference(session, region.id, entered.year),
        person_id=person.id,
        region_id=region.id,
        status=status,
        origin_municipality_code=gm,
        return_municipality_code=return_gm,
        opened_on=entered,
        aftercare_ends_on=aftercare_ends,
        closed_on=closed_on,
        pi_contact_name=pi_contact[0],
        pi_contact_email=pi_contact[1],
        pi_contact_phone=pi_contact[2],
    )
    session.add(case)
    await session.flush()
    session.add(
        DetentionPeriod(
            case_id=case.id,
            institution_id=institutions[pi_name].id,
            institution_name=pi_name,
            entered_on=entered,
            expected_release_on=expected,
            released_on=released,
            title=title,
        )
    )
    if region.code == "FRL" and entered < today - dt.timedelta(days=21) and rng.random() < 0.7:
        externals = ["casemanager@reclassering.example", "casemanager@leger-des-heils.example"]
        session.add(
            Pairing(
                case_id=case.id,
                internal_user_id=users["casemanager@pi-leeuwarden.example"].id
                if pi_name == "PI Leeuwarden"
                else None,
                internal_contact=pi_contact[0],
                external_user_id=users[externals[index % 2]].id,
            )
        )
    return 1


async def municipality_name(session: AsyncSession, code: str) -> str:
    m = await session.get(Municipality, code)
    return m.name if m else code
