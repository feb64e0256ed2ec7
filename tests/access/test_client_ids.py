"""Every id a client sends goes through the access policy: a meeting named beside a case must be one
the caller may see and one of a series that handles that case (its region), else 404."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import ApiToken, User
from app.accounts.tokens import issue_api_key
from app.cases.models import Case, CaseStatus, Notice, NoticeBatch, NoticeStatus, Pairing
from app.coordination.models import ActionItem
from app.db import utcnow
from app.meetings.models import Meeting, MeetingSeries, SeriesMember
from app.meetings.services import ensure_meetings
from app.reference.models import Organisation, Region
from tests.conftest import BEHEERDER, COORDINATOR_GRN, RECLASSERING, csrf_of, login

HX = {"HX-Request": "true"}


async def _world(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A Fryslân case, the next meeting of each region, and the users by e-mail."""
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
        meetings = {}
        for code in ("FRL", "GRN"):
            meetings[code] = (
                (
                    await s.scalars(
                        select(Meeting)
                        .join(MeetingSeries)
                        .join(Region)
                        .where(Region.code == code, Meeting.starts_at > utcnow())
                        .order_by(Meeting.starts_at)
                        .limit(1)
                    )
                )
                .unique()
                .one()
            )
        case = (
            (
                await s.scalars(
                    select(Case)
                    .join(Region)
                    .where(Region.code == "FRL", Case.status == CaseStatus.OPEN)
                    .order_by(Case.id)
                    .limit(1)
                )
            )
            .unique()
            .one()
        )
        users = {u.email: u for u in (await s.scalars(select(User))).unique().all()}
    return {"case": case, "meetings": meetings, "users": users}


async def _chair_of_groningen_in_fryslan(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The Groningen coordinator (chair of Groningen's series) also takes part in Fryslân's."""
    async with sessions() as s, s.begin():
        grn = (await s.scalars(select(User).where(User.email == COORDINATOR_GRN))).unique().one()
        frl_series = (
            (await s.scalars(select(MeetingSeries).join(Region).where(Region.code == "FRL")))
            .unique()
            .one()
        )
        s.add(SeriesMember(series_id=frl_series.id, user_id=grn.id))


def _post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={**data, "_csrf_token": csrf_of(client)}, headers=HX)


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any, case_id: int) -> int:
    async with sessions() as s:
        return int(
            await s.scalar(select(func.count()).select_from(model).where(model.case_id == case_id))
            or 0
        )


async def test_chairing_one_regions_series_grants_nothing_on_another_regions_case(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    world = await _world(sessions)
    await _chair_of_groningen_in_fryslan(sessions)
    case, grn_meeting, frl_meeting = (
        world["case"],
        world["meetings"]["GRN"],
        world["meetings"]["FRL"],
    )
    external = world["users"][RECLASSERING]
    await login(client, COORDINATOR_GRN)
    # As a member of Fryslân's series they see the case, but do not manage it.
    plain = await client.get(f"/casussen/{case.id}/koppeling", headers=HX)
    assert plain.status_code == 200
    assert 'name="external_user_id"' not in plain.text  # no pairing controls
    pairings = await _count(sessions, Pairing, case.id)
    # Their own (Groningen) meeting named beside the Fryslân case: refused, as if it did not exist.
    fragment = await client.get(
        f"/casussen/{case.id}/koppeling", params={"meeting_id": str(grn_meeting.id)}, headers=HX
    )
    assert fragment.status_code == 404
    confirm = await _post(
        client,
        f"/casussen/{case.id}/koppeling",
        {"meeting_id": str(grn_meeting.id), "external_user_id": str(external.id)},
    )
    assert confirm.status_code == 404
    assert await _count(sessions, Pairing, case.id) == pairings
    actions = await _count(sessions, ActionItem, case.id)
    created = await _post(
        client,
        f"/casussen/{case.id}/acties",
        {
            "meeting_id": str(grn_meeting.id),
            "leefgebied": "onderdak",
            "description": "Woonplek regelen",
            "owner": f"u{external.id}",
        },
    )
    assert created.status_code == 404
    assert await _count(sessions, ActionItem, case.id) == actions
    # Fryslân's own meeting is one they may see and that handles the case, but they do not chair it.
    in_frl = await _post(
        client,
        f"/casussen/{case.id}/koppeling",
        {"meeting_id": str(frl_meeting.id), "external_user_id": str(external.id)},
    )
    assert in_frl.status_code == 404
    assert await _count(sessions, Pairing, case.id) == pairings


async def test_a_meeting_the_caller_cannot_see_is_refused_beside_a_case(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    world = await _world(sessions)
    case, grn_meeting, frl_meeting = (
        world["case"],
        world["meetings"]["GRN"],
        world["meetings"]["FRL"],
    )
    owner = world["users"][RECLASSERING]
    await login(client, RECLASSERING)  # takes part in Fryslân's series only
    form = {"leefgebied": "onderdak", "description": "Woonplek regelen", "owner": f"u{owner.id}"}
    actions = await _count(sessions, ActionItem, case.id)
    for meeting_id in (str(grn_meeting.id), "987654"):
        refused = await _post(
            client, f"/casussen/{case.id}/acties", {**form, "meeting_id": meeting_id}
        )
        assert refused.status_code == 404, meeting_id
        listed = await client.get(
            f"/casussen/{case.id}/acties", params={"meeting_id": meeting_id}, headers=HX
        )
        assert listed.status_code == 404, meeting_id
    assert await _count(sessions, ActionItem, case.id) == actions
    # The meeting of the case's own region, which they may see, is taken as given.
    made = await _post(
        client, f"/casussen/{case.id}/acties", {**form, "meeting_id": str(frl_meeting.id)}
    )
    assert made.status_code == 200
    async with sessions() as s:
        action = (
            await s.scalars(
                select(ActionItem)
                .where(ActionItem.case_id == case.id)
                .order_by(ActionItem.id.desc())
            )
        ).first()
    assert action is not None
    assert action.meeting_id == frl_meeting.id
    # Changing that action while naming a foreign meeting is refused too, and changes nothing.
    changed = await _post(
        client, f"/acties/{action.id}", {"status": "bezig", "meeting_id": str(grn_meeting.id)}
    )
    assert changed.status_code == 404
    async with sessions() as s:
        again = await s.get(ActionItem, action.id)
    assert again is not None
    assert again.status == "open"


async def test_a_refused_id_releases_the_requests_database_connection(
    app: Litestar, client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Ids refused by a dependency (before the handler runs) leave no connection checked out."""
    world = await _world(sessions)
    grn_meeting = world["meetings"]["GRN"]
    async with sessions() as s:
        grn_case = (
            (await s.scalars(select(Case).join(Region).where(Region.code == "GRN").limit(1)))
            .unique()
            .one()
        )
    await login(client, RECLASSERING)
    for path in (
        f"/casussen/{grn_case.id}",
        f"/casussen/{grn_case.id}/koppeling",
        f"/overleggen/{grn_meeting.id}",
        f"/overleggen/{grn_meeting.id}/besluitenlijst",
    ):
        for _ in range(12):
            assert (await client.get(path, headers=HX)).status_code == 404
    pool = app.state.engine.pool
    assert pool.checkedout() == 0


async def test_a_regional_beheerder_names_only_what_they_manage(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Organisations, API keys, series chairs and parked notices sent by id in beheer forms go
    through the beheerder's region (Fryslân's beheerder manages Fryslân's and national ones)."""
    async with sessions() as s, s.begin():
        orgs = {o.name: o for o in (await s.scalars(select(Organisation))).unique().all()}
        _, groningen_key = await issue_api_key(
            s, orgs["Zorg- en Veiligheidshuis Groningen"], "weeklijst", created_by=None
        )
        grn_region = (await s.scalars(select(Region).where(Region.code == "GRN"))).one()
        batch = (await s.scalars(select(NoticeBatch))).first()
        assert batch is not None
        parked = Notice(
            batch_id=batch.id,
            row_number=1,
            source_key="org:test",
            melding_id="GRN-PARKED-1",
            soort="uitstroom",
            bsn="",
            raw="{}",
            content_hash="x",
            status=NoticeStatus.PARKED,
            region_id=grn_region.id,
        )
        s.add(parked)
        series = (
            (await s.scalars(select(MeetingSeries).join(Region).where(Region.code == "FRL")))
            .unique()
            .one()
        )
        partner = (await s.scalars(select(User).where(User.email == RECLASSERING))).unique().one()
    groningen = orgs["Zorg- en Veiligheidshuis Groningen"]
    await login(client, BEHEERDER)
    key = await _post(
        client, "/beheer/api-sleutels", {"organisation_id": str(groningen.id), "name": "x"}
    )
    assert key.status_code == 400
    assert "Kies de organisatie die de sleutel gebruikt." in key.text
    national = await _post(
        client,
        "/beheer/api-sleutels",
        {"organisation_id": str(orgs["DJI Frontoffice Noord"].id), "name": "x"},
    )
    assert national.status_code == 200
    revoke = await _post(client, f"/beheer/api-sleutels/{groningen_key.id}/intrekken", {})
    assert revoke.status_code == 404
    user = await _post(
        client,
        "/beheer/gebruikers",
        {
            "name": "Nieuwe collega",
            "email": "nieuw@groningen.example",
            "organisation_id": str(groningen.id),
            "roles": "netwerkpartner",
        },
    )
    assert user.status_code == 400
    assert "Kies de organisatie van deze gebruiker." in user.text
    reprocess = await _post(client, f"/beheer/meldingen/{parked.id}/opnieuw", {})
    assert reprocess.status_code == 404
    chair = await _post(
        client,
        f"/beheer/reeksen/{series.id}",
        {
            "name": series.name,
            "kind": "instroomoverleg",
            "region_id": str(series.region_id),
            "cadence_weeks": "1",
            "weekday": "1",
            "start_time": "10:00",
            "duration_minutes": "90",
            "item_minutes": "4",
            "agenda_lead_hours": "20",
            "chair_id": str(partner.id),  # not a coordinator: never offered as chair
        },
    )
    assert chair.status_code == 400
    assert "Kies de voorzitter uit de lijst." in chair.text
    async with sessions() as s:
        stored_key = await s.get(ApiToken, groningen_key.id)
        stored_notice = await s.get(Notice, parked.id)
        stored_series = await s.get(MeetingSeries, series.id)
    assert stored_key is not None
    assert stored_key.revoked_at is None
    assert stored_notice is not None
    assert stored_notice.status == NoticeStatus.PARKED
    assert stored_series is not None
    assert stored_series.chair_id != partner.id
