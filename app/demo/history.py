"""The demo's past: meetings in which the older cases were discussed, pairings, leefgebied statuses
and basisdossiers, actions agreed (some overdue) and the release appointments filled in, so every
screen, calendar and reminder has something to show."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.cases.models import BasisdossierEntry, Case, LeefgebiedStatus, Pairing
from app.coordination.models import (
    ActionItem,
    ActionStatus,
    ActionUpdate,
    Appointment,
    AppointmentKind,
    AppointmentParticipant,
)
from app.meetings.models import AgendaItem, ItemStatus, Meeting, MeetingSeries, MeetingStatus
from app.meetings.services import occurrence_dates, starts_at
from app.reference.models import Organisation, Region

PI_USER = "casemanager@pi-leeuwarden.example"
EXTERNALS = ("casemanager@reclassering.example", "casemanager@leger-des-heils.example")
# What four partners already knew of some undiscussed cases, before the meeting.
KNOWN_BEFOREHAND = {
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
ACTIONS = [
    ("identiteitsbewijs", "Afspraak burgerzaken voor een nieuwe ID-kaart"),
    ("onderdak", "Aanmelding maatschappelijke opvang voor de eerste nacht"),
    ("werk_inkomen", "Uitkering aanvragen vóór vrijlating (Participatiewet)"),
    ("schulden", "Overzicht schulden en CJIB-vorderingen opvragen"),
    ("zorg", "Zorgverzekering laten heractiveren"),
    ("sociaal_netwerk", "Contact met zus over tijdelijk verblijf"),
]
DUE_OFFSETS = [-4, -1, 2, 6, 13, 20, None]


async def past_meetings(
    session: AsyncSession,
    rng: random.Random,
    today: dt.date,
    series: dict[str, MeetingSeries],
    cases: list[Case],
) -> set[int]:
    """The last eight weeks' meetings of each series, finished, each discussing the cases of its
    region that had entered by then; returns the ids of the cases discussed."""
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
    return discussed


def pairings_and_dossiers(
    session: AsyncSession,
    rng: random.Random,
    regions: dict[str, Region],
    orgs: dict[str, Organisation],
    users: dict[str, User],
    cases: list[Case],
    discussed: set[int],
) -> list[tuple[Case, User]]:
    """Fryslân's discussed cases paired (alternately Reclassering and Leger des Heils) with a
    status per leefgebied; some undiscussed ones with what partners knew beforehand. Returns the
    pairs (case, external casemanager)."""
    externals = [users[email] for email in EXTERNALS]
    pi_user = users[PI_USER]
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
    for case in [c for c in cases if c.id not in discussed and c.region_id == frl.id][:6]:
        for org_name, (key, note) in KNOWN_BEFOREHAND.items():
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
    return paired


async def actions(
    session: AsyncSession,
    today: dt.date,
    users: dict[str, User],
    orgs: dict[str, Organisation],
    paired: list[tuple[Case, User]],
) -> None:
    """One to three actions per paired case, some overdue, some done, owned by the external
    casemanager, the PI (care) or the gemeente (ID)."""
    pi_user = users[PI_USER]
    for index, (case, external) in enumerate(paired):
        for j in range(1 + index % 3):
            key, text = ACTIONS[(index + j) % len(ACTIONS)]
            offset = DUE_OFFSETS[(index * 2 + j) % len(DUE_OFFSETS)]
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


async def appointments(
    session: AsyncSession, today: dt.date, users: dict[str, User], paired: list[tuple[Case, User]]
) -> None:
    """The three earliest releases at the gate of paired cases filled in (who meets the person,
    transport, the first appointment, part of the checklist), and a trajectgesprek in five days."""
    pi_user = users[PI_USER]
    at_the_gate = (
        await session.scalars(
            select(Appointment).where(
                Appointment.case_id.in_([c.id for c, _ in paired]),
                Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
            )
        )
    ).all()
    externals_of = {c.id: u for c, u in paired}
    for n, appointment in enumerate(sorted(at_the_gate, key=lambda a: a.starts_at)[:3]):
        external = externals_of[appointment.case_id]
        appointment.responsible_user_id = external.id
        appointment.met_by = f"{external.name} ({external.organisation.name})"
        appointment.transport = (
            "Auto reclassering" if n % 2 == 0 else "Ov-chipkaart, samen met de trein"
        )
        appointment.first_place = "Loket Werk en Inkomen, gemeente Leeuwarden"
        appointment.first_with = "consulent W&I"
        appointment.checklist = {
            "id_in_hand": True,
            "sleep_tonight": n == 0,
            "insurance_active": True,
        }
        for user in {external.id, pi_user.id}:
            session.add(AppointmentParticipant(appointment_id=appointment.id, user_id=user))
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
