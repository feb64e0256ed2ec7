"""Loading and looking up reference data: gemeenten (CBS), DJI institutions, regions."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.reference.models import Institution, Municipality, Region

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


async def load_reference_data(session: AsyncSession) -> dict[str, int]:
    """Insert the gemeenten and institutions that are missing; never overwrites local edits."""
    known = set((await session.scalars(select(Municipality.code))).all())
    added_m = 0
    for row in _rows("gemeenten.csv"):
        if row["code"] not in known:
            session.add(Municipality(code=row["code"], name=row["naam"], province=row["provincie"]))
            added_m += 1
    for row in _rows("gemeenten-opgeheven.csv"):
        if row["code"] not in known:
            session.add(
                Municipality(
                    code=row["code"],
                    name=row["naam"],
                    abolished_on=dt.date.fromisoformat(row["opgeheven_per"]),
                    successor_code=row["opgegaan_in"],
                )
            )
            added_m += 1
    existing = set((await session.scalars(select(Institution.name))).all())
    added_i = 0
    for row in _rows("inrichtingen.csv"):
        if row["naam"] not in existing:
            aliases = [a.strip() for a in row["aliassen"].split("|") if a.strip()]
            session.add(
                Institution(
                    name=row["naam"], city=row["plaats"], address=row["adres"], aliases=aliases
                )
            )
            added_i += 1
    await session.flush()
    return {"gemeenten": added_m, "inrichtingen": added_i}


async def assign_province_to_region(session: AsyncSession, region: Region, province: str) -> None:
    await session.execute(
        update(Municipality)
        .where(Municipality.province == province, Municipality.abolished_on.is_(None))
        .values(region_id=region.id)
    )


async def next_case_reference(session: AsyncSession, region_id: int, year: int) -> str:
    """FRL-2026-0042: region code, year of entry, the region's next number (atomic on both engines)."""
    result = await session.execute(
        update(Region)
        .where(Region.id == region_id)
        .values(case_counter=Region.case_counter + 1)
        .returning(Region.case_counter, Region.code)
    )
    counter, code = result.one()
    return f"{code}-{year}-{counter:04d}"


def _normalise_institution(name: str) -> str:
    text = name.lower().strip()
    text = re.sub(r"\bpenitentiaire inrichting\b", "pi", text)
    text = re.sub(r"[^a-z0-9 ]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class InstitutionIndex:
    """Looks up a PI by the name a notice gives ("PI Leeuwarden", "Penitentiaire Inrichting Vught")."""

    by_key: dict[str, Institution]

    @classmethod
    async def load(cls, session: AsyncSession) -> InstitutionIndex:
        index: dict[str, Institution] = {}
        for inst in (await session.scalars(select(Institution))).all():
            for name in [inst.name, *(inst.aliases or [])]:
                key = _normalise_institution(name)
                index[key] = inst
                if key.startswith("pi "):
                    index.setdefault(key[3:], inst)
        return cls(index)

    def find(self, name: str) -> Institution | None:
        key = _normalise_institution(name)
        return self.by_key.get(key) or self.by_key.get(key.removeprefix("pi "))
