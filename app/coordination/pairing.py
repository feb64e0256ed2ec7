"""Pairing the internal (PI) and external casemanager, with suggestions ranked by fit.

Fit, in order of weight: the organisation works on the leefgebieden where the case has problems;
its casemanager has room under the national caseload norm of about 30 cases (docs/domain.md,
"The life of a case");
the casemanager was involved with the same person before; the organisation is the person's gemeente.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import mail
from app.accounts.models import Role, User, UserRole
from app.cases.models import Case, LeefgebiedStatus, Pairing
from app.db import utcnow
from app.meetings.services import region_participants
from app.reference.models import KIND_LEEFGEBIEDEN, Organisation, OrganisationKind
from app.settings import Settings

CASELOAD_NORM = 30
PROBLEM = ("probleem", "actie_nodig")


@dataclass(frozen=True)
class Suggestion:
    """One external casemanager the chair might pair, and why."""

    user: User
    score: float
    caseload: int
    reasons: list[str]


async def caseloads(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Pairing.external_user_id, func.count())
        .join(Case, Case.id == Pairing.case_id)
        .where(
            Pairing.external_user_id.in_(user_ids),
            Pairing.ended_at.is_(None),
            Case.status != "gesloten",
        )
        .group_by(Pairing.external_user_id)
    )
    return {int(uid): int(n) for uid, n in rows.all() if uid is not None}


async def suggestions(session: AsyncSession, case: Case, limit: int = 5) -> list[Suggestion]:
    """External casemanagers of the case's region, best fit first."""
    candidates = (
        (
            await session.scalars(
                select(User).where(
                    User.active.is_(True),
                    User.id.in_(
                        select(UserRole.user_id).where(UserRole.role == Role.CASEMANAGER_EXTERN)
                    ),
                    User.id.in_(region_participants(case.region_id)),
                )
            )
        )
        .unique()
        .all()
    )
    if not candidates:
        return []
    problems = set(
        (
            await session.scalars(
                select(LeefgebiedStatus.key).where(
                    LeefgebiedStatus.case_id == case.id, LeefgebiedStatus.status.in_(PROBLEM)
                )
            )
        ).all()
    )
    loads = await caseloads(session, [u.id for u in candidates])
    earlier = await _earlier_casemanagers(session, case)
    out = [
        _fit(case, user, problems, loads.get(user.id, 0), user.id in earlier) for user in candidates
    ]
    out.sort(key=lambda s: (-s.score, s.caseload, s.user.name))
    return out[:limit]


async def _earlier_casemanagers(session: AsyncSession, case: Case) -> set[int | None]:
    """External casemanagers of the person's other cases, and earlier ones of this case."""
    return set(
        (
            await session.scalars(
                select(Pairing.external_user_id)
                .join(Case, Case.id == Pairing.case_id)
                .where(Case.person_id == case.person_id, Pairing.case_id != case.id)
            )
        ).all()
    ) | set(
        (
            await session.scalars(
                select(Pairing.external_user_id).where(
                    Pairing.case_id == case.id, Pairing.ended_at.is_not(None)
                )
            )
        ).all()
    )


def _fit(case: Case, user: User, problems: set[str], load: int, knows_person: bool) -> Suggestion:
    """How well one casemanager fits, in the order of weight in this module's docstring."""
    org: Organisation = user.organisation
    reasons: list[str] = []
    score = 0.0
    covered = KIND_LEEFGEBIEDEN.get(OrganisationKind(org.kind), set()) & problems
    if covered:
        score += 3 * len(covered)
        reasons.append(
            "werkt aan "
            + ", ".join(case.region.leefgebied_label(k).lower() for k in sorted(covered))
        )
    room = max(0, CASELOAD_NORM - load)
    score += 2 * room / CASELOAD_NORM
    reasons.append(f"{load} van ongeveer {CASELOAD_NORM} casussen")
    if knows_person:
        score += 2
        reasons.append("kent de persoon uit een eerdere casus")
    if org.kind == OrganisationKind.GEMEENTE and org.municipality_code in case.municipality_codes:
        score += 1.5
        reasons.append("gemeente van de persoon")
    return Suggestion(user=user, score=score, caseload=load, reasons=reasons)


async def internal_candidates(session: AsyncSession, case: Case) -> list[User]:
    """PI casemanagers of the institution where the person is now."""
    period = case.current_period
    if period is None or period.institution_id is None:
        return []
    return list(
        (
            await session.scalars(
                select(User)
                .join(UserRole, UserRole.user_id == User.id)
                .join(Organisation, Organisation.id == User.organisation_id)
                .where(
                    UserRole.role == Role.CASEMANAGER_PI,
                    User.active.is_(True),
                    Organisation.institution_id == period.institution_id,
                )
                .order_by(User.name)
            )
        )
        .unique()
        .all()
    )


async def coordinator_candidates(session: AsyncSession, case: Case) -> list[User]:
    """For DTB-style series: any participant of the region may coordinate a case."""
    return list(
        (
            await session.scalars(
                select(User)
                .where(User.active.is_(True), User.id.in_(region_participants(case.region_id)))
                .order_by(User.name)
            )
        )
        .unique()
        .all()
    )


def chosen_user(
    data: dict[str, str], key: str, candidates: set[int], keep: int | None
) -> int | None:
    """The user picked in one field of the pairing form: the current one when the field is empty,
    nobody for `geen`, one of the candidates otherwise; any other id keeps the current one."""
    value = data.get(key, "")
    if value == "":
        return keep
    if value == "geen":
        return None
    return int(value) if value.isdigit() and int(value) in candidates else keep


async def confirm(
    session: AsyncSession,
    case: Case,
    *,
    internal_user_id: int | None,
    internal_contact: str,
    external_user_id: int | None,
    coordinator_user_id: int | None,
    confirmed_by: int | None,
    meeting_id: int | None,
    settings: Settings,
) -> Pairing:
    """A new pairing ends the current one (history kept); the casemanagers are told."""
    current = (
        (
            await session.scalars(
                select(Pairing).where(Pairing.case_id == case.id, Pairing.ended_at.is_(None))
            )
        )
        .unique()
        .all()
    )
    now = utcnow()
    for old in current:
        old.ended_at = now
    pairing = Pairing(
        case_id=case.id,
        internal_user_id=internal_user_id,
        internal_contact=internal_contact[:300],
        external_user_id=external_user_id,
        coordinator_user_id=coordinator_user_id,
        confirmed_by_id=confirmed_by,
        meeting_id=meeting_id,
    )
    session.add(pairing)
    await session.flush()
    await _tell_paired(session, case, pairing, settings)
    return pairing


async def _tell_paired(
    session: AsyncSession, case: Case, pairing: Pairing, settings: Settings
) -> None:
    """An e-mail to each person named in a new pairing (the case reference and a link, no names)."""
    for user_id, role in (
        (pairing.internal_user_id, "interne casemanager"),
        (pairing.external_user_id, "externe casemanager"),
        (pairing.coordinator_user_id, "coördinator"),
    ):
        if user_id is None:
            continue
        user = await session.get(User, user_id)
        if user is None:
            continue
        text, html = mail.render(
            "paired",
            name=user.name,
            reference=case.reference,
            role=role,
            link=f"{settings.base_url}/casussen/{case.id}",
        )
        await mail.queue(
            session,
            kind="paired",
            dedupe_key=f"paired:{pairing.id}:{user_id}",
            recipient=user.email,
            subject=f"U bent gekoppeld aan casus {case.reference}",
            body_text=text,
            body_html=html,
        )


async def history(session: AsyncSession, case_id: int) -> list[Pairing]:
    return list(
        (
            await session.scalars(
                select(Pairing)
                .where(Pairing.case_id == case_id)
                .order_by(Pairing.created_at.desc(), Pairing.id.desc())
            )
        )
        .unique()
        .all()
    )
