"""The meeting room over HTTP: the chair's controls, closing items (plan version, follow-up), the
case panel, pairing, actions, attendance and minutes."""

from __future__ import annotations

import datetime as dt
import re

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.audit import AuditEvent
from app.cases.models import Case, LeefgebiedStatus, Pairing
from app.collab.models import PlanUpdate
from app.coordination.models import ActionItem, ActionUpdate, PlanVersion
from app.db import utcnow
from app.mail import OutboundMessage
from app.meetings.agenda import build_agenda
from app.meetings.models import AgendaItem, Attendance, ItemStatus, Meeting
from app.meetings.services import ensure_meetings
from app.web import today_local
from tests.conftest import (
    COORDINATOR_FRL,
    COORDINATOR_GRN,
    GEMEENTE_LWD,
    GGZ_PARTNER,
    PI_CASEMANAGER,
    RECLASSERING,
    api_token,
    csrf_of,
    login,
)
from tests.support.notice_helpers import instroom, new_bsn, new_cases

HX = {"HX-Request": "true"}


async def ready_meeting(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> tuple[Meeting, list[AgendaItem]]:
    """The coming Fryslân meeting with its agenda built; its first three items are three new cases
    of this test (entered weeks ago, so first among the instroom items), whatever the date. The
    first and third are residents of Leeuwarden, the second of Súdwest-Fryslân."""
    from app.meetings.models import MeetingSeries
    from app.reference.models import Region

    today = today_local()
    own = await new_cases(
        client,
        sessions,
        [
            instroom(
                f"RM-{n}",
                new_bsn(),
                achternaam=name,
                datum_insluiting=(today - dt.timedelta(days=40 - n)),
                gemeente_code=gemeente,
            )
            for n, (name, gemeente) in enumerate(
                [("Jansma", "GM0080"), ("Terpstra", "GM1900"), ("Feenstra", "GM0080")]
            )
        ],
    )
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
        meeting = (
            (
                await s.scalars(
                    select(Meeting)
                    .join(MeetingSeries)
                    .join(Region)
                    .where(Region.code == "FRL", Meeting.starts_at > utcnow())
                    .order_by(Meeting.starts_at)
                    .limit(1)
                )
            )
            .unique()
            .one()
        )
        await build_agenda(s, meeting)
        items = (
            (
                await s.scalars(
                    select(AgendaItem)
                    .where(AgendaItem.meeting_id == meeting.id)
                    .order_by(AgendaItem.position)
                )
            )
            .unique()
            .all()
        )
    assert [i.case_id for i in items[:3]] == own
    return meeting, list(items)


def post(client: AsyncTestClient[Litestar], path: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data={**(data or {}), "_csrf_token": csrf_of(client)}, headers=HX)


async def test_the_chair_leads_and_closing_an_item_fixes_the_plan_and_the_follow_up(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    assert len(items) >= 3
    await login(client, COORDINATOR_FRL)
    page = await client.get(f"/overleggen/{meeting.id}/overleg")
    assert "Overleg starten" in page.text
    started = await post(client, f"/overleggen/{meeting.id}/overleg/start")
    assert started.status_code == 200
    assert 'aria-current="step"' in started.text
    async with sessions() as s:
        m = await s.get(Meeting, meeting.id)
        assert m is not None
        assert m.status == "bezig"
        assert m.current_item_id == items[0].id
    await post(client, f"/overleggen/{meeting.id}/overleg/volgende")
    await post(client, f"/overleggen/{meeting.id}/overleg/vorige")
    follow = today_local() + dt.timedelta(days=21)
    await post(
        client,
        f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}/besluit",
        {"decision": "Reclassering pakt onderdak op.", "follow_up_on": follow.isoformat()},
    )
    async with sessions() as s, s.begin():
        s.add(
            PlanUpdate(
                case_id=items[0].case_id,
                data=_plan_update("doel", "Werk en onderdak vóór ontslag."),
            )
        )
    closed = await post(client, f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}/besproken")
    assert closed.status_code == 200
    async with sessions() as s:
        item = await s.get(AgendaItem, items[0].id)
        case = await s.get(Case, items[0].case_id)
        version = (
            await s.scalars(select(PlanVersion).where(PlanVersion.case_id == items[0].case_id))
        ).one()
        m = await s.get(Meeting, meeting.id)
    assert item is not None
    assert item.status == ItemStatus.DISCUSSED
    assert item.seconds_spent >= 0
    assert case is not None
    assert case.follow_up_on == follow
    assert case.last_discussed_on == today_local()
    assert version.texts["doel"] == "Werk en onderdak vóór ontslag."
    assert version.meeting_id == meeting.id
    assert m is not None
    assert m.current_item_id == items[1].id
    await post(client, f"/overleggen/{meeting.id}/overleg/punt/{items[1].id}/uitgesteld")
    async with sessions() as s:
        deferred = await s.get(AgendaItem, items[1].id)
    assert deferred is not None
    assert deferred.status == ItemStatus.DEFERRED
    plan_page = await client.get(
        f"/casussen/{items[0].case_id}/plan", params={"versie": str(version.id)}
    )
    assert "Werk en onderdak vóór ontslag." in plan_page.text
    assert "vastgesteld in overleg van" in plan_page.text
    case_page = await client.get(f"/casussen/{items[0].case_id}")
    assert f"/casussen/{items[0].case_id}/plan?versie={version.id}" in case_page.text


def _plan_update(section: str, text: str) -> bytes:
    from pycrdt import Doc, Text

    doc: Doc[Text] = Doc()
    value = doc.get(section, type=Text)
    value += text
    return doc.get_update()


async def test_only_the_chair_leads_and_other_regions_see_nothing(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    await login(client, RECLASSERING)
    assert (await client.get(f"/overleggen/{meeting.id}/overleg")).status_code == 200
    assert (await post(client, f"/overleggen/{meeting.id}/overleg/start")).status_code == 403
    assert (
        await post(client, f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}/besproken")
    ).status_code == 403
    client.cookies.clear()
    await login(client, COORDINATOR_GRN)
    for path in (
        f"/overleggen/{meeting.id}/overleg",
        f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}",
        f"/overleggen/{meeting.id}/gebeurtenissen",
    ):
        assert (await client.get(path)).status_code == 404, path


async def test_case_panel_shows_the_case_to_those_who_may_see_it(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    async with sessions() as s:
        cases = {
            c.id: c
            for c in (await s.scalars(select(Case).where(Case.id.in_([i.case_id for i in items]))))
            .unique()
            .all()
        }
    await login(client, GGZ_PARTNER)
    panel = await client.get(f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}", headers=HX)
    case = cases[items[0].case_id]
    assert case.person.full_name in panel.text
    assert f'data-plan-editor data-case="{case.id}"' in panel.text
    assert "Besproken" not in panel.text  # partners do not get the chair's buttons
    client.cookies.clear()

    await login(client, GEMEENTE_LWD)
    for item in items:
        view = await client.get(f"/overleggen/{meeting.id}/overleg/punt/{item.id}", headers=HX)
        own = "GM0080" in (
            cases[item.case_id].origin_municipality_code,
            cases[item.case_id].return_municipality_code,
        )
        assert (cases[item.case_id].person.full_name in view.text) is own
        if not own:
            assert "niet zichtbaar voor uw organisatie" in view.text


async def test_opening_a_case_in_the_room_is_audited_and_a_hidden_one_is_not(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    resident, elsewhere = items[0], items[1]  # of Leeuwarden, of Súdwest-Fryslân
    await login(client, GEMEENTE_LWD)
    for item in (resident, elsewhere):
        panel = await client.get(f"/overleggen/{meeting.id}/overleg/punt/{item.id}", headers=HX)
        assert panel.status_code == 200
    async with sessions() as s:
        gemeente = (await s.scalars(select(User).where(User.email == GEMEENTE_LWD))).unique().one()
        viewed = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "case.viewed", AuditEvent.user_id == gemeente.id
                )
            )
        ).all()
    assert [e.case_id for e in viewed] == [resident.case_id]  # the hidden case was not shown
    assert {"person.last_name", "plan"} <= set(viewed[0].fields)


async def test_pairing_suggestions_are_ranked_and_confirming_keeps_history_and_notifies(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    case_id = items[0].case_id
    async with sessions() as s, s.begin():
        s.add(LeefgebiedStatus(case_id=case_id, key="onderdak", status="probleem"))
        s.add(LeefgebiedStatus(case_id=case_id, key="sociaal_netwerk", status="actie_nodig"))
        users = {u.email: u for u in (await s.scalars(select(User))).unique().all()}
        # Both reclasseringen work on these leefgebieden; room under the caseload norm decides:
        # Leger des Heils' casemanager has none of the demo's cases left, Reclassering's has one.
        ruben, fatima = users["casemanager@leger-des-heils.example"], users[RECLASSERING]
        await s.execute(
            update(Pairing)
            .where(Pairing.external_user_id.in_([ruben.id, fatima.id]))
            .values(ended_at=utcnow())
        )
        s.add(Pairing(case_id=items[1].case_id, external_user_id=fatima.id))
    await login(client, COORDINATOR_FRL)
    fragment = await client.get(
        f"/casussen/{case_id}/koppeling", params={"meeting_id": str(meeting.id)}
    )
    names = re.findall(r"Koppel ([^<]+)</button>", fragment.text)
    assert names[:2] == ["Ruben Kramer", "Fatima El Amrani"]
    assert "werkt aan onderdak / huisvesting, sociaal netwerk" in fragment.text
    assert "0 van ongeveer 30 casussen" in fragment.text
    assert "1 van ongeveer 30 casussen" in fragment.text
    first = await post(
        client,
        f"/casussen/{case_id}/koppeling",
        {
            "external_user_id": str(users["casemanager@leger-des-heils.example"].id),
            "meeting_id": str(meeting.id),
        },
    )
    assert "Koppeling vastgelegd" in first.text
    await post(
        client,
        f"/casussen/{case_id}/koppeling",
        {"external_user_id": str(users[RECLASSERING].id), "meeting_id": str(meeting.id)},
    )
    async with sessions() as s:
        pairings = (
            (
                await s.scalars(
                    select(Pairing).where(Pairing.case_id == case_id).order_by(Pairing.id)
                )
            )
            .unique()
            .all()
        )
        mails = (
            await s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "paired"))
        ).all()
        case = await s.get(Case, case_id)
    assert [p.external_user_id for p in pairings] == [
        users["casemanager@leger-des-heils.example"].id,
        users[RECLASSERING].id,
    ]
    assert pairings[0].ended_at is not None
    assert pairings[1].ended_at is None
    assert {m.recipient for m in mails} >= {"casemanager@leger-des-heils.example", RECLASSERING}
    assert case is not None
    assert all(case.person.last_name not in m.body_text for m in mails)
    # the newly paired casemanager now sees the case through the pairing
    headers = await api_token(client, RECLASSERING)
    assert (await client.get(f"/api/v1/cases/{case_id}", headers=headers)).json()["pairing"][
        "external"
    ]["name"] == "Fatima El Amrani"
    client.cookies.clear()
    await login(client, GGZ_PARTNER)
    assert (
        await post(
            client,
            f"/casussen/{case_id}/koppeling",
            {"external_user_id": str(users[RECLASSERING].id)},
        )
    ).status_code == 404


async def test_actions_are_created_inline_and_changed_by_owner_or_coordinator(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    case_id = items[0].case_id
    async with sessions() as s:
        users = {u.email: u for u in (await s.scalars(select(User))).unique().all()}
    await login(client, GGZ_PARTNER)
    bad = await post(
        client,
        f"/casussen/{case_id}/acties",
        {
            "leefgebied": "onderdak",
            "description": "",
            "owner": "x",
            "due_on": "morgen",
            "meeting_id": str(meeting.id),
        },
    )
    assert bad.status_code == 400
    assert "Beschrijf de actie" in bad.text
    assert "Kies wie de actie uitvoert" in bad.text
    assert "Vul een datum in als JJJJ-MM-DD." in bad.text
    due = (today_local() + dt.timedelta(days=7)).isoformat()
    made = await post(
        client,
        f"/casussen/{case_id}/acties",
        {
            "leefgebied": "onderdak",
            "description": "Aanmelden bij nachtopvang <script>alert(1)</script>",
            "owner": f"u{users[RECLASSERING].id}",
            "due_on": due,
            "meeting_id": str(meeting.id),
        },
    )
    assert made.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in made.text
    assert "<script>alert(1)" not in made.text
    async with sessions() as s:
        action = (
            (await s.scalars(select(ActionItem).where(ActionItem.case_id == case_id)))
            .unique()
            .one()
        )
    assert action.meeting_id == meeting.id
    assert action.due_on is not None
    assert action.due_on.isoformat() == due
    # the GGZ partner is not the owner: cannot change it
    assert (await post(client, f"/acties/{action.id}", {"status": "gereed"})).status_code == 404
    client.cookies.clear()
    await login(client, RECLASSERING)
    assert (
        await post(
            client, f"/acties/{action.id}", {"status": "bezig", "note": "Gebeld, wachtlijst"}
        )
    ).status_code == 200
    client.cookies.clear()
    await login(client, COORDINATOR_FRL)
    assert (await post(client, f"/acties/{action.id}", {"status": "gereed"})).status_code == 200
    async with sessions() as s:
        action = await s.get(ActionItem, action.id)  # type: ignore[assignment]
        history = (
            (
                await s.scalars(
                    select(ActionUpdate)
                    .where(ActionUpdate.action_id == action.id)
                    .order_by(ActionUpdate.id)
                )
            )
            .unique()
            .all()
        )
    assert action.status == "gereed"
    assert action.completed_at is not None
    assert [c["new"] for h in history for c in h.changes] == ["open", "bezig", "gereed"]
    assert history[1].note == "Gebeld, wachtlijst"
    headers = await api_token(client, PI_CASEMANAGER)
    api_actions = (await client.get(f"/api/v1/cases/{case_id}", headers=headers)).json()["actions"]
    assert api_actions[0]["status"] == "gereed"
    assert api_actions[0]["owner"].startswith("Fatima El Amrani")


async def test_attendance_and_minutes_are_closed_and_sent_without_personal_data(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting, items = await ready_meeting(client, sessions)
    async with sessions() as s:
        users = {u.email: u for u in (await s.scalars(select(User))).unique().all()}
        cases = (
            (await s.scalars(select(Case).where(Case.id.in_([i.case_id for i in items]))))
            .unique()
            .all()
        )
    await login(client, COORDINATOR_FRL)
    await post(client, f"/overleggen/{meeting.id}/overleg/start")
    presence = await post(
        client,
        f"/overleggen/{meeting.id}/overleg/aanwezigheid",
        {"user_id": str(users[RECLASSERING].id), "mode": "online"},
    )
    assert presence.status_code == 200
    assert (
        await post(
            client,
            f"/overleggen/{meeting.id}/overleg/aanwezigheid",
            {"user_id": str(users[RECLASSERING].id), "mode": "dansvloer"},
        )
    ).status_code == 400
    await post(
        client,
        f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}/besluit",
        {"decision": "Doorverwijzen naar schuldhulp.", "follow_up_on": ""},
    )
    await post(client, f"/overleggen/{meeting.id}/overleg/punt/{items[0].id}/besproken")
    minutes = await client.get(f"/overleggen/{meeting.id}/besluitenlijst")
    assert "Doorverwijzen naar schuldhulp." in minutes.text
    assert "Fatima El Amrani (Reclassering Nederland): online" in minutes.text
    closed = await client.post(
        f"/overleggen/{meeting.id}/besluitenlijst",
        data={
            "note": "Volgende keer in Heerenveen.",
            "vaststellen": "1",
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert closed.status_code == 303
    async with sessions() as s:
        m = await s.get(Meeting, meeting.id)
        mails = (
            await s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "minutes"))
        ).all()
        attendance = (
            (await s.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)))
            .unique()
            .all()
        )
    assert m is not None
    assert m.minutes_closed_at is not None
    assert m.status == "afgerond"
    assert len(mails) == 8
    assert len(attendance) == 1
    for mail in mails:
        assert items[0].case.reference in mail.body_text
        for case in cases:
            assert case.person.last_name not in mail.body_text
            assert case.person.last_name not in mail.body_html
        assert "Doorverwijzen" not in mail.body_text  # decisions stay in the app
