"""Coordination: pairing of casemanagers, the plan van aanpak (updates, snapshots, versions), actions."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, utcnow
from app.reference.models import Organisation


class Pairing(Base):
    """Who carries a case: internal and external casemanager, and in DTB series the coordinator.

    A new pairing ends the previous one (ended_at), so the history stays readable; being named in
    the current pairing grants access to the case (app/access.py).
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


class PlanUpdate(Base):
    """One Yjs update of a case's plan van aanpak, appended before it is broadcast (app/collab.py)."""

    __tablename__ = "plan_updates"
    __table_args__ = (
        Index("ix_plan_updates_case_id_id", "case_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlanSnapshot(Base):
    """The plan squashed into one update up to `upto_id`, plus its text per section for reading."""

    __tablename__ = "plan_snapshots"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    upto_id: Mapped[int] = mapped_column(default=0)
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


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
    """A short-lived, single-use ticket to open a plan's realtime channel (contract section 3)."""

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

    @property
    def label(self) -> str:
        return {
            ActionStatus.OPEN: "Open",
            ActionStatus.IN_PROGRESS: "Bezig",
            ActionStatus.DONE: "Gereed",
            ActionStatus.DROPPED: "Vervallen",
        }[self]


class ActionItem(Base):
    """What, by whom, by when — per leefgebied (000:L1899-1901)."""

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
