"""Meeting series as a beheerder sets them up: the form (cadence, place, online link, chair,
partners) and saving it, after which the coming meetings follow the new cadence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import may_administer_region
from app.accounts.models import Role, User, UserRole
from app.admin.forms import values
from app.meetings.models import MeetingSeries, SeriesKind, SeriesOrganisation
from app.meetings.services import ensure_meetings
from app.principal import Principal
from app.reference.models import Organisation, Region

FIELDS = (
    "name",
    "kind",
    "region_id",
    "cadence_weeks",
    "weekday",
    "start_time",
    "duration_minutes",
    "anchor_on",
    "location",
    "online_url",
    "chair_id",
    "item_minutes",
    "agenda_lead_hours",
)


@dataclass(frozen=True)
class SeriesChoices:
    """What the series form offers: the regions this beheerder manages, the coordinators who may
    chair, the active organisations."""

    regions: list[Region]
    chairs: list[User]
    organisations: list[Organisation]


async def choices(session: AsyncSession, p: Principal) -> SeriesChoices:
    regions = [
        r
        for r in (await session.scalars(select(Region).order_by(Region.name))).all()
        if may_administer_region(p, r.id)
    ]
    chairs = (
        await session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.COORDINATOR, User.active.is_(True))
            .order_by(User.name)
        )
    ).unique()
    organisations = (
        await session.scalars(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
        )
    ).unique()
    return SeriesChoices(regions, list(chairs), list(organisations))


def parse(data: dict[str, Any], choices: SeriesChoices) -> tuple[dict[str, Any], dict[str, str]]:
    """The series form's values and what is wrong with them (Dutch, per field); the region, the
    chair and the partner organisations must be ones the form offered."""
    region_ids = {r.id for r in choices.regions}
    first = {k: (values(data, k) or [""])[0].strip() for k in FIELDS}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "name": first["name"],
        "location": first["location"][:300],
        "online_url": first["online_url"][:500],
    }
    if not out["name"]:
        errors["name"] = "Geef de reeks een naam, bijvoorbeeld ‘Instroomoverleg Fryslân’."
    try:
        out["kind"] = SeriesKind(first["kind"]).value
    except ValueError:
        errors["kind"] = "Kies de vorm van het overleg."
    if not first["region_id"].isdigit() or int(first["region_id"]) not in region_ids:
        errors["region_id"] = "Kies de regio van het overleg."
    else:
        out["region_id"] = int(first["region_id"])
    for key, low, high, message in (
        ("cadence_weeks", 1, 12, "Kies om de hoeveel weken het overleg is (1 tot 12)."),
        ("weekday", 0, 6, "Kies de dag van de week."),
        ("duration_minutes", 15, 480, "De duur is 15 tot 480 minuten."),
        ("item_minutes", 1, 60, "De tijd per casus is 1 tot 60 minuten."),
        ("agenda_lead_hours", 1, 168, "De agenda wordt 1 tot 168 uur vooraf opgebouwd."),
    ):
        if first[key].isdigit() and low <= int(first[key]) <= high:
            out[key] = int(first[key])
        else:
            errors[key] = message
    try:
        out["start_time"] = dt.time.fromisoformat(first["start_time"])
    except ValueError:
        errors["start_time"] = "Vul de begintijd in als UU:MM, bijvoorbeeld 10:00."
    if first["anchor_on"]:
        try:
            out["anchor_on"] = dt.date.fromisoformat(first["anchor_on"])
        except ValueError:
            errors["anchor_on"] = "Vul een datum in als JJJJ-MM-DD."
    else:
        out["anchor_on"] = None
    if out["online_url"] and not out["online_url"].startswith("https://"):
        errors["online_url"] = "Een online vergaderlink begint met https://."
    out["chair_id"] = int(first["chair_id"]) if first["chair_id"].isdigit() else None
    if first["chair_id"] and out["chair_id"] not in {u.id for u in choices.chairs}:
        errors["chair_id"] = "Kies de voorzitter uit de lijst."
    offered = {o.id for o in choices.organisations}
    out["organisations"] = {int(v) for v in values(data, "organisations") if v.isdigit()} & offered
    return out, errors


async def partners(session: AsyncSession, series_id: int) -> set[int]:
    """The organisations taking part in a series."""
    return set(
        (
            await session.scalars(
                select(SeriesOrganisation.organisation_id).where(
                    SeriesOrganisation.series_id == series_id
                )
            )
        ).all()
    )


async def save(
    session: AsyncSession, series: MeetingSeries | None, checked: dict[str, Any]
) -> tuple[MeetingSeries, int]:
    """Create or change a series from checked form values; returns it and the number of meetings
    the new cadence created."""
    fields = dict(checked)
    organisations = fields.pop("organisations")
    if series is None:
        series = MeetingSeries(**fields)
        session.add(series)
        await session.flush()
    else:
        for key, value in fields.items():
            setattr(series, key, value)
    current = {
        o.organisation_id: o
        for o in (
            await session.scalars(
                select(SeriesOrganisation).where(SeriesOrganisation.series_id == series.id)
            )
        )
        .unique()
        .all()
    }
    for org_id, row in current.items():
        if org_id not in organisations:
            await session.delete(row)
    for org_id in organisations - set(current):
        session.add(SeriesOrganisation(series_id=series.id, organisation_id=org_id))
    await session.flush()
    return series, await ensure_meetings(session)
