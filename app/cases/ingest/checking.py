"""Checking one notice record: every field normalised (dates ISO, BSN nine digits, CBS codes), and
every problem a Dutch message that names its field."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from app.cases.bsn import is_valid_bsn, normalise_bsn
from app.cases.ingest.format import DATE_FIELDS, KIND_NAMES, MAX_LENGTH, REQUIRED_BY_KIND
from app.cases.ingest.reading import RawRecord
from app.cases.models import NoticeKind


@dataclass
class CheckedRecord:
    """A record after validation: the normalised payload, or the reasons it is rejected."""

    raw: RawRecord
    payload: dict[str, Any]
    errors: list[dict[str, str]]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def melding_id(self) -> str:
        return str(self.payload.get("melding_id") or self.raw.fields.get("melding_id", "")).strip()

    @property
    def kind(self) -> NoticeKind:
        return NoticeKind(self.payload["soort"])

    def content_hash(self) -> str:
        canonical = json.dumps(self.payload, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


DATE_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), ("y", "m", "d")),
]


def parse_date(value: str) -> dt.date | str | None:
    """A date, None for empty, or a Dutch reason why it is not a date."""
    value = value.strip()
    if not value:
        return None
    value = value.split("T", 1)[0].split(" ", 1)[0]  # tolerate a time part as Excel may add
    for pattern, order in DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                return dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return "bestaat niet"
    return "is geen datum (gebruik JJJJ-MM-DD of DD-MM-JJJJ)"


def normalise_gemeente_code(value: str) -> str:
    value = value.strip().upper().replace(" ", "")
    digits = value[2:] if value.startswith("GM") else value
    if digits.isdigit() and 1 <= len(digits) <= 4:
        return "GM" + digits.zfill(4)
    return value


@dataclass(frozen=True)
class Municipalities:
    """What validation needs to know about gemeenten: name, and successor of abolished ones."""

    names: dict[str, str]
    abolished: dict[str, tuple[dt.date, str]]


def _fmt(d: dt.date) -> str:
    return d.strftime("%d-%m-%Y")


def check_record(
    record: RawRecord, municipalities: Municipalities, today: dt.date
) -> CheckedRecord:
    """Validate one record; the payload holds normalised values (dates ISO, BSN nine digits).

    The checks run in the order of the format, so a sender reads the problems of a row as its
    columns go: the row itself, lengths, identity, dates, gemeenten, contact, then what its kind
    requires."""
    check = _Check(record)
    if record.problem:
        check.error("regel", record.problem)
    for name, limit in MAX_LENGTH.items():
        if len(record.fields.get(name, "")) > limit:
            check.error(name, f"{name} is te lang (meer dan {limit} tekens).")
    kind = check.identity()
    check.dates(today)
    check.gemeenten(municipalities)
    check.contact()
    if kind is not None:
        for name in REQUIRED_BY_KIND[kind]:
            if not check.payload.get(name) and not check.has_error(name):
                check.error(name, f"{name} is verplicht bij soort {kind.value}.")
    return CheckedRecord(raw=record, payload=check.payload, errors=check.errors)


class _Check:
    """The payload and the problems of one record while it is checked."""

    def __init__(self, record: RawRecord) -> None:
        self.f = record.fields
        self.errors: list[dict[str, str]] = []
        self.payload: dict[str, Any] = {}

    def error(self, name: str, message: str) -> None:
        self.errors.append({"field": name, "message": message})

    def has_error(self, name: str) -> bool:
        return any(e["field"] == name for e in self.errors)

    def text(self, name: str) -> str:
        return self.f.get(name, "").strip()

    def identity(self) -> NoticeKind | None:
        """melding_id, soort, BSN (elfproef) and names; returns the kind when it is known."""
        melding_id = self.text("melding_id")
        if not melding_id:
            self.error("melding_id", "melding_id ontbreekt.")
        self.payload["melding_id"] = melding_id
        kind_text = self.text("soort").lower()
        kind: NoticeKind | None = None
        if not kind_text:
            self.error("soort", f"soort ontbreekt; kies {KIND_NAMES}.")
        else:
            try:
                kind = NoticeKind(kind_text)
            except ValueError:
                self.error(
                    "soort", f"soort ‘{self.f.get('soort', '')}’ is onbekend; kies {KIND_NAMES}."
                )
        self.payload["soort"] = kind.value if kind else kind_text
        bsn_text = self.f.get("bsn", "")
        bsn = normalise_bsn(bsn_text)
        if not bsn_text.strip():
            self.error("bsn", "bsn ontbreekt.")
        elif not is_valid_bsn(bsn):
            self.error(
                "bsn",
                f"bsn ‘{bsn_text.strip()}’ is geen geldig burgerservicenummer (negen cijfers, elfproef).",
            )
        self.payload["bsn"] = bsn
        self.payload["achternaam"] = self.text("achternaam")
        if not self.payload["achternaam"]:
            self.error("achternaam", "achternaam ontbreekt.")
        self.payload["voornamen"] = self.text("voornamen")
        self.payload["tussenvoegsel"] = self.text("tussenvoegsel")
        return kind

    def dates(self, today: dt.date) -> None:
        """Every date read; then birth, detention and release checked against each other and
        against today."""
        dates: dict[str, dt.date | None] = {}
        for name in DATE_FIELDS:
            parsed = parse_date(self.f.get(name, ""))
            if isinstance(parsed, str):
                self.error(name, f"{name} ‘{self.text(name)}’ {parsed}.")
                dates[name] = None
            else:
                dates[name] = parsed
            value = dates[name]
            self.payload[name] = value.isoformat() if value else None
        birth = dates["geboortedatum"]
        if birth is None and not self.has_error("geboortedatum"):
            self.error("geboortedatum", "geboortedatum ontbreekt.")
        elif birth is not None:
            if birth > today:
                self.error("geboortedatum", f"geboortedatum {_fmt(birth)} ligt in de toekomst.")
            elif birth < dt.date(1900, 1, 1):
                self.error(
                    "geboortedatum",
                    f"geboortedatum {_fmt(birth)} ligt vóór 1900; controleer de datum.",
                )
            elif (today - birth).days < 12 * 365:
                self.error(
                    "geboortedatum",
                    f"geboortedatum {_fmt(birth)}: de persoon is jonger dan 12 jaar; controleer de datum.",
                )
        entered = dates["datum_insluiting"]
        if entered is not None:
            if entered > today:
                self.error(
                    "datum_insluiting", f"datum_insluiting {_fmt(entered)} ligt in de toekomst."
                )
            if birth is not None and entered < birth:
                self.error("datum_insluiting", "datum_insluiting ligt vóór de geboortedatum.")
        expected = dates["verwachte_einddatum"]
        if expected is not None and entered is not None and expected < entered:
            self.error(
                "verwachte_einddatum",
                f"verwachte_einddatum {_fmt(expected)} ligt vóór datum_insluiting {_fmt(entered)}.",
            )
        released = dates["datum_ontslag"]
        if released is not None:
            if released > today:
                self.error(
                    "datum_ontslag",
                    f"datum_ontslag {_fmt(released)} ligt in de toekomst; meld een verwachte einddatum als soort wijziging.",
                )
            if entered is not None and released < entered:
                self.error(
                    "datum_ontslag",
                    f"datum_ontslag {_fmt(released)} ligt vóór datum_insluiting {_fmt(entered)}.",
                )

    def gemeenten(self, municipalities: Municipalities) -> None:
        """CBS codes normalised (GM0080); abolished ones name their successor."""
        for name in ("gemeente_code", "terugkeer_gemeente_code"):
            text = self.text(name)
            code = normalise_gemeente_code(text) if text else ""
            self.payload[name] = code or None
            if not code:
                continue
            if code in municipalities.abolished:
                on, successor = municipalities.abolished[code]
                successor_name = municipalities.names.get(successor, successor)
                self.error(
                    name,
                    f"{name} ‘{text}’ is opgeheven per {_fmt(on)}; gebruik {successor} ({successor_name}).",
                )
            elif code not in municipalities.names:
                self.error(
                    name, f"{name} ‘{text}’ is geen bestaande CBS-gemeentecode (zoals GM0080)."
                )

    def contact(self) -> None:
        """The institution, title, the PI's casemanager and the remark (an e-mail must be one)."""
        self.payload["inrichting"] = self.text("inrichting")
        for name in ("titel", "casemanager_naam", "casemanager_telefoon", "opmerking"):
            self.payload[name] = self.text(name)
        email = self.text("casemanager_email")
        if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
            self.error(
                "casemanager_email", f"casemanager_email ‘{email}’ is geen geldig e-mailadres."
            )
        self.payload["casemanager_email"] = email.lower()
