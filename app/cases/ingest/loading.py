"""Loading what a delivery needs before its rules run, in a handful of queries: the gemeenten and
regions, the institutions, notices of this sender seen before, the persons and open cases of the
BSNs in the delivery with their detention periods and parked notices, and the ids it will insert."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.bsn import normalise_bsn
from app.cases.ingest.checking import Municipalities
from app.cases.ingest.reading import RawRecord
from app.cases.ingest.state import CaseState, Delivery, NoticeState, PeriodState, PersonState
from app.cases.models import (
    Case,
    CaseStatus,
    DetentionPeriod,
    Notice,
    NoticeKind,
    NoticeStatus,
    Person,
)
from app.db import allocate_ids
from app.reference.models import Municipality, Region
from app.reference.services import InstitutionIndex

CHUNK = 500
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.NAZORG)


def chunks(values: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


async def load_municipalities(
    session: AsyncSession,
) -> tuple[Municipalities, dict[str, int | None]]:
    rows = (
        await session.execute(
            select(
                Municipality.code,
                Municipality.name,
                Municipality.abolished_on,
                Municipality.successor_code,
                Municipality.region_id,
            )
        )
    ).all()
    names = {r.code: r.name for r in rows}
    abolished = {r.code: (r.abolished_on, r.successor_code or "") for r in rows if r.abolished_on}
    regions = {r.code: r.region_id for r in rows if not r.abolished_on}
    return Municipalities(names=names, abolished=abolished), regions


async def load(session: AsyncSession, delivery: Delivery, records: list[RawRecord]) -> None:
    """Fill the delivery's state for these records (inside the caller's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        # One delivery at a time, so two senders cannot both create the same person.
        await session.execute(text("SELECT pg_advisory_xact_lock(48151623)"))
    delivery.municipalities, delivery.region_of = await load_municipalities(session)
    delivery.regions = {
        r.id: r for r in (await session.scalars(select(Region).with_for_update())).all()
    }
    delivery.institutions = await InstitutionIndex.load(session)
    await _load_applied(session, delivery, records)
    bsns = sorted({normalise_bsn(r.fields.get("bsn", "")) for r in records} - {""})
    for chunk in chunks(bsns):
        await _load_persons(session, delivery, chunk)
        await _load_waiting(session, delivery, chunk)
    person_ids = [p.id for p in delivery.persons.values()]
    for chunk in chunks(person_ids):
        await _load_cases(session, delivery, chunk)
    await _reserve_ids(session, delivery, records)


async def _load_applied(
    session: AsyncSession, delivery: Delivery, records: list[RawRecord]
) -> None:
    """This sender's notices with the same melding_ids, accepted or parked before."""
    ids = sorted({r.fields.get("melding_id", "").strip() for r in records} - {""})
    for chunk in chunks(ids):
        rows = (
            await session.execute(
                select(
                    Notice.id,
                    Notice.melding_id,
                    Notice.content_hash,
                    Notice.case_id,
                    Notice.status,
                ).where(
                    Notice.source_key == delivery.source_key,
                    Notice.melding_id.in_(chunk),
                    Notice.status.in_([NoticeStatus.ACCEPTED, NoticeStatus.PARKED]),
                )
            )
        ).all()
        for row in rows:
            delivery.applied[row.melding_id] = NoticeState(dict(row._mapping), existing=True)


async def _load_persons(session: AsyncSession, delivery: Delivery, bsns: list[str]) -> None:
    for p in (
        await session.execute(
            select(
                Person.id,
                Person.bsn,
                Person.first_names,
                Person.prefix,
                Person.last_name,
                Person.birth_date,
            ).where(Person.bsn.in_(bsns))
        )
    ).all():
        delivery.persons[p.bsn] = PersonState(
            p.id, p.bsn, p.first_names, p.prefix, p.last_name, p.birth_date
        )


async def _load_waiting(session: AsyncSession, delivery: Delivery, bsns: list[str]) -> None:
    """Notices parked earlier because they came before their instroom, oldest first."""
    waiting = (
        await session.execute(
            select(
                Notice.id,
                Notice.bsn,
                Notice.soort,
                Notice.payload,
                Notice.row_number,
                Notice.melding_id,
                Notice.attention,
            )
            .where(
                Notice.bsn.in_(bsns),
                Notice.status == NoticeStatus.PARKED,
                Notice.case_id.is_(None),
                Notice.soort != NoticeKind.INSTROOM,
            )
            .order_by(Notice.received_at, Notice.id)
        )
    ).all()
    for row in waiting:
        notice = NoticeState(dict(row._mapping), existing=True)
        delivery.waiting[row.bsn].append(notice)
        delivery.existing_waiting.append(notice)


async def _load_cases(session: AsyncSession, delivery: Delivery, person_ids: list[int]) -> None:
    """The open cases of these persons, with their detention periods in order."""
    cases = (
        await session.execute(
            select(
                Case.id,
                Case.reference,
                Case.person_id,
                Case.region_id,
                Case.status,
                Case.opened_on,
                Case.origin_municipality_code,
                Case.return_municipality_code,
                Case.aftercare_ends_on,
                Case.needs_attention,
                Case.pi_contact_name,
                Case.pi_contact_email,
                Case.pi_contact_phone,
            )
            .where(Case.person_id.in_(person_ids), Case.status.in_(OPEN_STATUSES))
            .order_by(Case.opened_on, Case.id)
        )
    ).all()
    by_id = {}
    for c in cases:
        state = CaseState(**dict(c._mapping))
        delivery.cases[c.person_id] = state
        by_id[c.id] = state
    if not by_id:
        return
    periods = (
        await session.execute(
            select(
                DetentionPeriod.id,
                DetentionPeriod.case_id,
                DetentionPeriod.institution_id,
                DetentionPeriod.institution_name,
                DetentionPeriod.entered_on,
                DetentionPeriod.expected_release_on,
                DetentionPeriod.released_on,
                DetentionPeriod.title,
            )
            .where(DetentionPeriod.case_id.in_(list(by_id)))
            .order_by(DetentionPeriod.entered_on, DetentionPeriod.id)
        )
    ).all()
    for period in periods:
        values = dict(period._mapping)
        by_id[values.pop("case_id")].periods.append(PeriodState(**values))


async def _reserve_ids(session: AsyncSession, delivery: Delivery, records: list[RawRecord]) -> None:
    """Ids for every row the delivery may insert: a notice per record, a person, case and period
    per instroom."""
    instroom = sum(
        1 for r in records if r.fields.get("soort", "").strip().lower() == NoticeKind.INSTROOM
    )
    delivery.ids = {
        "notices": list(reversed(await allocate_ids(session, Notice, len(records)))),
        "persons": list(reversed(await allocate_ids(session, Person, instroom))),
        "cases": list(reversed(await allocate_ids(session, Case, instroom))),
        "detention_periods": list(reversed(await allocate_ids(session, DetentionPeriod, instroom))),
    }
