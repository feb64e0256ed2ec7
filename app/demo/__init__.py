"""Demo data (docs/interfaces.md, "Demo accounts"): two regions, their partners, twelve demo
accounts, ~40 synthetic cases with a past.

Every person is synthetic (Faker nl_NL, BSNs generated to pass the elfproef). Dates are relative to
the day of loading, so the demo always shows a live week. One seeded random sequence draws the whole
world, so a demo loaded on the same day is the same: `world` (regions, organisations, accounts,
series), `notices` (the cases, delivered as notices), `history` (meetings, pairings, actions,
appointments).
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.cases.models import Case
from app.demo import history, notices, world
from app.reference.services import load_reference_data


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(User))


async def load_demo(
    session: AsyncSession,
    today: dt.date | None = None,
    cases_per_region: tuple[int, int] = (26, 14),
) -> dict[str, int]:
    """Create the demo world; call only on an empty database."""
    today = today or dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    rng = random.Random(world.SEED)  # noqa: S311 - synthetic demo data, reproducible on purpose
    fake = Faker("nl_NL")
    fake.seed_instance(world.SEED)
    await load_reference_data(session)
    regions = await world.load_regions(session)
    orgs = await world.create_organisations(session, regions)
    users = await world.create_users(session, orgs)
    series = await world.create_series(session, regions, orgs, users)
    events = notices.notice_events(
        rng, fake, today, users["casemanager@pi-leeuwarden.example"], cases_per_region
    )
    await notices.deliver(session, events, orgs, today)
    cases = list((await session.scalars(select(Case).order_by(Case.id))).unique().all())
    discussed = await history.past_meetings(session, rng, today, series, cases)
    paired = history.pairings_and_dossiers(session, rng, regions, orgs, users, cases, discussed)
    await session.flush()
    await history.actions(session, today, users, orgs, paired)
    await history.appointments(session, today, users, paired)
    await session.flush()
    return {"organisaties": len(orgs), "gebruikers": len(users), "casussen": len(cases)}
