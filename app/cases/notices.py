"""Reading detention notices as they really arrive (contract section 4) and validating each record.

CSV: header row required, column names case-insensitive, `;`, `,` or tab detected, UTF-8 (with or
without BOM), UTF-16 with BOM or Windows-1252 (as Excel writes it). JSON: an array of objects with the
same keys. Dates as `YYYY-MM-DD` or `DD-MM-YYYY` (also with `/` or `.`). Every message is Dutch and
names the field it is about.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.cases.bsn import is_valid_bsn, normalise_bsn
from app.cases.models import NoticeKind

FIELDS = [
    "melding_id",
    "soort",
    "bsn",
    "achternaam",
    "voornamen",
    "tussenvoegsel",
    "geboortedatum",
    "gemeente_code",
    "terugkeer_gemeente_code",
    "inrichting",
    "datum_insluiting",
    "verwachte_einddatum",
    "datum_ontslag",
    "datum_overplaatsing",
    "titel",
    "casemanager_naam",
    "casemanager_email",
    "casemanager_telefoon",
    "opmerking",
]
REQUIRED_COLUMNS = ["melding_id", "soort", "bsn", "achternaam", "geboortedatum"]
MAX_LENGTH = {
    "melding_id": 100,
    "achternaam": 200,
    "voornamen": 200,
    "tussenvoegsel": 40,
    "inrichting": 200,
    "titel": 80,
    "casemanager_naam": 200,
    "casemanager_email": 254,
    "casemanager_telefoon": 40,
    "opmerking": 2000,
}
REQUIRED_BY_KIND: dict[NoticeKind, list[str]] = {
    NoticeKind.INSTROOM: ["gemeente_code", "inrichting", "datum_insluiting"],
    NoticeKind.OVERPLAATSING: ["inrichting"],
    NoticeKind.WIJZIGING: [],
    NoticeKind.UITSTROOM: ["datum_ontslag"],
}
DATE_FIELDS = [
    "geboortedatum",
    "datum_insluiting",
    "verwachte_einddatum",
    "datum_ontslag",
    "datum_overplaatsing",
]
KIND_NAMES = "instroom, overplaatsing, wijziging of uitstroom"


class UnreadableFileError(ValueError):
    """The delivery as a whole cannot be read (no header, wrong format); nothing in it is processed."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class RawRecord:
    """One record as received: its row number (1 = first record) and its fields as text."""

    row: int
    fields: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    def as_text(self) -> str:
        return json.dumps({**self.fields, **self.extra}, ensure_ascii=False, sort_keys=True)


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


@dataclass
class ParsedFile:
    """A whole delivery, read."""

    records: list[RawRecord]
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding it was in; UTF-8 first, then Windows-1252 as Excel writes it."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "iso-8859-1"


def _normalise_header(name: str) -> str:
    name = name.strip().strip("\ufeff").strip().lower()
    return re.sub(r"[\s\-]+", "_", name)


def _detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ";"


def parse_csv(raw: bytes) -> ParsedFile:
    if not raw.strip():
        raise UnreadableFileError("Het bestand is leeg.")
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFileError(
            "Dit is een Excel-bestand, geen CSV. Kies in Excel ‘Opslaan als’ → ‘CSV (gescheiden door lijstscheidingsteken)’."
        )
    text, encoding = decode(raw)
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    delimiter = _detect_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(reader)
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    header = [_normalise_header(h) for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UnreadableFileError(
            "De kopregel mist "
            + ("de kolom" if len(missing) == 1 else "de kolommen")
            + " "
            + ", ".join(f"‘{m}’" for m in missing)
            + ". De eerste regel moet de kolomnamen bevatten, zoals melding_id;soort;bsn;achternaam;geboortedatum.",
            [{"field": m, "message": f"Kolom ‘{m}’ ontbreekt in de kopregel."} for m in missing],
        )
    duplicates = sorted({h for h in header if h and header.count(h) > 1})
    if duplicates:
        raise UnreadableFileError(f"De kopregel bevat kolommen dubbel: {', '.join(duplicates)}.")
    records: list[RawRecord] = []
    number = 0
    for cells in rows[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        values = {
            name: (cells[i].strip() if i < len(cells) else "")
            for i, name in enumerate(header)
            if name
        }
        known = {k: v for k, v in values.items() if k in FIELDS}
        extra = {k: v for k, v in values.items() if k not in FIELDS and v}
        problem = ""
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problem = f"Deze regel heeft {len(cells)} velden, de kopregel {len(header)}; controleer het scheidingsteken."
        records.append(RawRecord(row=number, fields=known, extra=extra, problem=problem))
    if not records:
        raise UnreadableFileError("Het bestand bevat alleen een kopregel en geen meldingen.")
    return ParsedFile(records=records, encoding=encoding, delimiter=delimiter, header=header)


def parse_json(raw: bytes) -> ParsedFile:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFileError(f"Geen geldige JSON: {exc.__class__.__name__}.") from exc
    if isinstance(data, dict) and isinstance(data.get("meldingen"), list):
        data = data["meldingen"]
    if not isinstance(data, list):
        raise UnreadableFileError('Verwacht een JSON-lijst van meldingen: [{"melding_id": …}, …].')
    if not data:
        raise UnreadableFileError("De lijst met meldingen is leeg.")
    records = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            records.append(
                RawRecord(row=number, fields={}, problem="Deze melding is geen JSON-object.")
            )
            continue
        fields: dict[str, str] = {}
        extra: dict[str, str] = {}
        for key, value in item.items():
            name = _normalise_header(str(key))
            text = (
                ""
                if value is None
                else (
                    str(value).strip() if not isinstance(value, dict | list) else json.dumps(value)
                )
            )
            (fields if name in FIELDS else extra)[name] = text
        records.append(RawRecord(row=number, fields=fields, extra=extra))
    return ParsedFile(records=records, encoding="utf-8")


# ---------------------------------------------------------------- validating

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
    """Validate one record; the payload holds normalised values (dates ISO, BSN nine digits)."""
    f = record.fields
    errors: list[dict[str, str]] = []
    payload: dict[str, Any] = {}

    def error(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if record.problem:
        error("regel", record.problem)
    for name, limit in MAX_LENGTH.items():
        if len(f.get(name, "")) > limit:
            error(name, f"{name} is te lang (meer dan {limit} tekens).")

    melding_id = f.get("melding_id", "").strip()
    if not melding_id:
        error("melding_id", "melding_id ontbreekt.")
    payload["melding_id"] = melding_id

    kind_text = f.get("soort", "").strip().lower()
    kind: NoticeKind | None = None
    if not kind_text:
        error("soort", f"soort ontbreekt; kies {KIND_NAMES}.")
    else:
        try:
            kind = NoticeKind(kind_text)
        except ValueError:
            error("soort", f"soort ‘{f.get('soort', '')}’ is onbekend; kies {KIND_NAMES}.")
    payload["soort"] = kind.value if kind else kind_text

    bsn_text = f.get("bsn", "")
    bsn = normalise_bsn(bsn_text)
    if not bsn_text.strip():
        error("bsn", "bsn ontbreekt.")
    elif not is_valid_bsn(bsn):
        error(
            "bsn",
            f"bsn ‘{bsn_text.strip()}’ is geen geldig burgerservicenummer (negen cijfers, elfproef).",
        )
    payload["bsn"] = bsn

    payload["achternaam"] = f.get("achternaam", "").strip()
    if not payload["achternaam"]:
        error("achternaam", "achternaam ontbreekt.")
    payload["voornamen"] = f.get("voornamen", "").strip()
    payload["tussenvoegsel"] = f.get("tussenvoegsel", "").strip()

    dates: dict[str, dt.date | None] = {}
    for name in DATE_FIELDS:
        parsed = parse_date(f.get(name, ""))
        if isinstance(parsed, str):
            error(name, f"{name} ‘{f.get(name, '').strip()}’ {parsed}.")
            dates[name] = None
        else:
            dates[name] = parsed
        value = dates[name]
        payload[name] = value.isoformat() if value else None

    birth = dates["geboortedatum"]
    if birth is None and not any(e["field"] == "geboortedatum" for e in errors):
        error("geboortedatum", "geboortedatum ontbreekt.")
    elif birth is not None:
        if birth > today:
            error("geboortedatum", f"geboortedatum {_fmt(birth)} ligt in de toekomst.")
        elif birth < dt.date(1900, 1, 1):
            error(
                "geboortedatum", f"geboortedatum {_fmt(birth)} ligt vóór 1900; controleer de datum."
            )
        elif (today - birth).days < 12 * 365:
            error(
                "geboortedatum",
                f"geboortedatum {_fmt(birth)}: de persoon is jonger dan 12 jaar; controleer de datum.",
            )

    entered = dates["datum_insluiting"]
    if entered is not None:
        if entered > today:
            error("datum_insluiting", f"datum_insluiting {_fmt(entered)} ligt in de toekomst.")
        if birth is not None and entered < birth:
            error("datum_insluiting", "datum_insluiting ligt vóór de geboortedatum.")
    expected = dates["verwachte_einddatum"]
    if expected is not None and entered is not None and expected < entered:
        error(
            "verwachte_einddatum",
            f"verwachte_einddatum {_fmt(expected)} ligt vóór datum_insluiting {_fmt(entered)}.",
        )
    released = dates["datum_ontslag"]
    if released is not None:
        if released > today:
            error(
                "datum_ontslag",
                f"datum_ontslag {_fmt(released)} ligt in de toekomst; meld een verwachte einddatum als soort wijziging.",
            )
        if entered is not None and released < entered:
            error(
                "datum_ontslag",
                f"datum_ontslag {_fmt(released)} ligt vóór datum_insluiting {_fmt(entered)}.",
            )

    for name in ("gemeente_code", "terugkeer_gemeente_code"):
        text = f.get(name, "").strip()
        code = normalise_gemeente_code(text) if text else ""
        payload[name] = code or None
        if not code:
            continue
        if code in municipalities.abolished:
            on, successor = municipalities.abolished[code]
            successor_name = municipalities.names.get(successor, successor)
            error(
                name,
                f"{name} ‘{text}’ is opgeheven per {_fmt(on)}; gebruik {successor} ({successor_name}).",
            )
        elif code not in municipalities.names:
            error(name, f"{name} ‘{text}’ is geen bestaande CBS-gemeentecode (zoals GM0080).")

    payload["inrichting"] = f.get("inrichting", "").strip()
    for name in ("titel", "casemanager_naam", "casemanager_telefoon", "opmerking"):
        payload[name] = f.get(name, "").strip()
    email = f.get("casemanager_email", "").strip()
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        error("casemanager_email", f"casemanager_email ‘{email}’ is geen geldig e-mailadres.")
    payload["casemanager_email"] = email.lower()

    if kind is not None:
        for name in REQUIRED_BY_KIND[kind]:
            if not payload.get(name) and not any(e["field"] == name for e in errors):
                error(name, f"{name} is verplicht bij soort {kind.value}.")
    return CheckedRecord(raw=record, payload=payload, errors=errors)


def rejected_rows_csv(
    header: list[str], records: list[tuple[RawRecord, list[dict[str, str]]]], delimiter: str = ";"
) -> str:
    """The rejected records in the sender's own columns plus a `fout` column, to fix and resend."""
    columns = [h for h in header if h] or FIELDS
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter or ";", lineterminator="\r\n")
    writer.writerow([*columns, "fout"])
    for record, errors in records:
        values = {**record.fields, **record.extra}
        writer.writerow(
            [values.get(c, "") for c in columns] + [" | ".join(e["message"] for e in errors)]
        )
    return "\ufeff" + buffer.getvalue()
