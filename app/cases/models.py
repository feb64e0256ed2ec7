"""The people this platform is about, their cases and detention periods, notices, leefgebieden and
who carries a case (`Pairing`)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, TimestampMixin, utcnow
from app.reference.models import Institution, Municipality, Region


class CaseStatus(enum.StrEnum):
    """Where a case is in its life (docs/domain.md, "The life of a case")."""

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
    # AUTOINCREMENT on SQLite: ids are never reused after retention deletes rows (the audit trail
    # keeps ids), and bulk inserts can reserve ids (app/db.allocate_ids).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

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
    __table_args__ = (
        Index("ix_cases_region_status", "region_id", "status"),
        {"sqlite_autoincrement": True},
    )

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
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    closure_note: Mapped[str] = mapped_column(String(2000), default="")
    last_discussed_on: Mapped[dt.date | None] = mapped_column(default=None)
    # The PI casemanager's contact as the notice gave it (the inspection found it usually missing).
    pi_contact_name: Mapped[str] = mapped_column(String(200), default="")
    pi_contact_email: Mapped[str] = mapped_column(String(254), default="")
    pi_contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # The next date the case must come back on the agenda (set by a meeting or a vervolg moment).
    follow_up_on: Mapped[dt.date | None] = mapped_column(default=None)
    # Set when a notice could not be applied cleanly; cleared by a coordinator.
    needs_attention: Mapped[bool] = mapped_column(default=False)

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
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

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


class NoticeKind(enum.StrEnum):
    """The kinds of detention notice (docs/interfaces.md, "Detention notices")."""

    INSTROOM = "instroom"
    OVERPLAATSING = "overplaatsing"
    WIJZIGING = "wijziging"
    UITSTROOM = "uitstroom"

    @property
    def label(self) -> str:
        return {
            NoticeKind.INSTROOM: "Instroom",
            NoticeKind.OVERPLAATSING: "Overplaatsing",
            NoticeKind.WIJZIGING: "Wijziging einddatum",
            NoticeKind.UITSTROOM: "Uitstroom (ontslag)",
        }[self]


class NoticeStatus(enum.StrEnum):
    """What became of one notice. `parked` is accepted but waiting (outside every region, out of order)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    PARKED = "parked"
    # A parked notice that a beheerder processed again; the new outcome is a notice of its own.
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return {
            NoticeStatus.ACCEPTED: "Verwerkt",
            NoticeStatus.DUPLICATE: "Dubbel",
            NoticeStatus.REJECTED: "Afgewezen",
            NoticeStatus.PARKED: "Geparkeerd",
            NoticeStatus.SUPERSEDED: "Opnieuw verwerkt",
        }[self]


class NoticeBatch(Base):
    """One delivery of notices (an upload or an API call), kept byte for byte as it arrived."""

    __tablename__ = "notice_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(default=None)
    channel: Mapped[str] = mapped_column(String(16))  # api-json, api-csv, upload
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(20), default="")
    delimiter: Mapped[str] = mapped_column(String(1), default="")
    status: Mapped[str] = mapped_column(
        String(16), default="received"
    )  # received, processed, failed
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    parked: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(300), default="")


class Notice(Base):
    """One detention notice (melding): the row as received, what was made of it, and why."""

    __tablename__ = "notices"
    __table_args__ = (
        # One applied notice per sender and melding_id; rejected attempts may be re-sent.
        Index(
            "uq_notices_applied_key",
            "source_key",
            "melding_id",
            unique=True,
            sqlite_where=text("status IN ('accepted', 'parked')"),
            postgresql_where=text("status IN ('accepted', 'parked')"),
        ),
        Index("ix_notices_source_melding", "source_key", "melding_id"),
        Index("ix_notices_bsn_status", "bsn", "status"),
        Index("ix_notices_status_received", "status", "received_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("notice_batches.id"), index=True)
    row_number: Mapped[int]
    source_key: Mapped[str] = mapped_column(String(64))
    melding_id: Mapped[str] = mapped_column(String(100), default="")
    soort: Mapped[str] = mapped_column(String(40), default="")
    bsn: Mapped[str] = mapped_column(String(20), default="")
    raw: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[NoticeStatus] = mapped_column(String(16))
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    attention: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # The region the notice concerns, when known: scopes the beheerder's inbox.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def kind_label(self) -> str:
        try:
            return NoticeKind(self.soort).label
        except ValueError:
            return self.soort or "onbekend"

    @property
    def status_label(self) -> str:
        return NoticeStatus(self.status).label


class LeefgebiedStatus(Base):
    """The state of one leefgebied of a case, during detention and at closure (docs/domain.md,
    "Leefgebieden")."""

    __tablename__ = "leefgebied_statuses"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(24), default="onbekend")
    note: Mapped[str] = mapped_column(String(500), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BasisdossierEntry(Base):
    """What one partner organisation already knows about the person, per leefgebied, before the meeting."""

    __tablename__ = "basisdossier_entries"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(40))
    known: Mapped[str] = mapped_column(String(12), default="onbekend")  # ja, nee, onbekend
    note: Mapped[str] = mapped_column(String(1000), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Pairing(Base):
    """Who carries a case: internal and external casemanager, and in DTB series the coordinator.

    A new pairing ends the previous one (ended_at), so the history stays readable; being named in
    the current pairing grants access to the case (app/access.py), which is why the table lives
    with the cases. `meeting_id` names the meeting it was confirmed in, without a foreign key: the
    meetings domain sits above this one.
    """

    __tablename__ = "pairings"
    __table_args__ = (Index("ix_pairings_case_current", "case_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    internal_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    internal_contact: Mapped[str] = mapped_column(String(300), default="")
    external_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    coordinator_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    meeting_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    internal_user: Mapped[User | None] = relationship(
        foreign_keys=[internal_user_id], lazy="joined"
    )
    external_user: Mapped[User | None] = relationship(
        foreign_keys=[external_user_id], lazy="joined"
    )
    coordinator_user: Mapped[User | None] = relationship(
        foreign_keys=[coordinator_user_id], lazy="joined"
    )

    @property
    def user_ids(self) -> set[int]:
        """The users named in this pairing."""
        return {
            u for u in (self.internal_user_id, self.external_user_id, self.coordinator_user_id) if u
        }
