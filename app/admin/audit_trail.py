"""The audit trail as a beheerder reads it: filters (a person by BSN or case reference, a user, a
period, an action), scoped to the beheerder's region, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.admin.services import users_in_scope
from app.audit import AuditEvent
from app.cases.bsn import normalise_bsn
from app.cases.models import Case, Person
from app.principal import Principal
from app.web import AMSTERDAM, fmt_datetime

AUDIT_PAGE_SIZE = 100

ACTION_LABELS: dict[str, str] = {
    "case.viewed": "Casus bekeken",
    "cases.searched": "Gezocht in casussen",
    "case.created": "Casus aangemaakt",
    "case.updated": "Casus gewijzigd",
    "user.created": "Gebruiker aangemaakt",
    "user.updated": "Gebruiker gewijzigd",
    "user.deactivated": "Gebruiker geblokkeerd",
    "api_key.created": "API-sleutel aangemaakt",
    "api_key.revoked": "API-sleutel ingetrokken",
    "audit.searched": "Audittrail doorzocht",
    "audit.exported": "Audittrail geëxporteerd",
}


@dataclass(frozen=True)
class AuditFilters:
    """Filters of the audit page: a person (BSN or case reference), a user, a period, an action."""

    person: str = ""
    user_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str = ""
    page: int = 1


async def audit_query(session: AsyncSession, p: Principal, f: AuditFilters) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    regions = p.admin_region_ids
    if regions is not None:
        scoped_users = select(User.id).where(users_in_scope(p))
        stmt = stmt.where(
            or_(AuditEvent.region_id.in_(sorted(regions)), AuditEvent.user_id.in_(scoped_users))
        )
    if f.person.strip():
        term = f.person.strip()
        digits = normalise_bsn(term)
        if digits.isdigit() and len(digits) == 9:
            person_ids = select(Person.id).where(Person.bsn == digits)
            stmt = stmt.where(AuditEvent.person_id.in_(person_ids))
        else:
            case_person = select(Case.person_id).where(Case.reference == term.upper())
            stmt = stmt.where(
                or_(
                    AuditEvent.case_reference == term.upper(), AuditEvent.person_id.in_(case_person)
                )
            )
    if f.user_id:
        stmt = stmt.where(AuditEvent.user_id == f.user_id)
    if f.date_from:
        start = dt.datetime.combine(f.date_from, dt.time.min, tzinfo=AMSTERDAM)
        stmt = stmt.where(AuditEvent.at >= start)
    if f.date_to:
        end = dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=AMSTERDAM)
        stmt = stmt.where(AuditEvent.at < end)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


CSV_HEADER = [
    "tijdstip",
    "gebruiker_id",
    "door",
    "handeling",
    "casus",
    "object",
    "velden",
    "kanaal",
    "ip-adres",
    "verzoek-id",
]


def audit_csv(events: list[AuditEvent]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(CSV_HEADER)
    for e in events:
        writer.writerow(
            [
                fmt_datetime(e.at, "yyyy-MM-dd HH:mm:ss"),
                e.user_id or "",
                _csv_safe(e.actor),
                e.action,
                e.case_reference,
                f"{e.object_type}:{e.object_id}" if e.object_type else "",
                ",".join(e.fields or []),
                e.channel,
                e.ip,
                e.request_id,
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in free text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def recorded_actions(session: AsyncSession) -> list[str]:
    """Every action name the trail holds, for the filter."""
    return sorted((await session.scalars(select(AuditEvent.action).distinct())).all())
