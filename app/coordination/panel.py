"""What a case shows, on its page and in the room's case panel: the case itself (person, detention,
leefgebieden, basisdossier, notices, agenda history) and its coordination (pairing, actions, plan,
appointments).

This module composes from cases, meetings and coordination, which is why it lives on the top
domain floor.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import may_chair, may_edit_case, may_manage_case
from app.accounts.models import User
from app.cases import leefgebieden, services
from app.cases.bsn import mask_bsn
from app.cases.models import Case, Notice, NoticeStatus
from app.coordination import actions as action_service
from app.coordination import appointments as appointment_service
from app.coordination import pairing as pairing_service
from app.coordination import plans
from app.coordination.release import RELEASE_CHECKLIST
from app.meetings.models import Meeting, MeetingSeries, SeriesOrganisation
from app.meetings.services import agenda_history, region_participants
from app.principal import Principal
from app.reference.models import Organisation


async def case_context(db: AsyncSession, principal: Principal, case: Case) -> dict[str, Any]:
    """The case as its page and the room's panel show it, as far as this principal may see."""
    pairing = await services.current_pairing(db, case.id)
    region = case.region
    orgs, cells = await leefgebieden.basisdossier(
        db, case, principal, pairing.user_ids if pairing else set()
    )
    notices = (
        await db.scalars(
            select(Notice)
            .where(
                Notice.case_id == case.id,
                Notice.status.in_([NoticeStatus.ACCEPTED, NoticeStatus.DUPLICATE]),
            )
            .order_by(Notice.received_at, Notice.id)
        )
    ).all()
    return {
        "case": case,
        "person": case.person,
        "pairing": pairing,
        "region": region,
        "bsn": case.person.bsn if services.may_see_bsn(principal) else mask_bsn(case.person.bsn),
        "may_edit": may_edit_case(principal),
        "may_manage": may_manage_case(principal, case, pairing),
        "leefgebieden": await leefgebieden.statuses(db, case, region),
        "status_options": leefgebieden.STATUSES,
        "closure_options": leefgebieden.CLOSURE_STATUSES,
        "status_labels": leefgebieden.STATUS_LABELS,
        "known_options": leefgebieden.KNOWN,
        "dossier_orgs": orgs,
        "dossier_cells": cells,
        "own_entries": {
            key: cell
            for (org_id, key), cell in cells.items()
            if org_id == principal.organisation_id
        },
        "notices": notices,
        "agenda_history": await agenda_history(db, case.id),
    }


async def coordination_context(
    db: AsyncSession, principal: Principal, case: Case, meeting: Meeting | None
) -> dict[str, Any]:
    """Pairing, actions, plan and appointments of a case; `meeting` is the room it is shown in
    (one that handles the case: app/access.py `get_case_meeting`), whose chair manages it there."""
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
        "checklist_size": len(RELEASE_CHECKLIST),
    }


async def owner_options(db: AsyncSession, case: Case) -> list[tuple[str, str]]:
    """Who may own an action: the region's participants and the partner organisations."""
    users = (
        (
            await db.scalars(
                select(User)
                .where(
                    User.active.is_(True),
                    User.id.in_(region_participants(case.region_id)),
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
