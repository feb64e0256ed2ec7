"""Mijn werk, the queries: what is on a user's plate — their open actions (overdue first, with
filters), their cases, their coming appointments and meetings; for a coordinator also the region's
overdue actions per organisation and the cases whose coordination window has ended."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import visible_cases
from app.accounts.models import User
from app.cases.models import Case, CaseStatus, Pairing
from app.coordination.models import (
    ActionItem,
    ActionStatus,
    Appointment,
    AppointmentParticipant,
    AppointmentStatus,
)
from app.meetings.models import Meeting, MeetingStatus
from app.principal import Principal
from app.reference.models import Organisation

OPEN = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
TERMS = [
    ("", "Alle datums"),
    ("verlopen", "Verlopen"),
    ("week", "Deze week"),
    ("later", "Later"),
    ("geen", "Zonder datum"),
]
STATUSES = [("open", "Open en bezig"), ("gereed", "Gereed"), ("alle", "Alle")]


@dataclass(frozen=True)
class Filters:
    """What the user narrowed Mijn werk to (all optional)."""

    case_id: int | None
    leefgebied: str
    term: str
    status: str


def mine(p: Principal) -> Any:
    """Actions of this user, and of their organisation when no person owns them."""
    return or_(
        ActionItem.owner_user_id == p.user_id,
        and_(
            ActionItem.owner_user_id.is_(None),
            ActionItem.owner_organisation_id == p.organisation_id,
        ),
    )


async def my_actions(
    session: AsyncSession, p: Principal, filters: Filters, today: dt.date
) -> list[tuple[ActionItem, Case]]:
    query = (
        select(ActionItem, Case)
        .join(Case, Case.id == ActionItem.case_id)
        .where(visible_cases(p), mine(p))
    )
    if filters.status == "open":
        query = query.where(ActionItem.status.in_(OPEN))
    elif filters.status == "gereed":
        query = query.where(ActionItem.status == ActionStatus.DONE)
    if filters.case_id:
        query = query.where(ActionItem.case_id == filters.case_id)
    if filters.leefgebied:
        query = query.where(ActionItem.leefgebied == filters.leefgebied)
    week_end = today + dt.timedelta(days=6 - today.weekday())
    if filters.term == "verlopen":
        query = query.where(ActionItem.due_on < today, ActionItem.status.in_(OPEN))
    elif filters.term == "week":
        query = query.where(ActionItem.due_on >= today, ActionItem.due_on <= week_end)
    elif filters.term == "later":
        query = query.where(ActionItem.due_on > week_end)
    elif filters.term == "geen":
        query = query.where(ActionItem.due_on.is_(None))
    overdue_first = case((and_(ActionItem.due_on < today, ActionItem.status.in_(OPEN)), 0), else_=1)
    query = query.order_by(
        overdue_first, ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id
    ).limit(500)
    return [(a, c) for a, c in (await session.execute(query)).unique().all()]


async def my_cases(session: AsyncSession, p: Principal) -> list[tuple[Case, Pairing, int]]:
    """Cases this user is paired on, with their number of open actions."""
    open_actions = (
        select(func.count())
        .select_from(ActionItem)
        .where(ActionItem.case_id == Case.id, ActionItem.status.in_(OPEN))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Case, Pairing, open_actions)
        .join(Pairing, Pairing.case_id == Case.id)
        .where(
            Pairing.ended_at.is_(None),
            or_(
                Pairing.internal_user_id == p.user_id,
                Pairing.external_user_id == p.user_id,
                Pairing.coordinator_user_id == p.user_id,
            ),
            Case.status != CaseStatus.CLOSED,
            visible_cases(p),
        )
        .order_by(Case.reference)
        .limit(200)
    )
    return [(c, pr, int(n or 0)) for c, pr, n in rows.unique().all()]


async def my_appointments(
    session: AsyncSession, p: Principal, now: dt.datetime, days: int = 42
) -> list[tuple[Appointment, Case]]:
    rows = await session.execute(
        select(Appointment, Case)
        .join(Case, Case.id == Appointment.case_id)
        .where(
            visible_cases(p),
            Appointment.status == AppointmentStatus.PLANNED,
            Appointment.ends_at >= now,
            Appointment.starts_at < now + dt.timedelta(days=days),
            or_(
                Appointment.responsible_user_id == p.user_id,
                Appointment.id.in_(
                    select(AppointmentParticipant.appointment_id).where(
                        AppointmentParticipant.user_id == p.user_id
                    )
                ),
            ),
        )
        .order_by(Appointment.starts_at)
        .limit(100)
    )
    return [(a, c) for a, c in rows.unique().all()]


async def my_meetings(
    session: AsyncSession, p: Principal, now: dt.datetime, days: int = 28
) -> list[Meeting]:
    series = p.member_series_ids | p.chaired_series_ids
    if not series:
        return []
    return list(
        (
            await session.scalars(
                select(Meeting)
                .where(
                    Meeting.series_id.in_(series),
                    Meeting.ends_at >= now,
                    Meeting.starts_at < now + dt.timedelta(days=days),
                    Meeting.status != MeetingStatus.CANCELLED,
                )
                .order_by(Meeting.starts_at)
            )
        )
        .unique()
        .all()
    )


@dataclass
class OrganisationOverdue:
    """The coordinator's view of one organisation's overdue actions."""

    name: str
    actions: list[tuple[ActionItem, Case]]


async def overdue_by_organisation(
    session: AsyncSession, p: Principal, today: dt.date
) -> list[OrganisationOverdue]:
    regions = p.coordinator_region_ids
    if not regions:
        return []
    owner_org = func.coalesce(User.organisation_id, ActionItem.owner_organisation_id)
    rows = await session.execute(
        select(ActionItem, Case, Organisation.name)
        .join(Case, Case.id == ActionItem.case_id)
        .outerjoin(User, User.id == ActionItem.owner_user_id)
        .outerjoin(Organisation, Organisation.id == owner_org)
        .where(
            Case.region_id.in_(regions),
            visible_cases(p),
            Case.status != CaseStatus.CLOSED,
            ActionItem.status.in_(OPEN),
            ActionItem.due_on < today,
        )
        .order_by(Organisation.name, ActionItem.due_on)
        .limit(1000)
    )
    groups: dict[str, OrganisationOverdue] = {}
    for action, c, name in rows.unique().all():
        label = name or "Zonder eigenaar"
        groups.setdefault(label, OrganisationOverdue(label, [])).actions.append((action, c))
    return sorted(groups.values(), key=lambda g: (-len(g.actions), g.name))


async def closures_due(session: AsyncSession, p: Principal, today: dt.date) -> list[Case]:
    regions = p.coordinator_region_ids
    if not regions:
        return []
    return list(
        (
            await session.scalars(
                select(Case)
                .where(
                    Case.region_id.in_(regions),
                    visible_cases(p),
                    Case.status == CaseStatus.NAZORG,
                    Case.aftercare_ends_on <= today,
                )
                .order_by(Case.aftercare_ends_on)
                .limit(200)
            )
        )
        .unique()
        .all()
    )


def filters_of(zaak: str, leefgebied: str, termijn: str, status: str) -> Filters:
    """The filters as the user gave them in the query string; anything unknown is dropped."""
    return Filters(
        case_id=int(zaak) if zaak.isdigit() else None,
        leefgebied=leefgebied[:40],
        term=termijn if termijn in {k for k, _ in TERMS} else "",
        status=status if status in {k for k, _ in STATUSES} else "open",
    )
