"""The Principal of a user or an organisation's API key: who they are and the series they take part
in or chair (read from the meetings' tables, as the access policy needs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, User
from app.meetings.models import MeetingSeries, SeriesMember
from app.principal import Principal
from app.reference.models import Organisation, OrganisationKind

# ---------------------------------------------------------------- principals


async def principal_for_user(
    session: AsyncSession, user: User, *, token_id: int | None = None, session_id: int | None = None
) -> Principal:
    rows = (
        await session.execute(
            select(MeetingSeries.id, MeetingSeries.region_id)
            .join(SeriesMember, SeriesMember.series_id == MeetingSeries.id)
            .where(SeriesMember.user_id == user.id, MeetingSeries.active.is_(True))
        )
    ).all()
    chaired = (
        await session.execute(
            select(MeetingSeries.id, MeetingSeries.region_id).where(
                MeetingSeries.chair_id == user.id, MeetingSeries.active.is_(True)
            )
        )
    ).all()
    org = user.organisation
    return Principal(
        user_id=user.id,
        token_id=token_id,
        session_id=session_id,
        name=user.name,
        email=user.email,
        organisation_id=org.id,
        organisation_name=org.name,
        organisation_kind=OrganisationKind(org.kind),
        organisation_region_id=org.region_id,
        municipality_code=org.municipality_code,
        roles=frozenset(user.roles),
        member_series_ids=frozenset(r[0] for r in rows),
        member_region_ids=frozenset(r[1] for r in rows),
        chaired_series_ids=frozenset(r[0] for r in chaired),
        chaired_region_ids=frozenset(r[1] for r in chaired),
    )


def principal_for_api_key(token: ApiToken, organisation: Organisation) -> Principal:
    return Principal(
        user_id=None,
        token_id=token.id,
        name=token.name,
        email="",
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        organisation_kind=OrganisationKind(organisation.kind),
        organisation_region_id=organisation.region_id,
        municipality_code=organisation.municipality_code,
        is_api_key=True,
    )
