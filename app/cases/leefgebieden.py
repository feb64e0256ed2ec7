"""Leefgebied statuses and the basisdossier: what is known per life domain, and by whom."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.cases.models import BasisdossierEntry, Case, LeefgebiedStatus
from app.db import upsert, utcnow
from app.principal import Principal
from app.reference.models import Organisation, Region

# During detention and at closure (docs/domain.md, "Leefgebieden").
STATUSES: list[tuple[str, str]] = [
    ("onbekend", "Onbekend"),
    ("geen_probleem", "Geen probleem"),
    ("probleem", "Probleem"),
    ("actie_nodig", "Actie nodig"),
]
CLOSURE_STATUSES: list[tuple[str, str]] = [
    ("geregeld", "Geregeld"),
    ("advies_overgedragen", "Advies overgedragen"),
    ("niet_geregeld", "Niet geregeld"),
]
STATUS_LABELS = dict(STATUSES + CLOSURE_STATUSES)
KNOWN = [("onbekend", "Nog niet nagegaan"), ("ja", "Bekend"), ("nee", "Niet bekend")]
# Care content is need-to-know (docs/domain.md, "Privacy rules"): its notes only for case regie
# and the writer.
NEED_TO_KNOW = {"zorg"}


@dataclass(frozen=True)
class Leefgebied:
    """One row of the leefgebieden table on a case."""

    key: str
    label: str
    status: str
    note: str
    updated_at: object | None


async def statuses(session: AsyncSession, case: Case, region: Region) -> list[Leefgebied]:
    rows = {
        r.key: r
        for r in (
            await session.scalars(
                select(LeefgebiedStatus).where(LeefgebiedStatus.case_id == case.id)
            )
        ).all()
    }
    out = []
    for item in region.leefgebieden:
        row = rows.get(item["key"])
        out.append(
            Leefgebied(
                item["key"],
                item["label"],
                row.status if row else "onbekend",
                row.note if row else "",
                row.updated_at if row else None,
            )
        )
    return out


async def set_status(
    session: AsyncSession, case: Case, key: str, status: str, note: str, user_id: int | None
) -> LeefgebiedStatus:
    row = (
        await session.scalars(
            select(LeefgebiedStatus).where(
                LeefgebiedStatus.case_id == case.id, LeefgebiedStatus.key == key
            )
        )
    ).one_or_none()
    values = {
        "status": status,
        "note": note[:500],
        "updated_by_id": user_id,
        "updated_at": utcnow(),
    }
    if row is None:
        # Another request may be creating this very row: insert-or-update, never a unique error.
        row_id = await upsert(
            session,
            LeefgebiedStatus,
            ["case_id", "key"],
            {"case_id": case.id, "key": key, **values},
        )
        return await session.get_one(LeefgebiedStatus, row_id, populate_existing=True)
    for name, value in values.items():
        setattr(row, name, value)
    await session.flush()
    return row


def may_read_need_to_know(p: Principal, case: Case, assigned_user_ids: set[int]) -> bool:
    return (
        case.region_id in p.coordinator_region_ids
        or (p.user_id in assigned_user_ids)
        or p.has(Role.CASEMANAGER_PI)
    )


@dataclass(frozen=True)
class DossierCell:
    """What one organisation recorded for one leefgebied."""

    known: str
    note: str
    note_hidden: bool


async def basisdossier(
    session: AsyncSession, case: Case, principal: Principal, assigned_user_ids: set[int]
) -> tuple[list[Organisation], dict[tuple[int, str], DossierCell]]:
    entries = (
        await session.scalars(select(BasisdossierEntry).where(BasisdossierEntry.case_id == case.id))
    ).all()
    org_ids = sorted({e.organisation_id for e in entries})
    orgs = (
        list(
            (
                await session.scalars(
                    select(Organisation)
                    .where(Organisation.id.in_(org_ids))
                    .order_by(Organisation.name)
                )
            )
            .unique()
            .all()
        )
        if org_ids
        else []
    )
    privileged = may_read_need_to_know(principal, case, assigned_user_ids)
    cells: dict[tuple[int, str], DossierCell] = {}
    for e in entries:
        hidden = (
            e.key in NEED_TO_KNOW
            and bool(e.note)
            and not (privileged or e.organisation_id == principal.organisation_id)
        )
        cells[(e.organisation_id, e.key)] = DossierCell(e.known, "" if hidden else e.note, hidden)
    return orgs, cells


async def save_basisdossier(
    session: AsyncSession,
    case: Case,
    organisation_id: int,
    values: dict[str, tuple[str, str]],
    user_id: int | None,
) -> list[str]:
    """Store the organisation's entries; returns the keys that changed."""
    existing = {
        e.key: e
        for e in (
            await session.scalars(
                select(BasisdossierEntry).where(
                    BasisdossierEntry.case_id == case.id,
                    BasisdossierEntry.organisation_id == organisation_id,
                )
            )
        ).all()
    }
    changed = []
    for key, (known, note) in values.items():
        entry = existing.get(key)
        if entry is None:
            if known == "onbekend" and not note:
                continue
            # As in set_status: a colleague may be creating the same entry at this moment.
            await upsert(
                session,
                BasisdossierEntry,
                ["case_id", "organisation_id", "key"],
                {
                    "case_id": case.id,
                    "organisation_id": organisation_id,
                    "key": key,
                    "known": known,
                    "note": note[:1000],
                    "updated_by_id": user_id,
                    "updated_at": utcnow(),
                },
            )
            changed.append(key)
        elif entry.known != known or entry.note != note:
            entry.known = known
            entry.note = note[:1000]
            entry.updated_by_id = user_id
            entry.updated_at = utcnow()
            changed.append(key)
    await session.flush()
    return changed
