"""A delivery being applied, in memory: the persons, cases and detention periods it touches, the
notices it writes, and each record's outcome. The rules (app/cases/ingest/rules.py) change this
state only; loading fills it first and writing stores it last."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from app.audit import AuditContext
from app.cases.ingest.checking import CheckedRecord, Municipalities
from app.cases.models import NoticeKind, NoticeStatus
from app.db import utcnow
from app.reference.models import Region
from app.reference.services import InstitutionIndex


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


class Delivery:
    """One delivery's state while it is applied, and the bookkeeping of its outcomes."""

    def __init__(self, ctx: AuditContext, source_key: str, batch_id: int, today: dt.date) -> None:
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

    def next_id(self, table: str) -> int:
        """An id reserved for a row of `table` this delivery inserts."""
        return self.ids[table].pop()

    def case_for(self, bsn: str) -> CaseState | None:
        person = self.persons.get(bsn)
        return self.cases.get(person.id) if person is not None else None

    def notice(
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
            case = self.case_for(str(p.get("bsn") or ""))
            region_id = case.region_id if case is not None else None
        problems = errors if errors is not None else checked.errors
        notice = NoticeState(
            {
                "id": self.next_id("notices"),
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

    def result(
        self,
        checked: CheckedRecord,
        status: NoticeStatus,
        notice: NoticeState,
        case: CaseState | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> RecordResult:
        return RecordResult(checked.raw.row, checked.melding_id, status, notice, errors or [], case)

    def reject(self, checked: CheckedRecord, name: str, message: str) -> RecordResult:
        errors = [{"field": name, "message": message}]
        return self.result(
            checked,
            NoticeStatus.REJECTED,
            self.notice(checked, NoticeStatus.REJECTED, errors=errors),
            errors=errors,
        )

    def accept(
        self,
        checked: CheckedRecord,
        case: CaseState,
        *,
        attention: str = "",
        changes: list[dict[str, Any]] | None = None,
    ) -> RecordResult:
        notice = self.notice(checked, NoticeStatus.ACCEPTED, attention=attention)
        notice.values["changes"] = changes or []
        notice.values["case_id"] = case.id
        if attention:
            case.needs_attention = True
            case.touch("needs_attention")
        self.applied[checked.melding_id] = notice
        return self.result(checked, NoticeStatus.ACCEPTED, notice, case)

    def duplicate_of_known(self, checked: CheckedRecord, case: CaseState, why: str) -> RecordResult:
        notice = self.notice(checked, NoticeStatus.DUPLICATE, errors=[], attention=why)
        notice.values["case_id"] = case.id
        return self.result(checked, NoticeStatus.DUPLICATE, notice, case)

    def park(self, checked: CheckedRecord, reason: str) -> RecordResult:
        notice = self.notice(checked, NoticeStatus.PARKED, attention=reason)
        self.applied[checked.melding_id] = notice
        if checked.kind != NoticeKind.INSTROOM:
            self.waiting[notice.values["bsn"]].append(notice)
        return self.result(checked, NoticeStatus.PARKED, notice)
