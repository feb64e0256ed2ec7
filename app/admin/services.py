"""Rules and queries behind the beheer pages: what a beheerder manages (their region's users,
organisations, series and API keys; all of them for a beheerder without a region), and the
memberships of users in series."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.access import may_administer_organisation
from app.accounts.models import ApiToken, User
from app.cases.models import Notice
from app.meetings.models import MeetingSeries, SeriesMember, SeriesOrganisation
from app.principal import Principal
from app.reference.models import Organisation


def users_in_scope(p: Principal) -> ColumnElement[bool]:
    """Users a beheerder manages: all, or those of their region's organisations and series."""
    regions = p.admin_region_ids
    if regions is None:
        return true()
    in_region_orgs = select(Organisation.id).where(Organisation.region_id.in_(sorted(regions)))
    in_region_series = (
        select(SeriesMember.user_id)
        .join(MeetingSeries, MeetingSeries.id == SeriesMember.series_id)
        .where(MeetingSeries.region_id.in_(sorted(regions)))
    )
    return or_(User.organisation_id.in_(in_region_orgs), User.id.in_(in_region_series))


def notices_in_scope(p: Principal) -> ColumnElement[bool]:
    """A regional beheerder handles the notices of their region and those no region claims."""
    scope = p.admin_region_ids
    if scope is None:
        return true()
    return or_(Notice.region_id.in_(sorted(scope)), Notice.region_id.is_(None))


def series_in_scope(p: Principal) -> ColumnElement[bool]:
    regions = p.admin_region_ids
    return true() if regions is None else MeetingSeries.region_id.in_(sorted(regions))


# ---------------------------------------------------------------- users


async def users(session: AsyncSession, p: Principal, q: str = "") -> list[User]:
    """The users this beheerder manages, by name; `q` narrows to a name or e-mail address."""
    stmt = select(User).where(users_in_scope(p)).order_by(User.name)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | func.lower(User.email).like(like))
    return list((await session.scalars(stmt)).unique().all())


async def user_in_scope(session: AsyncSession, p: Principal, user_id: int) -> User | None:
    return (
        (await session.scalars(select(User).where(User.id == user_id, users_in_scope(p))))
        .unique()
        .one_or_none()
    )


async def email_taken(session: AsyncSession, email: str) -> bool:
    return bool(await session.scalar(select(User.id).where(User.email == email)))


async def memberships(session: AsyncSession, user_id: int) -> set[int]:
    """The series a user takes part in."""
    return set(
        (
            await session.scalars(
                select(SeriesMember.series_id).where(SeriesMember.user_id == user_id)
            )
        ).all()
    )


async def set_memberships(
    session: AsyncSession, user_id: int, wanted: set[int], manageable: set[int]
) -> None:
    """Make the user's memberships of the `manageable` series exactly `wanted` (others stay)."""
    current = await memberships(session, user_id)
    wanted = wanted & manageable
    for series_id in (current & manageable) - wanted:
        member = (
            await session.scalars(
                select(SeriesMember).where(
                    SeriesMember.series_id == series_id, SeriesMember.user_id == user_id
                )
            )
        ).one()
        await session.delete(member)
    for series_id in wanted - current:
        session.add(SeriesMember(series_id=series_id, user_id=user_id))


# ---------------------------------------------------------------- organisations and series


async def organisations(session: AsyncSession, p: Principal) -> list[Organisation]:
    """Active organisations this beheerder manages (theirs by region, and the national ones)."""
    rows = (
        await session.scalars(
            select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
        )
    ).unique()
    return [o for o in rows if may_administer_organisation(p, o)]


async def all_organisations(session: AsyncSession) -> list[Organisation]:
    return list((await session.scalars(select(Organisation).order_by(Organisation.name))).unique())


async def organisation_named(session: AsyncSession, name: str) -> bool:
    return bool(await session.scalar(select(Organisation.id).where(Organisation.name == name)))


async def series(session: AsyncSession, p: Principal) -> list[MeetingSeries]:
    """The series this beheerder manages, by name."""
    return list(
        (
            await session.scalars(
                select(MeetingSeries).where(series_in_scope(p)).order_by(MeetingSeries.name)
            )
        )
        .unique()
        .all()
    )


async def series_in_scope_by_id(
    session: AsyncSession, p: Principal, series_id: int
) -> MeetingSeries | None:
    return (
        (
            await session.scalars(
                select(MeetingSeries).where(MeetingSeries.id == series_id, series_in_scope(p))
            )
        )
        .unique()
        .one_or_none()
    )


async def series_counts(session: AsyncSession) -> tuple[dict[int, int], dict[int, int]]:
    """Members and partner organisations per series."""
    members = dict(
        (
            await session.execute(
                select(SeriesMember.series_id, func.count()).group_by(SeriesMember.series_id)
            )
        ).all()
    )
    organisations = dict(
        (
            await session.execute(
                select(SeriesOrganisation.series_id, func.count()).group_by(
                    SeriesOrganisation.series_id
                )
            )
        ).all()
    )
    return members, organisations


# ---------------------------------------------------------------- API keys


async def api_keys(session: AsyncSession, p: Principal) -> list[ApiToken]:
    """The organisations' API keys this beheerder manages, newest first."""
    keys = (
        await session.scalars(
            select(ApiToken)
            .where(ApiToken.organisation_id.is_not(None))
            .options(selectinload(ApiToken.organisation))
            .order_by(ApiToken.created_at.desc())
        )
    ).unique()
    return [k for k in keys if k.organisation and may_administer_organisation(p, k.organisation)]


async def api_key_in_scope(session: AsyncSession, p: Principal, key_id: int) -> ApiToken | None:
    """An organisation's API key this beheerder manages; None for any other id (a user's token
    too)."""
    key = await session.get(ApiToken, key_id, options=[selectinload(ApiToken.organisation)])
    if key is None or key.organisation is None:
        return None
    return key if may_administer_organisation(p, key.organisation) else None


async def counts(session: AsyncSession, p: Principal) -> dict[str, int]:
    """What the beheer start page counts: users, active API keys and series managed."""
    users_count = await session.scalar(
        select(func.count()).select_from(User).where(users_in_scope(p))
    )
    series_count = await session.scalar(
        select(func.count()).select_from(MeetingSeries).where(series_in_scope(p))
    )
    active_keys = [k for k in await api_keys(session, p) if k.revoked_at is None]
    return {"users": users_count or 0, "keys": len(active_keys), "series": series_count or 0}
