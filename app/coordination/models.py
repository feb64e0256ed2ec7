"""Coordination: the plan van aanpak's adopted versions and tickets, actions, and the appointments of a
case (follow-ups, trajectgesprekken, the release at the gate, handovers)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, utcnow
from app.reference.models import Organisation


class PlanVersion(Base):
    """A read-only copy of the plan, "vastgesteld in overleg van …" when the chair closes an item."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    agenda_item_id: Mapped[int | None] = mapped_column(default=None)
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PlanTicket(Base):
    """A short-lived, single-use ticket to open a plan's realtime channel (docs/interfaces.md, "The
    API")."""

    __tablename__ = "plan_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class ActionStatus(enum.StrEnum):
    """Where an action item stands."""

    OPEN = "open"
    IN_PROGRESS = "bezig"
    DONE = "gereed"
    DROPPED = "vervallen"
    HANDED_OVER = "overgedragen"  # at closure: the partner who continues after release has it

    @property
    def label(self) -> str:
        return {
            ActionStatus.OPEN: "Open",
            ActionStatus.IN_PROGRESS: "Bezig",
            ActionStatus.DONE: "Gereed",
            ActionStatus.DROPPED: "Vervallen",
            ActionStatus.HANDED_OVER: "Overgedragen",
        }[self]


class ActionItem(Base):
    """What, by whom, by when — per leefgebied (docs/domain.md, "The life of a case", step 5)."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_owner_status", "owner_user_id", "status"),
        Index("ix_action_items_case_status", "case_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    leefgebied: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    due_on: Mapped[dt.date | None] = mapped_column(default=None)
    status: Mapped[ActionStatus] = mapped_column(String(16), default=ActionStatus.OPEN)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # iCalendar SEQUENCE of the due date in calendar feeds.
    sequence: Mapped[int] = mapped_column(default=0)

    owner_user: Mapped[User | None] = relationship(foreign_keys=[owner_user_id], lazy="joined")
    owner_organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return ActionStatus(self.status).label

    @property
    def owner_label(self) -> str:
        if self.owner_user is not None:
            return f"{self.owner_user.name} ({self.owner_user.organisation.name})"
        return self.owner_organisation.name if self.owner_organisation else "niemand"

    @property
    def is_open(self) -> bool:
        return self.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionUpdate(Base):
    """One change or note on an action item: its history."""

    __tablename__ = "action_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("action_items.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(1000), default="")

    user: Mapped[User | None] = relationship(lazy="joined")


class AppointmentKind(enum.StrEnum):
    """The kinds of appointment of a case (moments on screen; docs/woordenlijst.md)."""

    VERVOLG = "vervolg"
    TRAJECTGESPREK = "trajectgesprek"
    OPVANG_AAN_DE_POORT = "opvang_aan_de_poort"
    WARME_OVERDRACHT = "warme_overdracht"

    @property
    def label(self) -> str:
        return {
            AppointmentKind.VERVOLG: "Vervolg in het overleg",
            AppointmentKind.TRAJECTGESPREK: "Trajectgesprek",
            AppointmentKind.OPVANG_AAN_DE_POORT: "Opvang aan de poort",
            AppointmentKind.WARME_OVERDRACHT: "Warme overdracht",
        }[self]


class AppointmentStatus(enum.StrEnum):
    """Life of an appointment; a cancelled one stays (as STATUS:CANCELLED in calendars)."""

    PLANNED = "gepland"
    DONE = "afgerond"
    CANCELLED = "geannuleerd"

    @property
    def label(self) -> str:
        return {
            AppointmentStatus.PLANNED: "Gepland",
            AppointmentStatus.DONE: "Afgerond",
            AppointmentStatus.CANCELLED: "Geannuleerd",
        }[self]


class Appointment(Base):
    """An appointment on a case (a moment, on screen): when, where, who is responsible and who
    takes part, with what belongs to its kind (the release at the gate: gate, who meets the person,
    transport, the first appointment afterwards and the release checklist; a handover: to whom,
    and a note).

    Notes and checklist stay in the app: calendars and e-mails carry only the kind, the case
    reference, time, place and a link.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_case_kind", "case_id", "kind"),
        Index("ix_appointments_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[AppointmentKind] = mapped_column(String(24))
    status: Mapped[AppointmentStatus] = mapped_column(String(12), default=AppointmentStatus.PLANNED)
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    all_day: Mapped[bool] = mapped_column(default=False)
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    notes: Mapped[str] = mapped_column(String(2000), default="")
    # opvang aan de poort: kept on the expected (then actual) release date from the notices
    follows_release: Mapped[bool] = mapped_column(default=False)
    met_by: Mapped[str] = mapped_column(String(200), default="")
    transport: Mapped[str] = mapped_column(String(200), default="")
    first_place: Mapped[str] = mapped_column(String(300), default="")
    first_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    first_with: Mapped[str] = mapped_column(String(200), default="")
    checklist: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # warme overdracht
    handover_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    handover_note: Mapped[str] = mapped_column(String(2000), default="")
    # iCalendar SEQUENCE: raised on every change of time, place or status
    sequence: Mapped[int] = mapped_column(default=0)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    responsible_user: Mapped[User | None] = relationship(
        foreign_keys=[responsible_user_id], lazy="joined"
    )
    handover_organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    participants: Mapped[list[AppointmentParticipant]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def kind_label(self) -> str:
        return AppointmentKind(self.kind).label

    @property
    def status_label(self) -> str:
        return AppointmentStatus(self.status).label

    @property
    def participant_ids(self) -> set[int]:
        ids = {p.user_id for p in self.participants}
        if self.responsible_user_id:
            ids.add(self.responsible_user_id)
        return ids


class AppointmentParticipant(Base):
    """Someone who takes part in an appointment: it is in their calendar and they get its reminders."""

    __tablename__ = "appointment_participants"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AppointmentChange(Base):
    """One change of an appointment (which fields; dates old and new), by a person or a notice."""

    __tablename__ = "appointment_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default="gebruiker")  # gebruiker, melding
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    user: Mapped[User | None] = relationship(lazy="joined")
