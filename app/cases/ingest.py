"""Applying detention notices: persons, cases and detention periods (contract sections 3 and 4).

`ingest()` applies a delivery's records in order inside the caller's transaction. Everything it
needs is loaded up front in a handful of queries, the records are applied to plain in-memory state,
and the result is written in bulk (executemany with reserved ids) — no query per record, so a year of
the whole country (30,000 records) goes through in seconds. A record that is valid is applied even
when others are rejected; an exception leaves the caller to roll back the whole delivery.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import AuditContext, AuditEvent
from app.cases.bsn import normalise_bsn
from app.cases.models import (
    Case,
    CaseStatus,
    DetentionPeriod,
    Notice,
    NoticeKind,
    NoticeStatus,
    Person,
)
from app.cases.notices import CheckedRecord, Municipalities, RawRecord, check_record
from app.db import allocate_ids, utcnow
from app.reference.models import Municipality, Region
from app.reference.services import InstitutionIndex

CHUNK = 500
# Core tables for the bulk writes (executemany without RETURNING; ids are reserved up front).
PERSONS = cast(Table, Person.__table__)
CASES = cast(Table, Case.__table__)
PERIODS = cast(Table, DetentionPeriod.__table__)
NOTICES = cast(Table, Notice.__table__)
AUDIT_EVENTS = cast(Table, AuditEvent.__table__)
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.NAZORG)
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


# ---------------------------------------------------------------- in-memory state


@dataclass(eq=False)
class PersonState:
    id: int
    bsn: str
    first_names: str
    prefix: str
    last_name: str
    birth_date: dt.date
    new: bool = False
    dirty: bool = False


@dataclass(eq=False)
class PeriodState:
    id: int
    institution_id: int | None
    institution_name: str
    entered_on: dt.date
    expected_release_on: dt.date | None
    released_on: dt.date | None
    title: str = ""
    new: bool = False
    dirty: bool = False

    @property
    def label(self) -> str:
        return self.institution_name


@dataclass(eq=False)
class CaseState:
    id: int
    reference: str
    person_id: int
    region_id: int
    status: str
    opened_on: dt.date
    origin_municipality_code: str | None
    return_municipality_code: str | None
    aftercare_ends_on: dt.date | None = None
    needs_attention: bool = False
    pi_contact_name: str = ""
    pi_contact_email: str = ""
    pi_contact_phone: str = ""
    periods: list[PeriodState] = field(default_factory=list)
    new: bool = False
    dirty: bool = False
    audit_fields: set[str] = field(default_factory=set)

    @property
    def current(self) -> PeriodState | None:
        return self.periods[-1] if self.periods else None

    def touch(self, *fields: str) -> None:
        self.dirty = True
        self.audit_fields.update(fields)


@dataclass(eq=False)
class NoticeState:
    """A notice row: new ones are inserted at the end; `existing` ones (parked earlier) are updated."""

    values: dict[str, Any]
    existing: bool = False
    dirty: bool = False

    def __getattr__(self, name: str) -> Any:  # notice.attention, notice.status, …
        try:
            return self.__dict__["values"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc


@dataclass
class RecordResult:
    """The outcome of one record, as the API reports it."""

    row: int
    melding_id: str
    status: NoticeStatus
    notice: NoticeState
    errors: list[dict[str, str]] = field(default_factory=list)
    case: CaseState | None = None

    @property
    def api_status(self) -> str:
        return "accepted" if self.status == NoticeStatus.PARKED else str(self.status)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "melding_id": self.melding_id,
            "status": self.api_status,
            "case_id": self.case.id
            if self.case is not None and self.status != NoticeStatus.REJECTED
            else None,
            "errors": self.errors,
        }
        if self.notice.values.get("attention"):
            out["attention"] = self.notice.values["attention"]
        if self.status == NoticeStatus.PARKED:
            out["parked"] = True
        return out


@dataclass
class IngestResult:
    """All outcomes of one delivery."""

    results: list[RecordResult]

    def count(self, *statuses: NoticeStatus) -> int:
        return sum(1 for r in self.results if r.status in statuses)

    def changed_case_ids(self) -> list[int]:
        """Cases an accepted notice of this delivery touched."""
        return sorted(
            {
                r.case.id
                for r in self.results
                if r.case is not None and r.case.id and r.status == NoticeStatus.ACCEPTED
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.count(NoticeStatus.ACCEPTED, NoticeStatus.PARKED),
            "duplicates": self.count(NoticeStatus.DUPLICATE),
            "rejected": self.count(NoticeStatus.REJECTED),
            "parked": self.count(NoticeStatus.PARKED),
            "results": [r.as_dict() for r in self.results],
        }


def _chunks(values: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _fmt(d: dt.date | None) -> str:
    return d.strftime("%d-%m-%Y") if d else "onbekend"


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


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


class Ingest:
    """The state of one delivery being applied, in memory."""

    def __init__(
        self,
        session: AsyncSession,
        ctx: AuditContext,
        source_key: str,
        batch_id: int,
        today: dt.date,
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.source_key = source_key
        self.batch_id = batch_id
        self.today = today
        self.now = utcnow()
        self.persons: dict[str, PersonState] = {}
        self.cases: dict[int, CaseState] = {}  # person id -> its open case
        self.applied: dict[str, NoticeState] = {}  # melding_id -> applied notice of this sender
        self.waiting: dict[str, list[NoticeState]] = defaultdict(
            list
        )  # bsn -> parked out-of-order notices
        self.notices: list[NoticeState] = []
        self.regions: dict[int, Region] = {}
        self.region_of: dict[str, int | None] = {}
        self.municipalities = Municipalities(names={}, abolished={})
        self.institutions = InstitutionIndex(by_key={})
        self.ids: dict[str, list[int]] = {}
        self.existing_waiting: list[NoticeState] = []  # parked notices from earlier deliveries

    def _next_id(self, table: str) -> int:
        return self.ids[table].pop()

    # ------------------------------------------------------------ loading

    async def load(self, records: list[RawRecord]) -> None:
        session = self.session
        if session.get_bind().dialect.name == "postgresql":
            # One delivery at a time, so two senders cannot both create the same person.
            await session.execute(text("SELECT pg_advisory_xact_lock(48151623)"))
        self.municipalities, self.region_of = await load_municipalities(session)
        self.regions = {
            r.id: r for r in (await session.scalars(select(Region).with_for_update())).all()
        }
        self.institutions = await InstitutionIndex.load(session)
        ids = sorted({r.fields.get("melding_id", "").strip() for r in records} - {""})
        for chunk in _chunks(ids):
            rows = (
                await session.execute(
                    select(
                        Notice.id,
                        Notice.melding_id,
                        Notice.content_hash,
                        Notice.case_id,
                        Notice.status,
                    ).where(
                        Notice.source_key == self.source_key,
                        Notice.melding_id.in_(chunk),
                        Notice.status.in_([NoticeStatus.ACCEPTED, NoticeStatus.PARKED]),
                    )
                )
            ).all()
            for row in rows:
                self.applied[row.melding_id] = NoticeState(dict(row._mapping), existing=True)
        bsns = sorted({normalise_bsn(r.fields.get("bsn", "")) for r in records} - {""})
        for chunk in _chunks(bsns):
            for p in (
                await session.execute(
                    select(
                        Person.id,
                        Person.bsn,
                        Person.first_names,
                        Person.prefix,
                        Person.last_name,
                        Person.birth_date,
                    ).where(Person.bsn.in_(chunk))
                )
            ).all():
                self.persons[p.bsn] = PersonState(
                    p.id, p.bsn, p.first_names, p.prefix, p.last_name, p.birth_date
                )
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
                        Notice.bsn.in_(chunk),
                        Notice.status == NoticeStatus.PARKED,
                        Notice.case_id.is_(None),
                        Notice.soort != NoticeKind.INSTROOM,
                    )
                    .order_by(Notice.received_at, Notice.id)
                )
            ).all()
            for row in waiting:
                notice = NoticeState(dict(row._mapping), existing=True)
                self.waiting[row.bsn].append(notice)
                self.existing_waiting.append(notice)
        person_ids = [p.id for p in self.persons.values()]
        for chunk in _chunks(person_ids):
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
                    .where(Case.person_id.in_(chunk), Case.status.in_(OPEN_STATUSES))
                    .order_by(Case.opened_on, Case.id)
                )
            ).all()
            by_id = {}
            for c in cases:
                state = CaseState(**dict(c._mapping))
                self.cases[c.person_id] = state
                by_id[c.id] = state
            if by_id:
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
        instroom = sum(
            1 for r in records if r.fields.get("soort", "").strip().lower() == NoticeKind.INSTROOM
        )
        self.ids = {
            "notices": list(reversed(await allocate_ids(session, Notice, len(records)))),
            "persons": list(reversed(await allocate_ids(session, Person, instroom))),
            "cases": list(reversed(await allocate_ids(session, Case, instroom))),
            "detention_periods": list(
                reversed(await allocate_ids(session, DetentionPeriod, instroom))
            ),
        }

    # ------------------------------------------------------------ helpers

    def _case_for(self, bsn: str) -> CaseState | None:
        person = self.persons.get(bsn)
        return self.cases.get(person.id) if person is not None else None

    def _notice(
        self,
        checked: CheckedRecord,
        status: NoticeStatus,
        *,
        attention: str = "",
        errors: list[dict[str, str]] | None = None,
    ) -> NoticeState:
        p = checked.payload
        home = p.get("terugkeer_gemeente_code") or p.get("gemeente_code")
        region_id = self.region_of.get(home) if home else None
        if region_id is None:
            case = self._case_for(str(p.get("bsn") or ""))
            region_id = case.region_id if case is not None else None
        problems = errors if errors is not None else checked.errors
        notice = NoticeState(
            {
                "id": self._next_id("notices"),
                "batch_id": self.batch_id,
                "row_number": checked.raw.row,
                "source_key": self.source_key,
                "melding_id": checked.melding_id[:100],
                "soort": str(p.get("soort") or "")[:40],
                "bsn": str(p.get("bsn") or "")[:20],
                "raw": checked.raw.as_text(),
                "payload": p if not problems else None,
                "content_hash": checked.content_hash(),
                "status": status.value,
                "errors": problems,
                "attention": attention[:300],
                "changes": [],
                "case_id": None,
                "region_id": region_id,
                "received_at": self.now,
                "processed_at": self.now,
            }
        )
        self.notices.append(notice)
        return notice

    def _result(
        self,
        checked: CheckedRecord,
        status: NoticeStatus,
        notice: NoticeState,
        case: CaseState | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> RecordResult:
        return RecordResult(checked.raw.row, checked.melding_id, status, notice, errors or [], case)

    # ------------------------------------------------------------ the records

    def apply(self, record: RawRecord) -> RecordResult:
        checked = check_record(record, self.municipalities, self.today)
        if not checked.ok:
            return self._result(
                checked,
                NoticeStatus.REJECTED,
                self._notice(checked, NoticeStatus.REJECTED),
                errors=checked.errors,
            )
        previous = self.applied.get(checked.melding_id)
        if previous is not None:
            if previous.values["content_hash"] == checked.content_hash():
                notice = self._notice(checked, NoticeStatus.DUPLICATE, errors=[])
                notice.values["case_id"] = previous.values.get("case_id")
                return self._result(
                    checked, NoticeStatus.DUPLICATE, notice, self._case_for(checked.payload["bsn"])
                )
            return self._reject(
                checked,
                "melding_id",
                f"melding_id ‘{checked.melding_id}’ is eerder ontvangen met andere inhoud; er is niets gewijzigd. "
                "Stuur een correctie met een nieuw melding_id.",
            )
        handler = {
            NoticeKind.INSTROOM: self._instroom,
            NoticeKind.OVERPLAATSING: self._overplaatsing,
            NoticeKind.WIJZIGING: self._wijziging,
            NoticeKind.UITSTROOM: self._uitstroom,
        }[checked.kind]
        return handler(checked)

    def _reject(self, checked: CheckedRecord, name: str, message: str) -> RecordResult:
        errors = [{"field": name, "message": message}]
        return self._result(
            checked,
            NoticeStatus.REJECTED,
            self._notice(checked, NoticeStatus.REJECTED, errors=errors),
            errors=errors,
        )

    def _accept(
        self,
        checked: CheckedRecord,
        case: CaseState,
        *,
        attention: str = "",
        changes: list[dict[str, Any]] | None = None,
    ) -> RecordResult:
        notice = self._notice(checked, NoticeStatus.ACCEPTED, attention=attention)
        notice.values["changes"] = changes or []
        notice.values["case_id"] = case.id
        if attention:
            case.needs_attention = True
            case.touch("needs_attention")
        self.applied[checked.melding_id] = notice
        return self._result(checked, NoticeStatus.ACCEPTED, notice, case)

    def _duplicate_of_known(
        self, checked: CheckedRecord, case: CaseState, why: str
    ) -> RecordResult:
        notice = self._notice(checked, NoticeStatus.DUPLICATE, errors=[], attention=why)
        notice.values["case_id"] = case.id
        return self._result(checked, NoticeStatus.DUPLICATE, notice, case)

    def _park(self, checked: CheckedRecord, reason: str) -> RecordResult:
        notice = self._notice(checked, NoticeStatus.PARKED, attention=reason)
        self.applied[checked.melding_id] = notice
        if checked.kind != NoticeKind.INSTROOM:
            self.waiting[notice.values["bsn"]].append(notice)
        return self._result(checked, NoticeStatus.PARKED, notice)

    def _person(self, p: dict[str, Any]) -> tuple[PersonState, list[dict[str, Any]]]:
        birth = dt.date.fromisoformat(p["geboortedatum"])
        person = self.persons.get(p["bsn"])
        changes: list[dict[str, Any]] = []
        if person is None:
            person = PersonState(
                self._next_id("persons"),
                p["bsn"],
                p["voornamen"],
                p["tussenvoegsel"],
                p["achternaam"],
                birth,
                new=True,
            )
            self.persons[p["bsn"]] = person
            return person, changes
        for attr, key in (
            ("first_names", "voornamen"),
            ("prefix", "tussenvoegsel"),
            ("last_name", "achternaam"),
        ):
            if p[key] and getattr(person, attr) != p[key]:
                changes.append({"field": key, "old": getattr(person, attr), "new": p[key]})
                setattr(person, attr, p[key])
                person.dirty = True
        if person.birth_date != birth:
            changes.append(
                {
                    "field": "geboortedatum",
                    "old": person.birth_date.isoformat(),
                    "new": birth.isoformat(),
                }
            )
            person.birth_date = birth
            person.dirty = True
        return person, changes

    def _instroom(self, checked: CheckedRecord) -> RecordResult:
        p = checked.payload
        home = p["terugkeer_gemeente_code"] or p["gemeente_code"]
        region_id = self.region_of.get(home)
        if region_id is None:
            name = self.municipalities.names.get(home, home)
            return self._park(
                checked,
                f"Gemeente {name} ({home}) valt buiten alle ingestelde regio's; geparkeerd voor de beheerder.",
            )
        region = self.regions[region_id]
        entered = dt.date.fromisoformat(p["datum_insluiting"])
        expected = (
            dt.date.fromisoformat(p["verwachte_einddatum"]) if p["verwachte_einddatum"] else None
        )
        institution = self.institutions.find(p["inrichting"])
        attention: list[str] = []
        if institution is None:
            attention.append(
                f"Onbekende inrichting ‘{p['inrichting']}’; de beheerder kan haar toevoegen."
            )
        case = self._case_for(p["bsn"])
        if case is not None:
            current = case.current
            if (
                current is not None
                and current.entered_on == entered
                and current.released_on is None
            ):
                return self._duplicate_of_known(
                    checked, case, "Deze detentie was al bekend (zelfde datum van insluiting)."
                )
        person, changes = self._person(p)
        if case is not None:
            current = case.current
            if current is not None and current.released_on is None:
                attention.append(
                    f"Nieuwe instroom terwijl de detentie sinds {_fmt(current.entered_on)} nog niet als beëindigd is gemeld."
                )
            if case.region_id != region.id:
                attention.append(
                    f"De persoon keert terug naar een andere regio ({region.name}) dan die van de lopende casus."
                )
            if case.status == CaseStatus.NAZORG:
                changes.append(
                    {
                        "field": "status",
                        "old": CaseStatus.NAZORG.value,
                        "new": CaseStatus.OPEN.value,
                    }
                )
                case.status = CaseStatus.OPEN.value
                case.aftercare_ends_on = None
            case.origin_municipality_code = p["gemeente_code"]
            if p["terugkeer_gemeente_code"]:
                case.return_municipality_code = p["terugkeer_gemeente_code"]
            case.touch("detention", "status")
        else:
            region.case_counter += 1
            case = CaseState(
                id=self._next_id("cases"),
                reference=f"{region.code}-{entered.year}-{region.case_counter:04d}",
                person_id=person.id,
                region_id=region.id,
                status=CaseStatus.OPEN.value,
                opened_on=entered,
                origin_municipality_code=p["gemeente_code"],
                return_municipality_code=p["terugkeer_gemeente_code"] or p["gemeente_code"],
                new=True,
            )
            self.cases[person.id] = case
        for attr, key in (
            ("pi_contact_name", "casemanager_naam"),
            ("pi_contact_email", "casemanager_email"),
            ("pi_contact_phone", "casemanager_telefoon"),
        ):
            if p[key] and getattr(case, attr) != p[key]:
                setattr(case, attr, p[key])
                case.touch("pi_contact")
        period = PeriodState(
            id=self._next_id("detention_periods"),
            institution_id=institution.id if institution else None,
            institution_name=institution.name if institution else p["inrichting"],
            entered_on=entered,
            expected_release_on=expected,
            released_on=None,
            title=p["titel"],
            new=True,
        )
        case.periods.append(period)
        changes.append({"field": "inrichting", "old": None, "new": period.institution_name})
        case.touch("person", "detention")
        result = self._accept(checked, case, attention=" ".join(attention), changes=changes)
        self._replay_waiting(p["bsn"], case)
        return result

    def _out_of_order(self, checked: CheckedRecord) -> RecordResult:
        return self._park(
            checked,
            "Geen lopende detentie bekend voor dit BSN; de melding wacht op de instroommelding en wordt dan alsnog verwerkt.",
        )

    def _open_period(self, bsn: str) -> tuple[CaseState, PeriodState] | None:
        case = self._case_for(bsn)
        if case is None or case.current is None or case.current.released_on is not None:
            return None
        return case, case.current

    def _overplaatsing(self, checked: CheckedRecord) -> RecordResult:
        found = self._open_period(checked.payload["bsn"])
        if found is None:
            return self._out_of_order(checked)
        case, period = found
        changes, attention = self._apply_overplaatsing(checked.payload, case, period)
        return self._accept(checked, case, changes=changes, attention=attention)

    def _apply_overplaatsing(
        self, p: dict[str, Any], case: CaseState, period: PeriodState
    ) -> tuple[list[dict[str, Any]], str]:
        institution = self.institutions.find(p["inrichting"])
        new_name = institution.name if institution else p["inrichting"]
        changes = [
            {
                "field": "inrichting",
                "old": period.institution_name,
                "new": new_name,
                "on": p.get("datum_overplaatsing") or self.today.isoformat(),
            }
        ]
        period.institution_id = institution.id if institution else None
        period.institution_name = new_name
        period.dirty = True
        case.touch("detention")
        return (
            changes,
            ""
            if institution
            else f"Onbekende inrichting ‘{p['inrichting']}’; de beheerder kan haar toevoegen.",
        )

    def _wijziging(self, checked: CheckedRecord) -> RecordResult:
        found = self._open_period(checked.payload["bsn"])
        if found is None:
            return self._out_of_order(checked)
        case, period = found
        expected = checked.payload["verwachte_einddatum"]
        if expected and dt.date.fromisoformat(expected) < period.entered_on:
            return self._reject(
                checked,
                "verwachte_einddatum",
                f"verwachte_einddatum {_fmt(dt.date.fromisoformat(expected))} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self._accept(
            checked, case, changes=self._apply_wijziging(checked.payload, case, period)
        )

    def _apply_wijziging(
        self, p: dict[str, Any], case: CaseState, period: PeriodState
    ) -> list[dict[str, Any]]:
        new = dt.date.fromisoformat(p["verwachte_einddatum"]) if p["verwachte_einddatum"] else None
        changes = [
            {
                "field": "verwachte_einddatum",
                "old": _iso(period.expected_release_on),
                "new": _iso(new),
            }
        ]
        period.expected_release_on = new
        period.dirty = True
        case.touch("detention")
        return changes

    def _uitstroom(self, checked: CheckedRecord) -> RecordResult:
        case = self._case_for(checked.payload["bsn"])
        period = case.current if case is not None else None
        if case is None or period is None:
            return self._out_of_order(checked)
        released = dt.date.fromisoformat(checked.payload["datum_ontslag"])
        if period.released_on is not None:
            if period.released_on == released:
                return self._duplicate_of_known(checked, case, "Dit ontslag was al bekend.")
            return self._out_of_order(checked)
        if released < period.entered_on:
            return self._reject(
                checked,
                "datum_ontslag",
                f"datum_ontslag {_fmt(released)} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self._accept(
            checked, case, changes=self._apply_uitstroom(checked.payload, case, period)
        )

    def _apply_uitstroom(
        self, p: dict[str, Any], case: CaseState, period: PeriodState
    ) -> list[dict[str, Any]]:
        released = dt.date.fromisoformat(p["datum_ontslag"])
        changes: list[dict[str, Any]] = [
            {"field": "datum_ontslag", "old": None, "new": released.isoformat()},
            {"field": "status", "old": case.status, "new": CaseStatus.NAZORG.value},
        ]
        period.released_on = released
        if not period.expected_release_on:
            period.expected_release_on = released
        period.dirty = True
        case.status = CaseStatus.NAZORG.value
        case.aftercare_ends_on = released + dt.timedelta(
            days=self.regions[case.region_id].aftercare_days
        )
        case.touch("detention", "status")
        return changes

    def _replay_waiting(self, bsn: str, case: CaseState) -> None:
        """Notices that arrived before their instroom are applied now, in the order they came."""
        for notice in self.waiting.pop(bsn, []):
            p = notice.values.get("payload") or {}
            period = case.current
            if period is None or period.released_on is not None:
                continue
            changes: list[dict[str, Any]] | None = None
            attention = ""
            kind = notice.values["soort"]
            if kind == NoticeKind.OVERPLAATSING:
                changes, attention = self._apply_overplaatsing(p, case, period)
            elif kind == NoticeKind.WIJZIGING:
                changes = self._apply_wijziging(p, case, period)
            elif (
                kind == NoticeKind.UITSTROOM
                and dt.date.fromisoformat(p["datum_ontslag"]) >= period.entered_on
            ):
                changes = self._apply_uitstroom(p, case, period)
            if changes is None:
                continue
            notice.values.update(
                status=NoticeStatus.ACCEPTED.value,
                changes=changes,
                attention=(
                    "Verwerkt na de instroommelding (kwam eerder binnen). " + attention
                ).strip()[:300],
                processed_at=self.now,
                case_id=case.id,
                region_id=case.region_id,
            )
            notice.dirty = True
            case.needs_attention = True
            case.touch("needs_attention")

    # ------------------------------------------------------------ writing

    async def finish(self) -> None:
        s = self.session
        now = self.now
        persons = [p for p in self.persons.values() if p.new]
        if persons:
            await s.execute(
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
        changed_persons = [p for p in self.persons.values() if p.dirty and not p.new]
        if changed_persons:
            await s.execute(
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
                    for p in changed_persons
                ],
            )
        cases = list(self.cases.values())
        new_cases = [c for c in cases if c.new]
        if new_cases:
            await s.execute(
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
        changed_cases = [c for c in cases if c.dirty and not c.new]
        if changed_cases:
            await s.execute(
                update(CASES)
                .where(CASES.c.id == bindparam("_id"))
                .values({f: bindparam(f) for f in (*CASE_FIELDS, "updated_at")}),
                [
                    {"_id": c.id, "updated_at": now, **{f: getattr(c, f) for f in CASE_FIELDS}}
                    for c in changed_cases
                ],
            )
        new_periods = [(c, p) for c in cases for p in c.periods if p.new]
        if new_periods:
            await s.execute(
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
        changed_periods = [p for c in cases for p in c.periods if p.dirty and not p.new]
        if changed_periods:
            await s.execute(
                update(PERIODS)
                .where(PERIODS.c.id == bindparam("_id"))
                .values({f: bindparam(f) for f in (*PERIOD_FIELDS, "updated_at")}),
                [
                    {"_id": p.id, "updated_at": now, **{f: getattr(p, f) for f in PERIOD_FIELDS}}
                    for p in changed_periods
                ],
            )
        new_notices = [n.values for n in self.notices]
        if new_notices:
            await s.execute(insert(NOTICES), new_notices)
        replayed = [n for n in self.existing_waiting if n.dirty]
        if replayed:
            await s.execute(
                update(NOTICES)
                .where(NOTICES.c.id == bindparam("_id"))
                .values(
                    status=bindparam("status"),
                    changes=bindparam("changes"),
                    attention=bindparam("attention"),
                    processed_at=bindparam("processed_at"),
                    case_id=bindparam("case_id"),
                    region_id=bindparam("region_id"),
                ),
                [
                    {
                        "_id": n.values["id"],
                        **{
                            k: n.values[k]
                            for k in (
                                "status",
                                "changes",
                                "attention",
                                "processed_at",
                                "case_id",
                                "region_id",
                            )
                        },
                    }
                    for n in replayed
                ],
            )
        events = []
        for c in cases:
            if c.new or c.audit_fields:
                events.append(
                    {
                        "at": now,
                        "user_id": self.ctx.user_id,
                        "token_id": self.ctx.token_id,
                        "actor": self.ctx.actor,
                        "action": "case.created" if c.new else "case.updated",
                        "case_id": c.id,
                        "case_reference": c.reference,
                        "person_id": c.person_id,
                        "region_id": c.region_id,
                        "object_type": "case",
                        "object_id": c.id,
                        "fields": sorted(
                            c.audit_fields | ({"person", "detention"} if c.new else set())
                        ),
                        "channel": self.ctx.channel,
                        "ip": self.ctx.ip,
                        "request_id": self.ctx.request_id,
                    }
                )
        if events:
            await s.execute(insert(AUDIT_EVENTS), events)
        await s.flush()  # the regions' case counters


async def ingest(
    session: AsyncSession,
    ctx: AuditContext,
    *,
    source_key: str,
    batch_id: int,
    records: list[RawRecord],
    today: dt.date,
) -> IngestResult:
    """Apply records in order inside the caller's transaction and report each outcome."""
    state = Ingest(session, ctx, source_key, batch_id, today)
    await state.load(records)
    results = [state.apply(record) for record in records]
    await state.finish()
    return IngestResult(results)
