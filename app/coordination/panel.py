"""What the coordination parts of a case show (pairing, actions, plan), for the room and the case page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.access import may_chair, may_edit_case, may_manage_case
from app.accounts.models import User
from app.cases.models import Case
from app.coordination import actions as action_service
from app.coordination import appointments as appointment_service
from app.coordination import pairing as pairing_service
from app.coordination import plans
from app.deps import DB
from app.meetings.models import Meeting, MeetingSeries, SeriesMember, SeriesOrganisation
from app.principal import Principal
from app.reference.models import Organisation


async def coordination_context(
    db: DB, principal: Principal, case: Case, meeting: Meeting | None
) -> dict[str, Any]:
    pairing = next(
        iter([p for p in await pairing_service.history(db, case.id) if p.ended_at is None]), None
    )
    manages = may_manage_case(principal, case, pairing) or (
        meeting is not None and may_chair(principal, meeting.series)
    )
    return {
        "meeting": meeting,
        "may_manage": manages,
        "suggestions": await pairing_service.suggestions(db, case) if manages else [],
        "internal_candidates": await pairing_service.internal_candidates(db, case)
        if manages
        else [],
        "coordinator_candidates": await pairing_service.coordinator_candidates(db, case)
        if manages and meeting is not None and meeting.series.kind == "dtb"
        else [],
        "pairing_history": await pairing_service.history(db, case.id),
        "actions": await action_service.for_case(db, case.id),
        "owners": await owner_options(db, case),
        "plan_sections": plans.section_labels(case),
        "plan_versions": await plans.versions(db, case.id),
        "may_edit": may_edit_case(principal),
        "appointments": await appointment_service.for_case(db, case.id),
        "checklist_size": len(appointment_service.RELEASE_CHECKLIST),
    }


async def owner_options(db: DB, case: Case) -> list[tuple[str, str]]:
    """Who may own an action: the region's participants and the partner organisations."""
    users = (
        (
            await db.scalars(
                select(User)
                .where(
                    User.active.is_(True),
                    User.id.in_(
                        select(SeriesMember.user_id)
                        .join(MeetingSeries, MeetingSeries.id == SeriesMember.series_id)
                        .where(MeetingSeries.region_id == case.region_id)
                    ),
                )
                .order_by(User.name)
            )
        )
        .unique()
        .all()
    )
    orgs = (
        (
            await db.scalars(
                select(Organisation)
                .where(
                    Organisation.id.in_(
                        select(SeriesOrganisation.organisation_id)
                        .join(MeetingSeries, MeetingSeries.id == SeriesOrganisation.series_id)
                        .where(MeetingSeries.region_id == case.region_id)
                    )
                )
                .order_by(Organisation.name)
            )
        )
        .unique()
        .all()
    )
    return [(f"u{u.id}", f"{u.name} ({u.organisation.name})") for u in users] + [
        (f"o{o.id}", f"{o.name} (organisatie)") for o in orgs
    ]
