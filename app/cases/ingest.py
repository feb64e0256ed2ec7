"""Applying detention notices: persons, cases and detention periods (contract sections 3 and 4).

`ingest()` applies a delivery's records in order inside the caller's transaction. Everything it
needs is loaded up front in a handful of queries (no query per record), so a year of the whole
country (30,000 records) goes through in seconds. A record that is valid is applied even when
others are rejected; an exception leaves the caller to roll back the whole delivery.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import audit
from app.audit import AuditContext
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
from app.db import utcnow
from app.reference.models import Municipality, Region
from app.reference.services import InstitutionIndex

CHUNK = 500
OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.NAZORG)


@dataclass
class RecordResult:
    """The outcome of one record, as the API reports it."""

    row: int
    melding_id: str
    status: NoticeStatus
    notice: Notice
    errors: list[dict[str, str]] = field(default_factory=list)
    case: Case | None = None

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
        if self.notice.attention:
            out["attention"] = self.notice.attention
        if self.status == NoticeStatus.PARKED:
            out["parked"] = True
        return out


@dataclass
class IngestResult:
    """All outcomes of one delivery."""

    results: list[RecordResult]

    def count(self, *statuses: NoticeStatus) -> int:
        return sum(1 for r in self.results if r.status in statuses)

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


async def load_municipalities(
    session: AsyncSession,
) -> tuple[Municipalities, dict[str, int | None]]:
    rows = (await session.scalars(select(Municipality))).all()
    names = {m.code: m.name for m in rows}
    abolished = {m.code: (m.abolished_on, m.successor_code or "") for m in rows if m.abolished_on}
    regions = {m.code: m.region_id for m in rows if not m.abolished_on}
    return Municipalities(names=names, abolished=abolished), regions


class Ingest:
    """The state of one delivery being applied: what is known so far, in memory."""

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
        self.persons: dict[str, Person] = {}
        self.open_cases: dict[int, Case] = {}  # person id -> open case
        self.new_cases: dict[
            str, Case
        ] = {}  # bsn -> case opened in this delivery (person has no id yet)
        self.applied: dict[str, Notice] = {}  # melding_id -> applied notice (this source)
        self.waiting: dict[str, list[Notice]] = defaultdict(
            list
        )  # bsn -> parked out-of-order notices
        self.regions: dict[int, Region] = {}
        self.region_of: dict[str, int | None] = {}
        self.municipalities = Municipalities(names={}, abolished={})
        self.institutions = InstitutionIndex(by_key={})
        self.touched: dict[int, set[str]] = defaultdict(
            set
        )  # id(case) -> changed fields (for audit)
        self.created: set[int] = set()  # id(case) of cases opened here
        # Notices of cases that get their id only at flush time.
        self.pending_links: list[tuple[Notice, Case]] = []

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
            for notice in (
                await session.scalars(
                    select(Notice).where(
                        Notice.source_key == self.source_key,
                        Notice.melding_id.in_(chunk),
                        Notice.status.in_([NoticeStatus.ACCEPTED, NoticeStatus.PARKED]),
                    )
                )
            ).all():
                self.applied[notice.melding_id] = notice
        bsns = sorted({normalise_bsn(r.fields.get("bsn", "")) for r in records} - {""})
        for chunk in _chunks(bsns):
            for person in (
                await session.scalars(select(Person).where(Person.bsn.in_(chunk)))
            ).all():
                self.persons[person.bsn] = person
            for notice in (
                await session.scalars(
                    select(Notice)
                    .where(
                        Notice.bsn.in_(chunk),
                        Notice.status == NoticeStatus.PARKED,
                        Notice.case_id.is_(None),
                    )
                    .order_by(Notice.received_at, Notice.id)
                )
            ).all():
                if notice.soort != NoticeKind.INSTROOM:
                    self.waiting[notice.bsn].append(notice)
        person_ids = [p.id for p in self.persons.values()]
        for chunk in _chunks(person_ids):
            for case in (
                (
                    await session.scalars(
                        select(Case)
                        .where(Case.person_id.in_(chunk), Case.status.in_(OPEN_STATUSES))
                        .options(selectinload(Case.periods))
                        .order_by(Case.opened_on)
                    )
                )
                .unique()
                .all()
            ):
                self.open_cases[case.person_id] = case

    # ------------------------------------------------------------ helpers

    def _case_for(self, bsn: str) -> Case | None:
        person = self.persons.get(bsn)
        if person is None:
            return None
        if person.id is not None and person.id in self.open_cases:
            return self.open_cases[person.id]
        return self.new_cases.get(bsn)

    def _mark(self, case: Case, *fields: str) -> None:
        self.touched[id(case)].update(fields)

    def _next_reference(self, region: Region, year: int) -> str:
        region.case_counter += 1
        return f"{region.code}-{year}-{region.case_counter:04d}"

    def _notice(
        self,
        checked: CheckedRecord,
        status: NoticeStatus,
        *,
        attention: str = "",
        errors: list[dict[str, str]] | None = None,
    ) -> Notice:
        p = checked.payload
        home = p.get("terugkeer_gemeente_code") or p.get("gemeente_code")
        region_id = self.region_of.get(home) if home else None
        if region_id is None:
            case = self._case_for(str(p.get("bsn") or ""))
            region_id = case.region_id if case is not None else None
        notice = Notice(
            region_id=region_id,
            batch_id=self.batch_id,
            row_number=checked.raw.row,
            source_key=self.source_key,
            melding_id=checked.melding_id[:100],
            soort=str(checked.payload.get("soort") or "")[:40],
            bsn=str(checked.payload.get("bsn") or "")[:20],
            raw=checked.raw.as_text(),
            payload=checked.payload if not (errors or checked.errors) else None,
            content_hash=checked.content_hash(),
            status=status,
            errors=errors if errors is not None else checked.errors,
            attention=attention[:300],
            received_at=utcnow(),
            processed_at=utcnow(),
        )
        self.session.add(notice)
        return notice

    # ------------------------------------------------------------ the records

    def apply(self, record: RawRecord) -> RecordResult:
        checked = check_record(record, self.municipalities, self.today)
        melding_id = checked.melding_id
        if not checked.ok:
            notice = self._notice(checked, NoticeStatus.REJECTED)
            return RecordResult(
                record.row, melding_id, NoticeStatus.REJECTED, notice, checked.errors
            )
        previous = self.applied.get(melding_id)
        if previous is not None:
            if previous.content_hash == checked.content_hash():
                notice = self._notice(checked, NoticeStatus.DUPLICATE, errors=[])
                notice.case_id = previous.case_id
                case = self._case_for(checked.payload["bsn"])
                return RecordResult(
                    record.row, melding_id, NoticeStatus.DUPLICATE, notice, [], case
                )
            errors = [
                {
                    "field": "melding_id",
                    "message": f"melding_id ‘{melding_id}’ is eerder ontvangen met andere inhoud; er is niets gewijzigd. "
                    "Stuur een correctie met een nieuw melding_id.",
                }
            ]
            notice = self._notice(checked, NoticeStatus.REJECTED, errors=errors)
            return RecordResult(record.row, melding_id, NoticeStatus.REJECTED, notice, errors)
        handler = {
            NoticeKind.INSTROOM: self._instroom,
            NoticeKind.OVERPLAATSING: self._overplaatsing,
            NoticeKind.WIJZIGING: self._wijziging,
            NoticeKind.UITSTROOM: self._uitstroom,
        }[checked.kind]
        return handler(checked)

    def _reject(self, checked: CheckedRecord, name: str, message: str) -> RecordResult:
        errors = [{"field": name, "message": message}]
        notice = self._notice(checked, NoticeStatus.REJECTED, errors=errors)
        return RecordResult(
            checked.raw.row, checked.melding_id, NoticeStatus.REJECTED, notice, errors
        )

    def _accept(
        self,
        checked: CheckedRecord,
        case: Case,
        *,
        attention: str = "",
        changes: list[dict[str, Any]] | None = None,
        status: NoticeStatus = NoticeStatus.ACCEPTED,
    ) -> RecordResult:
        notice = self._notice(checked, status, attention=attention)
        notice.changes = changes or []
        self._link(notice, case)
        if attention:
            case.needs_attention = True
        if status == NoticeStatus.ACCEPTED:
            self.applied[checked.melding_id] = notice
        return RecordResult(checked.raw.row, checked.melding_id, status, notice, [], case)

    def _link(self, notice: Notice, case: Case) -> None:
        # The case may not have an id yet; the relationship is set after flush (see finish()).
        notice.case_id = case.id
        if case.id is None:
            self.pending_links.append((notice, case))

    def _park(self, checked: CheckedRecord, reason: str) -> RecordResult:
        notice = self._notice(checked, NoticeStatus.PARKED, attention=reason)
        self.applied[checked.melding_id] = notice
        if checked.kind != NoticeKind.INSTROOM:
            self.waiting[notice.bsn].append(notice)
        return RecordResult(checked.raw.row, checked.melding_id, NoticeStatus.PARKED, notice)

    def _person(self, p: dict[str, Any]) -> tuple[Person, list[dict[str, Any]]]:
        birth = dt.date.fromisoformat(p["geboortedatum"])
        person = self.persons.get(p["bsn"])
        changes: list[dict[str, Any]] = []
        if person is None:
            person = Person(
                bsn=p["bsn"],
                first_names=p["voornamen"],
                prefix=p["tussenvoegsel"],
                last_name=p["achternaam"],
                birth_date=birth,
            )
            self.session.add(person)
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
        if person.birth_date != birth:
            changes.append(
                {
                    "field": "geboortedatum",
                    "old": person.birth_date.isoformat(),
                    "new": birth.isoformat(),
                }
            )
            person.birth_date = birth
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
        person, person_changes = self._person(p)
        case = self._case_for(p["bsn"])
        changes: list[dict[str, Any]] = list(person_changes)
        if case is not None:
            current = case.periods[-1] if case.periods else None
            if (
                current is not None
                and current.entered_on == entered
                and current.released_on is None
            ):
                notice = self._notice(checked, NoticeStatus.DUPLICATE, errors=[])
                self._link(notice, case)
                notice.attention = "Deze detentie was al bekend (zelfde datum van insluiting)."
                return RecordResult(
                    checked.raw.row, checked.melding_id, NoticeStatus.DUPLICATE, notice, [], case
                )
            if current is not None and current.released_on is None:
                attention.append(
                    f"Nieuwe instroom terwijl de detentie sinds {_fmt(current.entered_on)} nog niet als beëindigd is gemeld."
                )
            if case.region_id != region.id:
                attention.append(
                    f"De persoon keert terug naar een andere regio ({region.name}) dan die van de lopende casus."
                )
            if case.status == CaseStatus.NAZORG:
                case.status = CaseStatus.OPEN
                case.aftercare_ends_on = None
                changes.append(
                    {
                        "field": "status",
                        "old": CaseStatus.NAZORG.value,
                        "new": CaseStatus.OPEN.value,
                    }
                )
            self._mark(case, "detention", "status")
        else:
            case = Case(
                reference=self._next_reference(region, entered.year),
                person=person,
                region_id=region.id,
                status=CaseStatus.OPEN,
                origin_municipality_code=p["gemeente_code"],
                return_municipality_code=p["terugkeer_gemeente_code"] or p["gemeente_code"],
                opened_on=entered,
            )
            self.session.add(case)
            self.new_cases[p["bsn"]] = case
            self.created.add(id(case))
        if case.id is not None:
            case.origin_municipality_code = p["gemeente_code"]
            if p["terugkeer_gemeente_code"]:
                case.return_municipality_code = p["terugkeer_gemeente_code"]
        for attr, key in (
            ("pi_contact_name", "casemanager_naam"),
            ("pi_contact_email", "casemanager_email"),
            ("pi_contact_phone", "casemanager_telefoon"),
        ):
            if p[key]:
                setattr(case, attr, p[key])
        period = DetentionPeriod(
            institution_id=institution.id if institution else None,
            institution_name=institution.name if institution else p["inrichting"],
            entered_on=entered,
            expected_release_on=expected,
            title=p["titel"],
        )
        case.periods.append(period)
        changes.append({"field": "inrichting", "old": None, "new": period.institution_name})
        result = self._accept(checked, case, attention=" ".join(attention), changes=changes)
        self._mark(case, "person", "detention", "pi_contact")
        self._replay_waiting(p["bsn"], case)
        return result

    def _current_period(self, case: Case | None) -> DetentionPeriod | None:
        if case is None or not case.periods:
            return None
        return case.periods[-1]

    def _out_of_order(self, checked: CheckedRecord) -> RecordResult:
        return self._park(
            checked,
            "Geen lopende detentie bekend voor dit BSN; de melding wacht op de instroommelding en wordt dan alsnog verwerkt.",
        )

    def _overplaatsing(self, checked: CheckedRecord) -> RecordResult:
        case = self._case_for(checked.payload["bsn"])
        period = self._current_period(case)
        if case is None or period is None or period.released_on is not None:
            return self._out_of_order(checked)
        return self._apply_overplaatsing(
            checked.payload, case, period, lambda **kw: self._accept(checked, case, **kw)
        )

    def _apply_overplaatsing(
        self, p: dict[str, Any], case: Case, period: DetentionPeriod, accept: Any
    ) -> RecordResult:
        institution = self.institutions.find(p["inrichting"])
        new_name = institution.name if institution else p["inrichting"]
        changes = [
            {
                "field": "inrichting",
                "old": period.institution_label,
                "new": new_name,
                "on": p.get("datum_overplaatsing") or self.today.isoformat(),
            }
        ]
        period.institution_id = institution.id if institution else None
        period.institution_name = new_name
        self._mark(case, "detention")
        attention = (
            ""
            if institution
            else f"Onbekende inrichting ‘{p['inrichting']}’; de beheerder kan haar toevoegen."
        )
        return accept(changes=changes, attention=attention)

    def _wijziging(self, checked: CheckedRecord) -> RecordResult:
        case = self._case_for(checked.payload["bsn"])
        period = self._current_period(case)
        if case is None or period is None or period.released_on is not None:
            return self._out_of_order(checked)
        expected = checked.payload["verwachte_einddatum"]
        if expected and dt.date.fromisoformat(expected) < period.entered_on:
            return self._reject(
                checked,
                "verwachte_einddatum",
                f"verwachte_einddatum {_fmt(dt.date.fromisoformat(expected))} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self._apply_wijziging(
            checked.payload, case, period, lambda **kw: self._accept(checked, case, **kw)
        )

    def _apply_wijziging(
        self, p: dict[str, Any], case: Case, period: DetentionPeriod, accept: Any
    ) -> RecordResult:
        new = dt.date.fromisoformat(p["verwachte_einddatum"]) if p["verwachte_einddatum"] else None
        changes = [
            {
                "field": "verwachte_einddatum",
                "old": period.expected_release_on.isoformat()
                if period.expected_release_on
                else None,
                "new": new.isoformat() if new else None,
            }
        ]
        period.expected_release_on = new
        self._mark(case, "detention")
        return accept(changes=changes)

    def _uitstroom(self, checked: CheckedRecord) -> RecordResult:
        case = self._case_for(checked.payload["bsn"])
        period = self._current_period(case)
        if case is None or period is None:
            return self._out_of_order(checked)
        released = dt.date.fromisoformat(checked.payload["datum_ontslag"])
        if period.released_on is not None:
            if period.released_on == released:
                notice = self._notice(checked, NoticeStatus.DUPLICATE, errors=[])
                self._link(notice, case)
                notice.attention = "Dit ontslag was al bekend."
                return RecordResult(
                    checked.raw.row, checked.melding_id, NoticeStatus.DUPLICATE, notice, [], case
                )
            return self._out_of_order(checked)
        if released < period.entered_on:
            return self._reject(
                checked,
                "datum_ontslag",
                f"datum_ontslag {_fmt(released)} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self._apply_uitstroom(
            checked.payload, case, period, lambda **kw: self._accept(checked, case, **kw)
        )

    def _apply_uitstroom(
        self, p: dict[str, Any], case: Case, period: DetentionPeriod, accept: Any
    ) -> RecordResult:
        released = dt.date.fromisoformat(p["datum_ontslag"])
        region = self.regions[case.region_id]
        changes = [
            {"field": "datum_ontslag", "old": None, "new": released.isoformat()},
            {"field": "status", "old": str(case.status), "new": CaseStatus.NAZORG.value},
        ]
        period.released_on = released
        if not period.expected_release_on:
            period.expected_release_on = released
        case.status = CaseStatus.NAZORG
        case.aftercare_ends_on = released + dt.timedelta(days=region.aftercare_days)
        self._mark(case, "detention", "status")
        return accept(changes=changes)

    def _replay_waiting(self, bsn: str, case: Case) -> None:
        """Notices that arrived before their instroom are applied now, in the order they came."""
        waiting = self.waiting.pop(bsn, [])
        for notice in waiting:
            p = notice.payload or {}
            period = self._current_period(case)
            if period is None:
                continue

            def accept(
                changes: list[dict[str, Any]] | None = None,
                attention: str = "",
                notice: Notice = notice,
            ) -> RecordResult:
                notice.status = NoticeStatus.ACCEPTED
                notice.changes = changes or []
                notice.attention = (
                    "Verwerkt na de instroommelding (kwam eerder binnen). " + attention
                ).strip()
                notice.processed_at = utcnow()
                self._link(notice, case)
                case.needs_attention = True
                return RecordResult(
                    notice.row_number, notice.melding_id, NoticeStatus.ACCEPTED, notice, [], case
                )

            if notice.soort == NoticeKind.OVERPLAATSING and period.released_on is None:
                self._apply_overplaatsing(p, case, period, accept)
            elif notice.soort == NoticeKind.WIJZIGING and period.released_on is None:
                self._apply_wijziging(p, case, period, accept)
            elif notice.soort == NoticeKind.UITSTROOM and period.released_on is None:
                released = dt.date.fromisoformat(p["datum_ontslag"])
                if released >= period.entered_on:
                    self._apply_uitstroom(p, case, period, accept)

    # ------------------------------------------------------------ finishing

    async def finish(self) -> None:
        await self.session.flush()
        for notice, case in self.pending_links:
            notice.case_id = case.id
        for case in [*self.new_cases.values(), *self.open_cases.values()]:
            fields = self.touched.get(id(case))
            if id(case) in self.created:
                audit.record(
                    self.session,
                    self.ctx,
                    "case.created",
                    case=case,
                    object_type="case",
                    object_id=case.id,
                    fields=["person", "detention", "pi_contact"],
                )
            elif fields:
                audit.record(
                    self.session,
                    self.ctx,
                    "case.updated",
                    case=case,
                    object_type="case",
                    object_id=case.id,
                    fields=fields,
                )
        await self.session.flush()


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
