"""Reading a delivery of notices as it really arrives (docs/interfaces.md, "Detention notices").

CSV: header row required, column names case-insensitive, `;`, `,` or tab detected, UTF-8 (with or
without BOM), UTF-16 with BOM or Windows-1252 (as Excel writes it). JSON: an array of objects with the
same keys. A delivery that cannot be read as a whole raises UnreadableFileError with a Dutch message;
the records themselves are checked in app/cases/ingest/checking.py. Also: the rejected records
written back in the sender's own columns.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field

from app.cases.ingest.format import COLUMNS, REQUIRED_COLUMNS


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
class ParsedFile:
    """A whole delivery, read."""

    records: list[RawRecord]
    encoding: str = ""
    delimiter: str = ""
    header: list[str] = field(default_factory=list)


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
        known = {k: v for k, v in values.items() if k in COLUMNS}
        extra = {k: v for k, v in values.items() if k not in COLUMNS and v}
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
            (fields if name in COLUMNS else extra)[name] = text
        records.append(RawRecord(row=number, fields=fields, extra=extra))
    return ParsedFile(records=records, encoding="utf-8")


def rejected_rows_csv(
    header: list[str], records: list[tuple[RawRecord, list[dict[str, str]]]], delimiter: str = ";"
) -> str:
    """The rejected records in the sender's own columns plus a `fout` column, to fix and resend."""
    columns = [h for h in header if h] or COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter or ";", lineterminator="\r\n")
    writer.writerow([*columns, "fout"])
    for record, errors in records:
        values = {**record.fields, **record.extra}
        writer.writerow(
            [values.get(c, "") for c in columns] + [" | ".join(e["message"] for e in errors)]
        )
    return "\ufeff" + buffer.getvalue()
