"""Closing a case when its coordination window has ended (one month after release by default;
docs/domain.md, "Deadlines"): the final status per leefgebied (geregeld / advies overgedragen / niet
geregeld), what happens to each open action, and the appointments still planned are cancelled."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import leefgebieden
from app.cases.models import Case, CaseStatus
from app.coordination import actions as action_service
from app.coordination import appointments as appointment_service
from app.coordination.models import ActionItem, ActionStatus, AppointmentStatus
from app.web import today_local

ACTION_OUTCOMES = [
    (ActionStatus.HANDED_OVER.value, "Overgedragen aan wie verdergaat"),
    (ActionStatus.DONE.value, "Gereed"),
    (ActionStatus.DROPPED.value, "Vervallen"),
]
FINAL = {key for key, _ in leefgebieden.CLOSURE_STATUSES}
MAX_NOTE = 2000


async def open_actions(session: AsyncSession, case: Case) -> list[ActionItem]:
    return [a for a in await action_service.for_case(session, case.id) if a.is_open]


def check(case: Case, actions: list[ActionItem], data: dict[str, Any]) -> dict[str, str]:
    """What is missing in the closure form, per field (Dutch); empty when it may be closed."""
    errors: dict[str, str] = {}
    for key in case.region.leefgebied_keys():
        if str(data.get(f"lg_{key}", "")) not in FINAL:
            errors[f"lg_{key}"] = (
                f"Kies hoe het met {case.region.leefgebied_label(key).lower()} is afgelopen."
            )
    outcomes = {key for key, _ in ACTION_OUTCOMES}
    for action in actions:
        if str(data.get(f"actie_{action.id}", "")) not in outcomes:
            errors[f"actie_{action.id}"] = "Kies wat er met deze actie gebeurt."
    if len(str(data.get("closure_note", "")).strip()) > MAX_NOTE:
        errors["closure_note"] = f"Houd de toelichting korter dan {MAX_NOTE} tekens."
    return errors


async def close(
    session: AsyncSession,
    case: Case,
    actions: list[ActionItem],
    data: dict[str, Any],
    *,
    user_id: int | None,
) -> None:
    """Apply a checked closure form: final statuses, the actions' outcomes, planned appointments
    cancelled, the case closed."""
    for key in case.region.leefgebied_keys():
        await leefgebieden.set_status(
            session,
            case,
            key,
            str(data[f"lg_{key}"]),
            str(data.get(f"lg_note_{key}", "")).strip(),
            user_id,
        )
    for action in actions:
        await action_service.change(
            session,
            action,
            user_id=user_id,
            status=str(data[f"actie_{action.id}"]),
            note="Bij het afsluiten van de casus.",
        )
    for appointment in await appointment_service.for_case(session, case.id):
        if appointment.status == AppointmentStatus.PLANNED:
            await appointment_service.set_status(
                session, appointment, AppointmentStatus.CANCELLED, user_id=user_id
            )
    case.status = CaseStatus.CLOSED
    case.closed_on = today_local()
    case.closed_by_id = user_id
    case.closure_note = str(data.get("closure_note", "")).strip()
    case.follow_up_on = None
