"""The plan's update log and snapshots: the tables only the plan channel writes and reads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PlanUpdate(Base):
    """One Yjs update of a case's plan van aanpak, appended before it is broadcast (app/collab/store.py)."""

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
