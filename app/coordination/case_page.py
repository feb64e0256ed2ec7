"""The case page and the case API: everything about one case, composed from cases, meetings and
coordination (this module sits at the top of the dependency chain, so it may read all three)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import get_visible_case, may_edit_case, may_manage_case
from app.accounts.models import User
from app.auth import NotFoundError
from app.cases import leefgebieden, services
from app.cases.bsn import mask_bsn
from app.cases.models import Case, Notice, NoticeStatus, Pairing
from app.cases.schemas import (
    ActionOut,
    CaseDetail,
    CasemanagerOut,
    DetentionOut,
    LeefgebiedOut,
    PairingOut,
    PersonOut,
)
from app.coordination import actions as action_service
from app.coordination.panel import coordination_context
from app.deps import DB, Audit, CurrentUser
from app.meetings.services import agenda_history
from app.principal import Principal
from app.web import page

VIEWED_FIELDS = (
    "person.first_names",
    "person.prefix",
    "person.last_name",
    "person.birth_date",
    "case.status",
    "detention",
    "pairing",
    "leefgebieden",
)


def assigned_users(pairing: Pairing | None) -> set[int]:
    if pairing is None:
        return set()
    return {
        u
        for u in (pairing.internal_user_id, pairing.external_user_id, pairing.coordinator_user_id)
        if u
    }


async def case_or_404(db: DB, principal: Principal, case_id: int) -> Case:
    case = await get_visible_case(db, principal, case_id)
    if case is None:
        raise NotFoundError()
    return case


async def case_context(db: DB, principal: Principal, case: Case) -> dict[str, Any]:
    pairing = await services.current_pairing(db, case.id)
    region = case.region
    orgs, cells = await leefgebieden.basisdossier(db, case, principal, assigned_users(pairing))
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


def viewed_fields(principal: Principal) -> list[str]:
    fields = [*VIEWED_FIELDS, "basisdossier", "notices"]
    return [*fields, "person.bsn"] if services.may_see_bsn(principal) else fields


@get("/casussen/{case_id:int}", include_in_schema=False)
async def case_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case_id: FromPath[int],
) -> Template:
    case = await case_or_404(db, principal, case_id)
    audit_log.record(
        db,
        audit,
        "case.viewed",
        case=case,
        object_type="case",
        object_id=case.id,
        fields=viewed_fields(principal),
    )
    context = await case_context(db, principal, case)
    context.update(await coordination_context(db, principal, case, None))
    return page(
        request,
        "cases/detail.html",
        principal=principal,
        active="casussen",
        title=f"Casus {case.reference}",
        **context,
    )


def _cm(user: User | None) -> CasemanagerOut | None:
    if user is None:
        return None
    return CasemanagerOut(
        id=user.id, name=user.name, organisation=user.organisation.name, email=user.email
    )


async def case_detail_out(db: DB, case: Case) -> CaseDetail:
    pairing = await services.current_pairing(db, case.id)
    period = case.current_period
    statuses = await leefgebieden.statuses(db, case, case.region)
    return CaseDetail(
        id=case.id,
        reference=case.reference,
        region=case.region.name,
        status=str(case.status),
        person=PersonOut(
            first_names=case.person.first_names,
            prefix=case.person.prefix,
            last_name=case.person.last_name,
            birth_date=case.person.birth_date.isoformat(),
        ),
        detention=DetentionOut(
            institution=period.institution_label,
            entered_on=period.entered_on.isoformat(),
            expected_release_on=period.expected_release_on.isoformat()
            if period.expected_release_on
            else None,
            released_on=period.released_on.isoformat() if period.released_on else None,
            title=period.title,
        )
        if period
        else None,
        pairing=PairingOut(
            internal=_cm(pairing.internal_user) if pairing else None,
            external=_cm(pairing.external_user) if pairing else None,
            coordinator=_cm(pairing.coordinator_user) if pairing else None,
        ),
        leefgebieden=[
            LeefgebiedOut(key=s.key, label=s.label, status=s.status, note=s.note) for s in statuses
        ],
        actions=[
            ActionOut(
                id=a.id,
                leefgebied=a.leefgebied,
                description=a.description,
                owner=a.owner_label,
                due_on=a.due_on.isoformat() if a.due_on else None,
                status=str(a.status),
            )
            for a in await action_service.for_case(db, case.id)
        ],
        origin_gemeente=case.origin_municipality_code,
        return_gemeente=case.return_municipality_code,
    )


@get("/api/v1/cases/{case_id:int}", tags=["casussen"], security=[{"bearer": []}])
async def api_case(
    db: DB, principal: CurrentUser, audit: Audit, case_id: FromPath[int]
) -> CaseDetail:
    """A case the caller may see; 404 for any other id."""
    case = await case_or_404(db, principal, case_id)
    audit_log.record(
        db,
        audit,
        "case.viewed",
        case=case,
        object_type="case",
        object_id=case.id,
        fields=VIEWED_FIELDS,
    )
    return await case_detail_out(db, case)


ROUTES = [case_page, api_case]
