"""The minutes (besluitenlijst) of a meeting: what was decided per item, the actions agreed and the
pairings, as far as the reader may see; and adopting them, which ends the meeting and sends them to
the participants (reference, status and follow-up date per item, never names)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.access import may_chair, visible_case_ids
from app.coordination import pairing as pairing_service
from app.coordination.models import ActionItem
from app.coordination.room import attendance, finish
from app.db import utcnow
from app.meetings import agenda as agenda_service
from app.meetings.models import Meeting, MeetingStatus
from app.meetings.notifications import participants
from app.principal import Principal
from app.settings import Settings
from app.web import AMSTERDAM


async def minutes_context(
    db: AsyncSession, principal: Principal, meeting: Meeting
) -> dict[str, Any]:
    items = await agenda_service.items_of(db, meeting)
    case_ids = [i.case_id for i in items]
    acts = (
        (
            await db.scalars(
                select(ActionItem)
                .where(ActionItem.case_id.in_(case_ids), ActionItem.meeting_id == meeting.id)
                .order_by(ActionItem.id)
            )
        )
        .unique()
        .all()
        if case_ids
        else []
    )
    by_case: dict[int, list[ActionItem]] = {}
    for action in acts:
        by_case.setdefault(action.case_id, []).append(action)
    pairings = {}
    for case_id in case_ids:
        current = [p for p in await pairing_service.history(db, case_id) if p.ended_at is None]
        if current:
            pairings[case_id] = current[0]
    return {
        "meeting": meeting,
        "items": items,
        "visible": await visible_case_ids(db, principal, case_ids),
        "attendance": list((await attendance(db, meeting)).values()),
        "actions": by_case,
        "pairings": pairings,
        "is_chair": may_chair(principal, meeting.series),
    }


async def adopt(
    db: AsyncSession, meeting: Meeting, *, user_id: int | None, settings: Settings
) -> bool:
    """Adopt the minutes once: the meeting ends if it had not, every participant gets them by
    e-mail. False when they were adopted already."""
    if meeting.minutes_closed_at is not None:
        return False
    meeting.minutes_closed_at = utcnow()
    meeting.minutes_closed_by_id = user_id
    if meeting.status != MeetingStatus.FINISHED:
        await finish(db, meeting)
    summary = [
        {"reference": i.case.reference, "status": i.status_label, "follow_up_on": i.follow_up_on}
        for i in await agenda_service.items_of(db, meeting)
    ]
    day = meeting.starts_at.astimezone(AMSTERDAM)
    for user in await participants(db, meeting):
        text, html = mail.render(
            "minutes",
            name=user.name,
            series=meeting.series.name,
            starts_at=meeting.starts_at,
            items=summary,
            link=f"{settings.base_url}/overleggen/{meeting.id}/besluitenlijst",
        )
        await mail.queue(
            db,
            kind="minutes",
            dedupe_key=f"minutes:{meeting.id}:{user.id}",
            recipient=user.email,
            subject=f"Besluitenlijst {meeting.series.name} – {day:%d-%m-%Y}",
            body_text=text,
            body_html=html,
        )
    return True
