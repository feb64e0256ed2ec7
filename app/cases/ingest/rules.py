"""The rules of the notice format (docs/interfaces.md, "Detention notices"; docs/domain.md, "The
life of a case"), one kind at a time:

- instroom: a new detention opens a case in the region of the person's gemeente, or a new period
  on their open case; outside every region the notice is parked for the beheerder.
- overplaatsing: the open period moves to another institution.
- wijziging: the expected end of the open period changes.
- uitstroom: the period ends; the case goes into nazorg until the region's aftercare window ends.
- A notice about a detention not (yet) known waits, parked, for its instroom and is applied when it
  comes, in the order the notices arrived. A melding_id seen before with the same content is a
  duplicate; with other content it is rejected.

The rules change the delivery's state in memory only (app/cases/ingest/state.py); loading and
writing happen around them (app/cases/ingest/loading.py, writing.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.cases.ingest.checking import CheckedRecord, check_record
from app.cases.ingest.reading import RawRecord
from app.cases.ingest.state import (
    CaseState,
    Delivery,
    PeriodState,
    PersonState,
    RecordResult,
)
from app.cases.models import CaseStatus, NoticeKind, NoticeStatus
from app.reference.models import Region


def _fmt(d: dt.date | None) -> str:
    return d.strftime("%d-%m-%Y") if d else "onbekend"


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _pi_contact(case: CaseState, p: dict[str, Any]) -> None:
    """The PI's casemanager as the notice names them (a field left empty keeps what is known)."""
    for attr, key in (
        ("pi_contact_name", "casemanager_naam"),
        ("pi_contact_email", "casemanager_email"),
        ("pi_contact_phone", "casemanager_telefoon"),
    ):
        if p[key] and getattr(case, attr) != p[key]:
            setattr(case, attr, p[key])
            case.touch("pi_contact")


class Rules:
    """Applies the records of one delivery to its state, in order."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def apply(self, record: RawRecord) -> RecordResult:
        """One record: checked, then a duplicate or conflict of an earlier one of this sender, or
        handed to the rule of its kind."""
        checked = check_record(record, self.delivery.municipalities, self.delivery.today)
        if not checked.ok:
            return self.delivery.result(
                checked,
                NoticeStatus.REJECTED,
                self.delivery.notice(checked, NoticeStatus.REJECTED),
                errors=checked.errors,
            )
        previous = self.delivery.applied.get(checked.melding_id)
        if previous is not None:
            if previous.values["content_hash"] == checked.content_hash():
                notice = self.delivery.notice(checked, NoticeStatus.DUPLICATE, errors=[])
                notice.values["case_id"] = previous.values.get("case_id")
                return self.delivery.result(
                    checked,
                    NoticeStatus.DUPLICATE,
                    notice,
                    self.delivery.case_for(checked.payload["bsn"]),
                )
            return self.delivery.reject(
                checked,
                "melding_id",
                f"melding_id ‘{checked.melding_id}’ is eerder ontvangen met andere inhoud; er is niets gewijzigd. "
                "Stuur een correctie met een nieuw melding_id.",
            )
        handler = {
            NoticeKind.INSTROOM: self.instroom,
            NoticeKind.OVERPLAATSING: self.overplaatsing,
            NoticeKind.WIJZIGING: self.wijziging,
            NoticeKind.UITSTROOM: self.uitstroom,
        }[checked.kind]
        return handler(checked)

    def _person(self, p: dict[str, Any]) -> tuple[PersonState, list[dict[str, Any]]]:
        birth = dt.date.fromisoformat(p["geboortedatum"])
        person = self.delivery.persons.get(p["bsn"])
        changes: list[dict[str, Any]] = []
        if person is None:
            person = PersonState(
                self.delivery.next_id("persons"),
                p["bsn"],
                p["voornamen"],
                p["tussenvoegsel"],
                p["achternaam"],
                birth,
                new=True,
            )
            self.delivery.persons[p["bsn"]] = person
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

    def instroom(self, checked: CheckedRecord) -> RecordResult:
        """A new detention: a new case in the region of the person's gemeente (of return, else of
        origin), or a new period on the person's open case (reopened from nazorg). A gemeente
        outside every region parks the notice for the beheerder; a period already known is a
        duplicate. Notices of this person that came before it are applied after it."""
        p = checked.payload
        home = p["terugkeer_gemeente_code"] or p["gemeente_code"]
        region_id = self.delivery.region_of.get(home)
        if region_id is None:
            name = self.delivery.municipalities.names.get(home, home)
            return self.delivery.park(
                checked,
                f"Gemeente {name} ({home}) valt buiten alle ingestelde regio's; geparkeerd voor de beheerder.",
            )
        region = self.delivery.regions[region_id]
        entered = dt.date.fromisoformat(p["datum_insluiting"])
        institution = self.delivery.institutions.find(p["inrichting"])
        attention: list[str] = []
        if institution is None:
            attention.append(
                f"Onbekende inrichting ‘{p['inrichting']}’; de beheerder kan haar toevoegen."
            )
        case = self.delivery.case_for(p["bsn"])
        current = case.current if case is not None else None
        if (
            case is not None
            and current is not None
            and current.entered_on == entered
            and current.released_on is None
        ):
            return self.delivery.duplicate_of_known(
                checked, case, "Deze detentie was al bekend (zelfde datum van insluiting)."
            )
        person, changes = self._person(p)
        if case is not None:
            attention += self._reopen(case, region, p, changes)
        else:
            case = self._open_case(person, region, entered, p)
        _pi_contact(case, p)
        period = PeriodState(
            id=self.delivery.next_id("detention_periods"),
            institution_id=institution.id if institution else None,
            institution_name=institution.name if institution else p["inrichting"],
            entered_on=entered,
            expected_release_on=(
                dt.date.fromisoformat(p["verwachte_einddatum"])
                if p["verwachte_einddatum"]
                else None
            ),
            released_on=None,
            title=p["titel"],
            new=True,
        )
        case.periods.append(period)
        changes.append({"field": "inrichting", "old": None, "new": period.institution_name})
        case.touch("person", "detention")
        result = self.delivery.accept(checked, case, attention=" ".join(attention), changes=changes)
        self._replay_waiting(p["bsn"], case)
        return result

    def _reopen(
        self, case: CaseState, region: Region, p: dict[str, Any], changes: list[dict[str, Any]]
    ) -> list[str]:
        """A new instroom on an open case: back from nazorg to open; what needs attention."""
        attention = []
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
        return attention

    def _open_case(
        self, person: PersonState, region: Region, entered: dt.date, p: dict[str, Any]
    ) -> CaseState:
        """A new case with the region's next reference (CODE-year-number)."""
        region.case_counter += 1
        case = CaseState(
            id=self.delivery.next_id("cases"),
            reference=f"{region.code}-{entered.year}-{region.case_counter:04d}",
            person_id=person.id,
            region_id=region.id,
            status=CaseStatus.OPEN.value,
            opened_on=entered,
            origin_municipality_code=p["gemeente_code"],
            return_municipality_code=p["terugkeer_gemeente_code"] or p["gemeente_code"],
            new=True,
        )
        self.delivery.cases[person.id] = case
        return case

    def _out_of_order(self, checked: CheckedRecord) -> RecordResult:
        return self.delivery.park(
            checked,
            "Geen lopende detentie bekend voor dit BSN; de melding wacht op de instroommelding en wordt dan alsnog verwerkt.",
        )

    def _open_period(self, bsn: str) -> tuple[CaseState, PeriodState] | None:
        case = self.delivery.case_for(bsn)
        if case is None or case.current is None or case.current.released_on is not None:
            return None
        return case, case.current

    def overplaatsing(self, checked: CheckedRecord) -> RecordResult:
        """The open period moves to another institution (an unknown one needs attention)."""
        found = self._open_period(checked.payload["bsn"])
        if found is None:
            return self._out_of_order(checked)
        case, period = found
        changes, attention = self._apply_overplaatsing(checked.payload, case, period)
        return self.delivery.accept(checked, case, changes=changes, attention=attention)

    def _apply_overplaatsing(
        self, p: dict[str, Any], case: CaseState, period: PeriodState
    ) -> tuple[list[dict[str, Any]], str]:
        institution = self.delivery.institutions.find(p["inrichting"])
        new_name = institution.name if institution else p["inrichting"]
        changes = [
            {
                "field": "inrichting",
                "old": period.institution_name,
                "new": new_name,
                "on": p.get("datum_overplaatsing") or self.delivery.today.isoformat(),
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

    def wijziging(self, checked: CheckedRecord) -> RecordResult:
        """The expected end of the open period changes; never to before it began."""
        found = self._open_period(checked.payload["bsn"])
        if found is None:
            return self._out_of_order(checked)
        case, period = found
        expected = checked.payload["verwachte_einddatum"]
        if expected and dt.date.fromisoformat(expected) < period.entered_on:
            return self.delivery.reject(
                checked,
                "verwachte_einddatum",
                f"verwachte_einddatum {_fmt(dt.date.fromisoformat(expected))} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self.delivery.accept(
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

    def uitstroom(self, checked: CheckedRecord) -> RecordResult:
        """The period ends: the case goes into nazorg for the region's aftercare days. The same
        release again is a duplicate; a release of a period not known waits for its instroom."""
        case = self.delivery.case_for(checked.payload["bsn"])
        period = case.current if case is not None else None
        if case is None or period is None:
            return self._out_of_order(checked)
        released = dt.date.fromisoformat(checked.payload["datum_ontslag"])
        if period.released_on is not None:
            if period.released_on == released:
                return self.delivery.duplicate_of_known(checked, case, "Dit ontslag was al bekend.")
            return self._out_of_order(checked)
        if released < period.entered_on:
            return self.delivery.reject(
                checked,
                "datum_ontslag",
                f"datum_ontslag {_fmt(released)} ligt vóór de datum van insluiting ({_fmt(period.entered_on)}).",
            )
        return self.delivery.accept(
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
            days=self.delivery.regions[case.region_id].aftercare_days
        )
        case.touch("detention", "status")
        return changes

    def _replay_waiting(self, bsn: str, case: CaseState) -> None:
        """Notices that arrived before their instroom are applied now, in the order they came."""
        for notice in self.delivery.waiting.pop(bsn, []):
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
                processed_at=self.delivery.now,
                case_id=case.id,
                region_id=case.region_id,
            )
            notice.dirty = True
            case.needs_attention = True
            case.touch("needs_attention")
