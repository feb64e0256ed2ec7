"""Pairing of the internal (PI) and external casemanager of a case, with its history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, utcnow


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
