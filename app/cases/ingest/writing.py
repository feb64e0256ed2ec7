"""Writing a delivery's state in bulk (executemany with the ids reserved while loading; no query per
record): new and changed persons, cases and detention periods, the notices, replayed notices, and
one audit event per case it created or changed."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditEvent
from app.cases.ingest.state import CaseState, Delivery
from app.cases.models import Case, DetentionPeriod, Notice, Person

PERSONS = cast(Table, Person.__table__)
CASES = cast(Table, Case.__table__)
PERIODS = cast(Table, DetentionPeriod.__table__)
NOTICES = cast(Table, Notice.__table__)
AUDIT_EVENTS = cast(Table, AuditEvent.__table__)
CASE_FIELDS = (
    "status",
    "aftercare_ends_on",
    "needs_attention",
    "origin_municipality_code",
    "return_municipality_code",
    "pi_contact_name",
    "pi_contact_email",
    "pi_contact_phone",
)
PERIOD_FIELDS = ("institution_id", "institution_name", "expected_release_on", "released_on")
REPLAYED_FIELDS = ("status", "changes", "attention", "processed_at", "case_id", "region_id")


async def write(session: AsyncSession, delivery: Delivery) -> None:
    """Store everything the rules changed, inside the caller's transaction."""
    await _write_persons(session, delivery)
    cases = list(delivery.cases.values())
    await _write_cases(session, delivery, cases)
    await _write_periods(session, delivery, cases)
    await _write_notices(session, delivery)
    await _write_audit(session, delivery, cases)
    await session.flush()  # the regions' case counters


async def _write_persons(session: AsyncSession, delivery: Delivery) -> None:
    now = delivery.now
    persons = [p for p in delivery.persons.values() if p.new]
    if persons:
        await session.execute(
            insert(PERSONS),
            [
                {
                    "id": p.id,
                    "bsn": p.bsn,
                    "first_names": p.first_names,
                    "prefix": p.prefix,
                    "last_name": p.last_name,
                    "birth_date": p.birth_date,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in persons
            ],
        )
    changed = [p for p in delivery.persons.values() if p.dirty and not p.new]
    if changed:
        await session.execute(
            update(PERSONS)
            .where(PERSONS.c.id == bindparam("_id"))
            .values(
                first_names=bindparam("first_names"),
                prefix=bindparam("prefix"),
                last_name=bindparam("last_name"),
                birth_date=bindparam("birth_date"),
                updated_at=bindparam("updated_at"),
            ),
            [
                {
                    "_id": p.id,
                    "first_names": p.first_names,
                    "prefix": p.prefix,
                    "last_name": p.last_name,
                    "birth_date": p.birth_date,
                    "updated_at": now,
                }
                for p in changed
            ],
        )


async def _write_cases(session: AsyncSession, delivery: Delivery, cases: list[CaseState]) -> None:
    now = delivery.now
    new_cases = [c for c in cases if c.new]
    if new_cases:
        await session.execute(
            insert(CASES),
            [
                {
                    "id": c.id,
                    "reference": c.reference,
                    "person_id": c.person_id,
                    "region_id": c.region_id,
                    "status": c.status,
                    "opened_on": c.opened_on,
                    "needs_attention": c.needs_attention,
                    "created_at": now,
                    "updated_at": now,
                    **{
                        f: getattr(c, f)
                        for f in CASE_FIELDS
                        if f not in ("status", "needs_attention")
                    },
                }
                for c in new_cases
            ],
        )
    changed = [c for c in cases if c.dirty and not c.new]
    if changed:
        await session.execute(
            update(CASES)
            .where(CASES.c.id == bindparam("_id"))
            .values({f: bindparam(f) for f in (*CASE_FIELDS, "updated_at")}),
            [
                {"_id": c.id, "updated_at": now, **{f: getattr(c, f) for f in CASE_FIELDS}}
                for c in changed
            ],
        )


async def _write_periods(session: AsyncSession, delivery: Delivery, cases: list[CaseState]) -> None:
    now = delivery.now
    new_periods = [(c, p) for c in cases for p in c.periods if p.new]
    if new_periods:
        await session.execute(
            insert(PERIODS),
            [
                {
                    "id": p.id,
                    "case_id": c.id,
                    "institution_id": p.institution_id,
                    "institution_name": p.institution_name,
                    "entered_on": p.entered_on,
                    "expected_release_on": p.expected_release_on,
                    "released_on": p.released_on,
                    "title": p.title,
                    "created_at": now,
                    "updated_at": now,
                }
                for c, p in new_periods
            ],
        )
    changed = [p for c in cases for p in c.periods if p.dirty and not p.new]
    if changed:
        await session.execute(
            update(PERIODS)
            .where(PERIODS.c.id == bindparam("_id"))
            .values({f: bindparam(f) for f in (*PERIOD_FIELDS, "updated_at")}),
            [
                {"_id": p.id, "updated_at": now, **{f: getattr(p, f) for f in PERIOD_FIELDS}}
                for p in changed
            ],
        )


async def _write_notices(session: AsyncSession, delivery: Delivery) -> None:
    """The delivery's notices, and parked ones of earlier deliveries it applied after all."""
    new_notices = [n.values for n in delivery.notices]
    if new_notices:
        await session.execute(insert(NOTICES), new_notices)
    replayed = [n for n in delivery.existing_waiting if n.dirty]
    if replayed:
        await session.execute(
            update(NOTICES)
            .where(NOTICES.c.id == bindparam("_id"))
            .values({f: bindparam(f) for f in REPLAYED_FIELDS}),
            [
                {"_id": n.values["id"], **{k: n.values[k] for k in REPLAYED_FIELDS}}
                for n in replayed
            ],
        )


async def _write_audit(session: AsyncSession, delivery: Delivery, cases: list[CaseState]) -> None:
    """One event per case created or changed, naming the fields (never their values)."""
    ctx = delivery.ctx
    events = [
        {
            "at": delivery.now,
            "user_id": ctx.user_id,
            "token_id": ctx.token_id,
            "actor": ctx.actor,
            "action": "case.created" if c.new else "case.updated",
            "case_id": c.id,
            "case_reference": c.reference,
            "person_id": c.person_id,
            "region_id": c.region_id,
            "object_type": "case",
            "object_id": c.id,
            "fields": sorted(c.audit_fields | ({"person", "detention"} if c.new else set())),
            "channel": ctx.channel,
            "ip": ctx.ip,
            "request_id": ctx.request_id,
        }
        for c in cases
        if c.new or c.audit_fields
    ]
    if events:
        await session.execute(insert(AUDIT_EVENTS), events)
