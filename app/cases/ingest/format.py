"""The notice format (docs/interfaces.md, "Detention notices"): its columns, which are required
(always and per kind), how long each may be, which hold dates. The demo data and the tests build
their files from COLUMNS too."""

from __future__ import annotations

from app.cases.models import NoticeKind

COLUMNS = [
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
