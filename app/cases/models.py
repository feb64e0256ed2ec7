"""The people this platform is about, their cases and detention periods."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin
from app.reference.models import Institution, Municipality, Region


class CaseStatus(enum.StrEnum):
    """Where a case is in its life (domain.md, "The life of a case")."""

    OPEN = "open"
    NAZORG = "nazorg"
    CLOSED = "gesloten"

    @property
    def label(self) -> str:
        return {
            CaseStatus.OPEN: "In detentie",
            CaseStatus.NAZORG: "Nazorg na ontslag",
            CaseStatus.CLOSED: "Afgesloten",
        }[self]


class Person(TimestampMixin, Base):
    """A justitiabele: the subject of the data, never a user. One row per BSN."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    bsn: Mapped[str] = mapped_column(String(9), unique=True)
    first_names: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(40), default="")
    last_name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date]

    cases: Mapped[list[Case]] = relationship(back_populates="person", lazy="raise")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_names, self.prefix, self.last_name) if p)

    @property
    def sort_name(self) -> str:
        tail = f", {self.first_names}" if self.first_names else ""
        prefix = f" {self.prefix}" if self.prefix else ""
        return f"{self.last_name}{tail}{prefix}"


class Case(TimestampMixin, Base):
    """The coordination of one person's return in one region, from notice to closure."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_region_status", "region_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    status: Mapped[CaseStatus] = mapped_column(String(16), default=CaseStatus.OPEN)
    origin_municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    return_municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    opened_on: Mapped[dt.date]
    aftercare_ends_on: Mapped[dt.date | None] = mapped_column(default=None)
    closed_on: Mapped[dt.date | None] = mapped_column(default=None)
    last_discussed_on: Mapped[dt.date | None] = mapped_column(default=None)
    # The PI casemanager's contact as the notice gave it (the inspection found it usually missing).
    pi_contact_name: Mapped[str] = mapped_column(String(200), default="")
    pi_contact_email: Mapped[str] = mapped_column(String(254), default="")
    pi_contact_phone: Mapped[str] = mapped_column(String(40), default="")

    person: Mapped[Person] = relationship(back_populates="cases", lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")
    origin_municipality: Mapped[Municipality | None] = relationship(
        foreign_keys=[origin_municipality_code], lazy="joined"
    )
    return_municipality: Mapped[Municipality | None] = relationship(
        foreign_keys=[return_municipality_code], lazy="joined"
    )
    periods: Mapped[list[DetentionPeriod]] = relationship(
        back_populates="case",
        order_by="(DetentionPeriod.entered_on, DetentionPeriod.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def current_period(self) -> DetentionPeriod | None:
        return self.periods[-1] if self.periods else None

    @property
    def status_label(self) -> str:
        return CaseStatus(self.status).label

    @property
    def municipality_codes(self) -> set[str]:
        return {c for c in (self.origin_municipality_code, self.return_municipality_code) if c}


class DetentionPeriod(TimestampMixin, Base):
    """One stay in detention: where, since when, and (expected) until when."""

    __tablename__ = "detention_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    institution_name: Mapped[str] = mapped_column(String(200), default="")
    entered_on: Mapped[dt.date]
    expected_release_on: Mapped[dt.date | None] = mapped_column(default=None)
    released_on: Mapped[dt.date | None] = mapped_column(default=None)
    title: Mapped[str] = mapped_column(String(80), default="")

    case: Mapped[Case] = relationship(back_populates="periods")
    institution: Mapped[Institution | None] = relationship(lazy="joined")

    @property
    def institution_label(self) -> str:
        return self.institution.name if self.institution else self.institution_name
