"""Tables of the reference data every other domain points at."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base

DEFAULT_LEEFGEBIEDEN: list[dict[str, str]] = [
    {"key": "identiteitsbewijs", "label": "ID-bewijs"},
    {"key": "onderdak", "label": "Onderdak / huisvesting"},
    {"key": "werk_inkomen", "label": "Werk, inkomen en dagbesteding"},
    {"key": "schulden", "label": "Financiën en schulden"},
    {"key": "zorg", "label": "Zorg"},
    {"key": "sociaal_netwerk", "label": "Sociaal netwerk"},
]


class OrganisationKind(enum.StrEnum):
    """What kind of partner an organisation is; drives labels, pairing fit and gemeente scoping."""

    PI = "pi"
    GEMEENTE = "gemeente"
    RECLASSERING_RN = "reclassering_rn"
    RECLASSERING_SVG = "reclassering_svg"
    RECLASSERING_LJR = "reclassering_ljr"
    POLITIE = "politie"
    OM = "om"
    GGZ = "ggz"
    GGD = "ggd"
    MAATSCHAPPELIJKE_OPVANG = "maatschappelijke_opvang"
    WIJKTEAM = "wijkteam"
    SCHULDHULP = "schuldhulp"
    WONINGCORPORATIE = "woningcorporatie"
    ZVH = "zvh"
    OTHER = "overig"

    @property
    def label(self) -> str:
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS: dict[OrganisationKind, str] = {
    OrganisationKind.PI: "DJI / penitentiaire inrichting",
    OrganisationKind.GEMEENTE: "Gemeente",
    OrganisationKind.RECLASSERING_RN: "Reclassering Nederland",
    OrganisationKind.RECLASSERING_SVG: "Verslavingsreclassering (SVG)",
    OrganisationKind.RECLASSERING_LJR: "Leger des Heils Jeugdzorg & Reclassering",
    OrganisationKind.POLITIE: "Politie",
    OrganisationKind.OM: "Openbaar Ministerie",
    OrganisationKind.GGZ: "GGZ",
    OrganisationKind.GGD: "GGD",
    OrganisationKind.MAATSCHAPPELIJKE_OPVANG: "Maatschappelijke opvang",
    OrganisationKind.WIJKTEAM: "Wijkteam",
    OrganisationKind.SCHULDHULP: "Schuldhulpverlening",
    OrganisationKind.WONINGCORPORATIE: "Woningcorporatie",
    OrganisationKind.ZVH: "Zorg- en Veiligheidshuis",
    OrganisationKind.OTHER: "Overig",
}

# Which leefgebieden an organisation kind usually works on: one input of the pairing suggestions.
KIND_LEEFGEBIEDEN: dict[OrganisationKind, set[str]] = {
    OrganisationKind.GEMEENTE: {"identiteitsbewijs", "werk_inkomen", "onderdak", "schulden"},
    OrganisationKind.RECLASSERING_RN: {"werk_inkomen", "sociaal_netwerk", "onderdak"},
    OrganisationKind.RECLASSERING_SVG: {"zorg", "sociaal_netwerk"},
    OrganisationKind.RECLASSERING_LJR: {"onderdak", "sociaal_netwerk", "werk_inkomen"},
    OrganisationKind.GGZ: {"zorg"},
    OrganisationKind.GGD: {"zorg"},
    OrganisationKind.MAATSCHAPPELIJKE_OPVANG: {"onderdak"},
    OrganisationKind.WIJKTEAM: {"sociaal_netwerk", "werk_inkomen", "onderdak"},
    OrganisationKind.SCHULDHULP: {"schulden"},
    OrganisationKind.WONINGCORPORATIE: {"onderdak"},
}


class Region(Base):
    """A Zorg- en Veiligheidshuis region: its gemeenten, leefgebieden and after-care rules."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    zvh_name: Mapped[str] = mapped_column(String(200))
    leefgebieden: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_LEEFGEBIEDEN)
    )
    # Coordination continues after release until this many days have passed (docs/domain.md,
    # "Deadlines").
    aftercare_days: Mapped[int] = mapped_column(default=30)
    # Cases whose expected release falls within this window come on the agenda for uitstroom.
    uitstroom_window_days: Mapped[int] = mapped_column(default=42)
    # Last number handed out for case references of this region (FRL-2026-0001, …).
    case_counter: Mapped[int] = mapped_column(default=0)

    municipalities: Mapped[list[Municipality]] = relationship(back_populates="region", lazy="raise")

    def leefgebied_keys(self) -> list[str]:
        return [item["key"] for item in self.leefgebieden]

    def leefgebied_label(self, key: str) -> str:
        return next((item["label"] for item in self.leefgebieden if item["key"] == key), key)


class Municipality(Base):
    """A Dutch gemeente by its CBS code; abolished ones point at their successor."""

    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(40), default="")
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    abolished_on: Mapped[dt.date | None] = mapped_column(default=None)
    successor_code: Mapped[str | None] = mapped_column(String(6), default=None)

    region: Mapped[Region | None] = relationship(back_populates="municipalities", lazy="joined")


class Institution(Base):
    """A DJI institution (PI) where people are detained."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(250), default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)


class Organisation(Base):
    """A partner organisation; users belong to one. A gemeente is tied to its CBS code."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganisationKind] = mapped_column(String(32))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    email: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region | None] = relationship(lazy="joined")
    institution: Mapped[Institution | None] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return OrganisationKind(self.kind).label

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": str(self.kind)}
