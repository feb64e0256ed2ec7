"""Case rules: finding and listing the cases a caller may see."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.access import visible_cases
from app.accounts.models import Role
from app.cases.bsn import normalise_bsn
from app.cases.models import Case, CaseStatus, DetentionPeriod, Pairing, Person
from app.principal import Principal

PAGE_SIZE = 50


def may_search_bsn(p: Principal) -> bool:
    """Searching by BSN is for those who work with it: coordinators and casemanagers."""
    return p.has(Role.COORDINATOR, Role.CASEMANAGER_PI, Role.CASEMANAGER_EXTERN)


def may_see_bsn(p: Principal) -> bool:
    return may_search_bsn(p)


@dataclass(frozen=True)
class CaseFilters:
    """Filters of the case list, as the user gave them."""

    status: str = ""
    q: str = ""
    institution_id: int | None = None
    municipality_code: str = ""
    page: int = 1


REFERENCE_PATTERN = re.compile(r"^[A-Za-z]{2,5}-\d{4}-\d+$")


def _search_condition(q: str, allow_bsn: bool) -> ColumnElement[bool]:
    q = q.strip()
    if allow_bsn and q.replace(" ", "").isdigit():
        return Person.bsn == normalise_bsn(q)
    if REFERENCE_PATTERN.match(q):
        return Case.reference == q.upper()
    like = f"%{q.lower()}%"
    full = func.lower(Person.first_names + " " + Person.prefix + " " + Person.last_name)
    return or_(func.lower(Person.last_name).like(like), full.like(like))


def case_list_query(p: Principal, f: CaseFilters) -> Select[Case]:
    stmt = (
        select(Case)
        .join(Person, Person.id == Case.person_id)
        .where(visible_cases(p))
        .options(selectinload(Case.periods))
    )
    if f.status in {s.value for s in CaseStatus}:
        stmt = stmt.where(Case.status == f.status)
    if f.q.strip():
        stmt = stmt.where(_search_condition(f.q, may_search_bsn(p)))
    if f.municipality_code:
        stmt = stmt.where(
            or_(
                Case.origin_municipality_code == f.municipality_code,
                Case.return_municipality_code == f.municipality_code,
            )
        )
    if f.institution_id:
        current = select(DetentionPeriod.case_id).where(
            DetentionPeriod.institution_id == f.institution_id,
            DetentionPeriod.released_on.is_(None),
        )
        stmt = stmt.where(Case.id.in_(current))
    return stmt.order_by(Case.opened_on.desc(), Case.id.desc())


async def list_cases(session: AsyncSession, p: Principal, f: CaseFilters) -> tuple[list[Case], int]:
    stmt = case_list_query(p, f)
    total = (
        await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    page = max(1, f.page)
    rows = (
        (await session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))).unique().all()
    )
    return list(rows), int(total)


async def current_pairing(session: AsyncSession, case_id: int) -> Pairing | None:
    return (
        await session.scalars(
            select(Pairing)
            .where(Pairing.case_id == case_id, Pairing.ended_at.is_(None))
            .order_by(Pairing.id.desc())
        )
    ).first()


async def load_case_detail(session: AsyncSession, case: Case) -> Case:
    await session.refresh(case, ["periods"])
    return case


def days_in_detention(case: Case, today: dt.date) -> int | None:
    period = case.current_period
    if period is None:
        return None
    end = period.released_on or today
    return (end - period.entered_on).days
