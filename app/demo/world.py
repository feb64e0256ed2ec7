"""The demo world's fixed part: its two regions, their partner organisations, the demo accounts and
the two meeting series (docs/interfaces.md, "Demo accounts"). Every person is synthetic."""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import passwords
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.meetings.models import MeetingSeries, SeriesKind, SeriesMember, SeriesOrganisation
from app.reference.models import Institution, Organisation, OrganisationKind, Region
from app.reference.services import assign_province_to_region

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
    return passwords.hash_password(DEMO_PASSWORD)


def make_bsn(rng: random.Random) -> str:
    """A random nine-digit number that passes the elfproef (never a real person's on purpose)."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


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


async def create_organisations(
    session: AsyncSession, regions: dict[str, Region]
) -> dict[str, Organisation]:
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
    return orgs


async def create_users(session: AsyncSession, orgs: dict[str, Organisation]) -> dict[str, User]:
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
    return users


# The two series: name, region, chair, and the organisations taking part.
SERIES = (
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
)


async def create_series(
    session: AsyncSession,
    regions: dict[str, Region],
    orgs: dict[str, Organisation],
    users: dict[str, User],
) -> dict[str, MeetingSeries]:
    """The weekly instroomoverleg of each region, its partners, and the demo accounts as members."""
    series: dict[str, MeetingSeries] = {}
    for name, region_code, chair, members in SERIES:
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
    return series
