"""Meeting series and who takes part in them (membership is what grants access to a region's cases)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.cases.models import Case
from app.db import Base, TimestampMixin, utcnow
from app.reference.models import Organisation, Region


class SeriesKind(enum.StrEnum):
    """The meeting forms seen in the field (docs/domain.md, "Meeting forms")."""

    INSTROOMOVERLEG = "instroomoverleg"
    DTB = "dtb"
    INSTROOMBERAAD = "instroomberaad"

    @property
    def label(self) -> str:
        return {
            SeriesKind.INSTROOMOVERLEG: "Instroomoverleg",
            SeriesKind.DTB: "Detentie- en Terugkeerberaad (DTB)",
            SeriesKind.INSTROOMBERAAD: "Instroomberaad",
        }[self]


class MeetingSeries(TimestampMixin, Base):
    """A recurring case conference of one region, e.g. "Instroomoverleg Fryslân"."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SeriesKind] = mapped_column(String(32), default=SeriesKind.INSTROOMOVERLEG)
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Cadence: every `cadence_weeks` weeks on `weekday` (0 = Monday) at `start_time`, Europe/Amsterdam.
    cadence_weeks: Mapped[int] = mapped_column(default=1)
    weekday: Mapped[int] = mapped_column(default=1)
    start_time: Mapped[dt.time] = mapped_column(default=dt.time(10, 0))
    duration_minutes: Mapped[int] = mapped_column(default=90)
    # For cadences of more than one week: a date on which a meeting falls.
    anchor_on: Mapped[dt.date | None] = mapped_column(default=None)
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    # Planned minutes per agenda item, how far ahead meetings exist, when the agenda builds itself.
    item_minutes: Mapped[int] = mapped_column(default=4)
    horizon_weeks: Mapped[int] = mapped_column(default=8)
    agenda_lead_hours: Mapped[int] = mapped_column(default=20)

    region: Mapped[Region] = relationship(lazy="joined")
    chair: Mapped[User | None] = relationship(lazy="joined")
    members: Mapped[list[SeriesMember]] = relationship(
        back_populates="series", cascade="all, delete-orphan"
    )
    organisations: Mapped[list[SeriesOrganisation]] = relationship(
        back_populates="series", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return SeriesKind(self.kind).label


class SeriesMember(Base):
    """A user who takes part in a series; this grants need-to-know access to the region's cases."""

    __tablename__ = "series_members"
    __table_args__ = (UniqueConstraint("series_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    series: Mapped[MeetingSeries] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class SeriesOrganisation(Base):
    """A partner organisation that takes part in a series (it contributes to the basisdossier)."""

    __tablename__ = "series_organisations"
    __table_args__ = (UniqueConstraint("series_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)

    series: Mapped[MeetingSeries] = relationship(back_populates="organisations")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class MeetingStatus(enum.StrEnum):
    """Life of one meeting."""

    PLANNED = "gepland"
    PUBLISHED = "gepubliceerd"
    IN_PROGRESS = "bezig"
    FINISHED = "afgerond"
    CANCELLED = "geannuleerd"

    @property
    def label(self) -> str:
        return {
            MeetingStatus.PLANNED: "Gepland",
            MeetingStatus.PUBLISHED: "Agenda gepubliceerd",
            MeetingStatus.IN_PROGRESS: "Bezig",
            MeetingStatus.FINISHED: "Afgerond",
            MeetingStatus.CANCELLED: "Geannuleerd",
        }[self]


class Meeting(TimestampMixin, Base):
    """One occurrence of a series: an instroomoverleg on a given date."""

    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("series_id", "starts_at"),
        Index("ix_meetings_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    status: Mapped[MeetingStatus] = mapped_column(String(16), default=MeetingStatus.PLANNED)
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    agenda_built_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    agenda_published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Once the chair reorders by hand, regenerating keeps their order and appends new items.
    agenda_reordered: Mapped[bool] = mapped_column(default=False)
    # iCalendar SEQUENCE: raised on every change that matters to invitees.
    sequence: Mapped[int] = mapped_column(default=0)
    # The cadence slot a re-planned meeting still fills (so the slot is not planned twice).
    slot_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    current_item_id: Mapped[int | None] = mapped_column(default=None)
    # Counts every change of the room's state (current item, statuses), so screens know they are behind.
    room_version: Mapped[int] = mapped_column(default=0)
    minutes_note: Mapped[str] = mapped_column(Text, default="")
    minutes_closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    minutes_closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    series: Mapped[MeetingSeries] = relationship(lazy="joined")
    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        order_by="AgendaItem.position",
        cascade="all, delete-orphan",
        lazy="raise",
    )

    @property
    def status_label(self) -> str:
        return MeetingStatus(self.status).label


class AgendaReason(enum.StrEnum):
    """Why a case is on the agenda, in the order the agenda lists them."""

    INSTROOM = "instroom"
    DOORSTROOM = "doorstroom"
    UITSTROOM = "uitstroom"
    VERVOLG = "vervolg"
    OVERIG = "overig"

    @property
    def label(self) -> str:
        return {
            AgendaReason.INSTROOM: "Instroom",
            AgendaReason.DOORSTROOM: "Doorstroom",
            AgendaReason.UITSTROOM: "Uitstroom",
            AgendaReason.VERVOLG: "Vervolg",
            AgendaReason.OVERIG: "Overig",
        }[self]

    @property
    def order(self) -> int:
        return list(AgendaReason).index(self)


class ItemStatus(enum.StrEnum):
    """Whether an agenda item was discussed."""

    OPEN = "open"
    DISCUSSED = "besproken"
    DEFERRED = "uitgesteld"

    @property
    def label(self) -> str:
        return {
            ItemStatus.OPEN: "Nog te bespreken",
            ItemStatus.DISCUSSED: "Besproken",
            ItemStatus.DEFERRED: "Uitgesteld",
        }[self]


class AgendaItem(TimestampMixin, Base):
    """A case on a meeting's agenda, with why, where in the order, and what became of it."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "case_id"),
        Index("ix_agenda_items_case_reason_status", "case_id", "reason", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    reason: Mapped[AgendaReason] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    # auto: put there by the agenda builder; manual: by the chair; deferred: carried from last time.
    origin: Mapped[str] = mapped_column(String(12), default="auto")
    # The chair removed it: kept (hidden) so regenerating does not bring it back.
    removed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ItemStatus] = mapped_column(String(16), default=ItemStatus.OPEN)
    planned_minutes: Mapped[int] = mapped_column(default=4)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    seconds_spent: Mapped[int] = mapped_column(default=0)
    decision: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[dt.date | None] = mapped_column(default=None)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    case: Mapped[Case] = relationship(lazy="joined")

    @property
    def reason_label(self) -> str:
        return AgendaReason(self.reason).label

    @property
    def status_label(self) -> str:
        return ItemStatus(self.status).label


class AttendanceMode(enum.StrEnum):
    """How someone took part in a meeting (recorded by the chair, for the minutes)."""

    IN_ROOM = "zaal"
    ONLINE = "online"
    ABSENT = "afwezig"

    @property
    def label(self) -> str:
        return {
            AttendanceMode.IN_ROOM: "In de zaal",
            AttendanceMode.ONLINE: "Online",
            AttendanceMode.ABSENT: "Afwezig",
        }[self]


class Attendance(Base):
    """Whether a participant was in the room, online or absent."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mode: Mapped[AttendanceMode] = mapped_column(String(12))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class Invitation(Base):
    """The last calendar invitation (iTIP) sent to one user for one meeting or appointment: which
    SEQUENCE and method, so a change sends an update once and a removal sends a cancellation."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))  # meeting, appointment
    subject_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    method: Mapped[str] = mapped_column(String(8))  # REQUEST, CANCEL
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
