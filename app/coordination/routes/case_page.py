"""The case page and the case API: everything about one case (composed in app/coordination/panel.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from app import audit as audit_log
from app.accounts.models import User
from app.cases import leefgebieden, services
from app.cases.deps import VisibleCase
from app.cases.models import Case
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
from app.coordination.panel import case_context, coordination_context
from app.deps import DB, Audit, CurrentUser
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


def viewed_fields(principal: Principal) -> list[str]:
    fields = [*VIEWED_FIELDS, "basisdossier", "notices"]
    return [*fields, "person.bsn"] if services.may_see_bsn(principal) else fields


@get("/casussen/{case_id:int}", include_in_schema=False)
async def case_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
) -> Template:
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
async def api_case(db: DB, audit: Audit, case: VisibleCase) -> CaseDetail:
    """A case the caller may see; 404 for any other id."""
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
