"""AuditEvent and record(): who saw or changed which case, when and from where; append-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import JSON, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditEvent(Base):
    """One look at or change of personal data. Holds field names, never values.

    Case and person are kept as plain ids plus the case reference (no foreign keys), so the
    trail outlives the data it describes when retention deletes a case. Database triggers
    (see the migration) refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_case_at", "case_id", "at"),
        Index("ix_audit_events_user_at", "user_id", "at"),
        Index("ix_audit_events_person_at", "person_id", "at"),
        Index("ix_audit_events_at", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(default=None)
    token_id: Mapped[int | None] = mapped_column(default=None)
    actor: Mapped[str] = mapped_column(String(250), default="")
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(default=None)
    case_reference: Mapped[str] = mapped_column(String(32), default="")
    person_id: Mapped[int | None] = mapped_column(default=None)
    region_id: Mapped[int | None] = mapped_column(default=None)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None] = mapped_column(default=None)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel: Mapped[str] = mapped_column(String(16), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(40), default="")


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and from where; built once per request (app/auth.py)."""

    user_id: int | None
    token_id: int | None
    actor: str
    ip: str
    request_id: str
    channel: str  # "web", "api", "collab", "job"


SYSTEM = AuditContext(
    user_id=None, token_id=None, actor="systeem", ip="", request_id="", channel="job"
)


def record(
    session: AsyncSession,
    ctx: AuditContext,
    action: str,
    *,
    case: object | None = None,
    case_id: int | None = None,
    case_reference: str = "",
    person_id: int | None = None,
    region_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    fields: Iterable[str] = (),
) -> AuditEvent:
    """Add an audit event to the caller's transaction, so it commits or rolls back with the change."""
    if case is not None:
        case_id = getattr(case, "id", case_id)
        case_reference = getattr(case, "reference", case_reference)
        person_id = getattr(case, "person_id", person_id)
        region_id = getattr(case, "region_id", region_id)
    event = AuditEvent(
        user_id=ctx.user_id,
        token_id=ctx.token_id,
        actor=ctx.actor,
        action=action,
        case_id=case_id,
        case_reference=case_reference,
        person_id=person_id,
        region_id=region_id,
        object_type=object_type,
        object_id=object_id,
        fields=sorted(set(fields)),
        channel=ctx.channel,
        ip=ctx.ip,
        request_id=ctx.request_id,
    )
    session.add(event)
    return event
