"""The one access policy: who may see or change which case, meeting and series, and what an id a
client sent may name.

Rules (docs/domain.md, "Privacy rules": Modelprivacyconvenant Veiligheidshuizen art. 3.3, and the
DPAN protocol of the Samenwerkingsmodel Nazorg 2009 for the gemeenten):
- A coordinator sees the cases of the regions they coordinate (their organisation's region and
  the series they chair).
- A member of a region's meeting series sees that region's cases ("voorzover zij deelnemer
  zijn aan het desbetreffende overleg").
- A user of a gemeente sees only cases whose gemeente of origin or of return is their own.
- Whoever is named in a case's current pairing sees that case.
- Nobody else, including beheerders and machine API keys. Callers answer 404 for anything
  this module refuses, so existence never leaks.

`visible_cases()` is the same rule as an SQL condition: lists and single lookups both go
through it, so they can never disagree. Every id that arrives from a client (path, form field,
query) is looked up through a `get_…` function here; the request dependencies that hand objects to
handlers (app/cases/deps.py, app/meetings/deps.py, app/coordination/deps.py) call nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.cases.models import Case, Pairing
from app.coordination.models import ActionItem, Appointment
from app.meetings.models import Meeting, MeetingSeries
from app.principal import Principal
from app.reference.models import Organisation

WORKING_ROLES = frozenset(
    {Role.COORDINATOR, Role.CASEMANAGER_PI, Role.CASEMANAGER_EXTERN, Role.NETWERKPARTNER}
)


# ---------------------------------------------------------------- cases


def visible_cases(p: Principal) -> ColumnElement[bool]:
    """SQL condition on Case: the cases this principal may see."""
    conditions: list[ColumnElement[bool]] = []
    regions = p.case_region_ids
    if regions:
        in_region: ColumnElement[bool] = Case.region_id.in_(sorted(regions))
        if p.is_gemeente:
            own = p.municipality_code or "-"
            in_region = and_(
                in_region,
                or_(Case.origin_municipality_code == own, Case.return_municipality_code == own),
            )
        conditions.append(in_region)
    if p.user_id is not None and not p.is_api_key:
        assigned = select(Pairing.case_id).where(
            Pairing.ended_at.is_(None),
            or_(
                Pairing.internal_user_id == p.user_id,
                Pairing.external_user_id == p.user_id,
                Pairing.coordinator_user_id == p.user_id,
            ),
        )
        conditions.append(Case.id.in_(assigned))
    return or_(*conditions) if conditions else false()


async def get_visible_case(session: AsyncSession, p: Principal, case_id: int) -> Case | None:
    """The case if this principal may see it, else None (the caller answers 404)."""
    return (
        await session.scalars(select(Case).where(Case.id == case_id, visible_cases(p)))
    ).one_or_none()


async def visible_case_ids(
    session: AsyncSession, p: Principal, case_ids: Iterable[int]
) -> set[int]:
    """Which of these cases the principal may see, in one query (agendas, minutes, results)."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return set()
    return set(
        (await session.scalars(select(Case.id).where(Case.id.in_(wanted), visible_cases(p)))).all()
    )


def may_edit_case(p: Principal) -> bool:
    """Whether someone who can see a case may contribute to it (plan, statuses, basisdossier)."""
    return bool(p.roles & WORKING_ROLES) and not p.is_api_key


def may_manage_case(p: Principal, case: Case, pairing: Pairing | None = None) -> bool:
    """Coordinator-level changes: pairing, closure, re-agendering."""
    if case.region_id in p.coordinator_region_ids:
        return True
    return (
        pairing is not None and p.user_id is not None and pairing.coordinator_user_id == p.user_id
    )


# ---------------------------------------------------------------- series and meetings


def visible_series(p: Principal) -> ColumnElement[bool]:
    """SQL condition on MeetingSeries: series this principal takes part in or coordinates."""
    if p.is_api_key:
        return false()
    conditions: list[ColumnElement[bool]] = []
    if p.member_series_ids:
        conditions.append(MeetingSeries.id.in_(sorted(p.member_series_ids)))
    if p.coordinator_region_ids:
        conditions.append(MeetingSeries.region_id.in_(sorted(p.coordinator_region_ids)))
    return or_(*conditions) if conditions else false()


def may_see_series(p: Principal, series: MeetingSeries) -> bool:
    if p.is_api_key:
        return False
    return series.id in p.member_series_ids or series.region_id in p.coordinator_region_ids


def may_chair(p: Principal, series: MeetingSeries) -> bool:
    """The chair of the series, or a coordinator of its region, leads its meetings."""
    if p.is_api_key or p.user_id is None:
        return False
    return series.chair_id == p.user_id or series.region_id in p.coordinator_region_ids


async def get_visible_meeting(
    session: AsyncSession, p: Principal, meeting_id: int
) -> Meeting | None:
    """The meeting if it belongs to a series this principal may see, else None (404)."""
    return (
        (
            await session.scalars(
                select(Meeting)
                .join(MeetingSeries, MeetingSeries.id == Meeting.series_id)
                .where(Meeting.id == meeting_id, visible_series(p))
            )
        )
        .unique()
        .one_or_none()
    )


def handles(meeting: Meeting, case: Case) -> bool:
    """A meeting discusses the cases of its series' region, and only those."""
    return meeting.series.region_id == case.region_id


async def get_case_meeting(
    session: AsyncSession, p: Principal, case: Case, meeting_id: int
) -> Meeting | None:
    """A meeting named beside a case (the room a case fragment is shown in): one the principal may
    see and one that handles the case, else None (404). Its chair manages the case there, so a
    meeting of another region must never stand in for one of the case's own."""
    meeting = await get_visible_meeting(session, p, meeting_id)
    return meeting if meeting is not None and handles(meeting, case) else None


# ---------------------------------------------------------------- what hangs off a case


async def get_visible_action(
    session: AsyncSession, p: Principal, action_id: int
) -> tuple[ActionItem, Case] | None:
    """An action item with its case, if the principal may see that case, else None (404)."""
    action = await session.get(ActionItem, action_id)
    if action is None:
        return None
    case = await get_visible_case(session, p, action.case_id)
    return (action, case) if case is not None else None


async def get_case_appointment(
    session: AsyncSession, case: Case, appointment_id: int
) -> Appointment | None:
    """An appointment of a case the caller already may see; None for any other id (404)."""
    appointment = await session.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.case_id == case.id else None


# ---------------------------------------------------------------- administration


def may_administer_region(p: Principal, region_id: int | None) -> bool:
    regions = p.admin_region_ids
    if regions is None:
        return True
    return region_id is not None and region_id in regions


def may_submit_notices(p: Principal) -> bool:
    """Detention notices come from an organisation's API key or from a coordinator."""
    return p.is_api_key or Role.COORDINATOR in p.roles


def may_administer(p: Principal) -> bool:
    return Role.BEHEERDER in p.roles and not p.is_api_key


def may_administer_organisation(p: Principal, organisation: Organisation) -> bool:
    """A beheerder manages the organisations of their region and those of no region (national
    partners such as the Reclassering); a beheerder without a region manages all."""
    return may_administer(p) and (
        organisation.region_id is None or may_administer_region(p, organisation.region_id)
    )
