"""The plan van aanpak: its sections, single-use tickets for the realtime channel, adopted versions."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.passwords import sha256
from app.cases.models import Case
from app.coordination.models import PlanTicket, PlanVersion
from app.db import utcnow

TICKET_SECONDS = 60


def sections_of(case: Case) -> list[str]:
    """The plan's sections: its goal first, then one per leefgebied of the case's region."""
    return ["doel", *case.region.leefgebied_keys()]


def section_labels(case: Case) -> list[tuple[str, str]]:
    return [
        ("doel", "Doel en perspectief"),
        *[(i["key"], i["label"]) for i in case.region.leefgebieden],
    ]


async def create_ticket(session: AsyncSession, user_id: int, case_id: int) -> str:
    value = secrets.token_urlsafe(24)
    session.add(
        PlanTicket(
            token_hash=sha256(value),
            user_id=user_id,
            case_id=case_id,
            expires_at=utcnow() + dt.timedelta(seconds=TICKET_SECONDS),
        )
    )
    await session.flush()
    return value


async def redeem_ticket(session: AsyncSession, value: str, case_id: int) -> int | None:
    """The ticket's user id, once: the ticket is spent atomically (works across processes)."""
    now = utcnow()
    result = await session.execute(
        update(PlanTicket)
        .where(
            PlanTicket.token_hash == sha256(value),
            PlanTicket.case_id == case_id,
            PlanTicket.used_at.is_(None),
            PlanTicket.expires_at > now,
        )
        .values(used_at=now)
        .returning(PlanTicket.user_id)
    )
    row = result.first()
    return int(row[0]) if row else None


async def record_version(
    session: AsyncSession,
    case_id: int,
    texts: dict[str, str],
    *,
    meeting_id: int | None,
    agenda_item_id: int | None,
    user_id: int | None,
) -> PlanVersion:
    version = PlanVersion(
        case_id=case_id,
        meeting_id=meeting_id,
        agenda_item_id=agenda_item_id,
        texts=texts,
        created_by_id=user_id,
    )
    session.add(version)
    await session.flush()
    return version


async def versions(session: AsyncSession, case_id: int) -> list[PlanVersion]:
    return list(
        (
            await session.scalars(
                select(PlanVersion)
                .where(PlanVersion.case_id == case_id)
                .order_by(PlanVersion.created_at.desc())
            )
        ).all()
    )
