"""What hangs off a case, named in a request, as a dependency through the access policy.

- `case_action: VisibleAction` on a path with `{action_id:int}`: the action item and its case, if
  the caller may see the case, else 404.
  On these paths `case: VisibleCase` is the action's case (`ACTION_CASE`), so `case_meeting`
  (app/meetings/deps.py) checks a meeting named in the form against it.
- `appointment: CaseAppointment` beside `case: VisibleCase` on a path with
  `{appointment_id:int}`: an appointment of that case, else 404.

The parameter's name is its key (tests/platform/test_layers.py checks that handlers keep to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from app.access import get_case_appointment, get_visible_action
from app.cases.deps import VisibleCase
from app.cases.models import Case
from app.coordination.models import ActionItem, Appointment
from app.deps import DB, CurrentUser, refuse


@dataclass(frozen=True)
class CaseAction:
    """An action item the caller may see, with its case."""

    action: ActionItem
    case: Case


VisibleAction: TypeAlias = NamedDependency[CaseAction]
CaseAppointment: TypeAlias = NamedDependency[Appointment]


async def provide_case_action(
    db: DB, principal: CurrentUser, action_id: FromPath[int]
) -> CaseAction:
    found = await get_visible_action(db, principal, action_id)
    if found is None:
        await refuse(db)
    return CaseAction(*found)


async def provide_action_case(case_action: VisibleAction) -> Case:
    return case_action.case


async def provide_appointment(
    db: DB, case: VisibleCase, appointment_id: FromPath[int]
) -> Appointment:
    appointment = await get_case_appointment(db, case, appointment_id)
    if appointment is None:
        await refuse(db)
    return appointment


DEPENDENCIES = {
    "case_action": Provide(provide_case_action),
    "appointment": Provide(provide_appointment),
}

# For handlers on /acties/{action_id}: "the case" is the action's.
ACTION_CASE = {"case": Provide(provide_action_case)}
