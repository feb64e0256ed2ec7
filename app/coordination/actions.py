"""Action items per leefgebied: what, who (a person or an organisation), by when; and their history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.coordination.models import ActionItem, ActionStatus, ActionUpdate
from app.db import utcnow
from app.principal import Principal

MAX_DESCRIPTION = 500


class ActionInputError(ValueError):
    """Invalid input for an action, with Dutch messages per field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid action")
        self.errors = errors


def parse_owner(value: str) -> tuple[int | None, int | None]:
    """Owner field values are `u<id>` (a person) or `o<id>` (an organisation)."""
    if value.startswith("u") and value[1:].isdigit():
        return int(value[1:]), None
    if value.startswith("o") and value[1:].isdigit():
        return None, int(value[1:])
    return None, None


def validate(
    data: dict[str, str], leefgebieden: list[str], owners: set[str], today: dt.date
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    description = (data.get("description") or "").strip()
    if not description:
        errors["description"] = (
            "Beschrijf de actie, bijvoorbeeld ‘ID-kaart aanvragen bij burgerzaken’."
        )
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Houd de actie kort (hoogstens {MAX_DESCRIPTION} tekens)."
    leefgebied = data.get("leefgebied", "")
    if leefgebied not in leefgebieden:
        errors["leefgebied"] = "Kies het leefgebied van de actie."
    owner = data.get("owner", "")
    if owner not in owners:
        errors["owner"] = "Kies wie de actie uitvoert: een persoon of een organisatie."
    due: dt.date | None = None
    if data.get("due_on"):
        try:
            due = dt.date.fromisoformat(data["due_on"])
        except ValueError:
            errors["due_on"] = "Vul een datum in als JJJJ-MM-DD."
        else:
            if due < today - dt.timedelta(days=1):
                errors["due_on"] = "De datum ligt in het verleden."
    if errors:
        raise ActionInputError(errors)
    user_id, org_id = parse_owner(owner)
    return {
        "description": description,
        "leefgebied": leefgebied,
        "owner_user_id": user_id,
        "owner_organisation_id": org_id,
        "due_on": due,
    }


def may_update(p: Principal, action: ActionItem, manages_case: bool) -> bool:
    """The owner (the person, or anyone of the owning organisation) and the case's coordinator."""
    if manages_case:
        return True
    if action.owner_user_id is not None:
        return action.owner_user_id == p.user_id
    return action.owner_organisation_id == p.organisation_id


async def create(
    session: AsyncSession,
    case_id: int,
    values: dict[str, Any],
    *,
    user_id: int | None,
    meeting_id: int | None,
) -> ActionItem:
    action = ActionItem(case_id=case_id, created_by_id=user_id, meeting_id=meeting_id, **values)
    session.add(action)
    await session.flush()
    session.add(
        ActionUpdate(
            action_id=action.id,
            user_id=user_id,
            changes=[{"field": "status", "old": None, "new": ActionStatus.OPEN.value}],
        )
    )
    return action


async def change(
    session: AsyncSession,
    action: ActionItem,
    *,
    user_id: int | None,
    status: str | None = None,
    due_on: dt.date | str | None = "unchanged",
    note: str = "",
    owner: tuple[int | None, int | None] | None = None,
) -> list[dict[str, Any]]:
    """Apply a change and record it in the action's history; returns what changed."""
    changes: list[dict[str, Any]] = []
    if status is not None and status != action.status:
        changes.append({"field": "status", "old": str(action.status), "new": status})
        action.status = ActionStatus(status)
        action.completed_at = (
            utcnow() if status in (ActionStatus.DONE, ActionStatus.DROPPED) else None
        )
    if due_on != "unchanged" and due_on != action.due_on:
        changes.append(
            {
                "field": "due_on",
                "old": action.due_on.isoformat() if action.due_on else None,
                "new": due_on.isoformat() if isinstance(due_on, dt.date) else None,
            }
        )
        action.due_on = due_on if isinstance(due_on, dt.date) else None
    if owner is not None and owner != (action.owner_user_id, action.owner_organisation_id):
        changes.append({"field": "owner", "old": None, "new": None})
        action.owner_user_id, action.owner_organisation_id = owner
    if changes or note:
        action.sequence += 1 if any(c["field"] in ("status", "due_on") for c in changes) else 0
        session.add(
            ActionUpdate(
                action_id=action.id, user_id=user_id, changes=changes, note=note.strip()[:1000]
            )
        )
    return changes


async def for_case(session: AsyncSession, case_id: int) -> list[ActionItem]:
    return list(
        (
            await session.scalars(
                select(ActionItem)
                .where(ActionItem.case_id == case_id)
                .order_by(
                    ActionItem.status, ActionItem.due_on.is_(None), ActionItem.due_on, ActionItem.id
                )
            )
        )
        .unique()
        .all()
    )


async def history(session: AsyncSession, action_id: int) -> list[ActionUpdate]:
    return list(
        (
            await session.scalars(
                select(ActionUpdate)
                .where(ActionUpdate.action_id == action_id)
                .order_by(ActionUpdate.at, ActionUpdate.id)
            )
        )
        .unique()
        .all()
    )
