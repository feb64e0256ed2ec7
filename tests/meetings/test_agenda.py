"""Meetings and agendas: cadence, the agenda builder's due rules, the chair's choices, the API."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from pathlib import Path
from typing import cast

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Case
from app.db import utcnow
from app.mail import OutboundMessage, deliver_pending
from app.meetings.agenda import add_working_days, build_agenda
from app.meetings.jobs import build_agendas_job, ensure_meetings_job
from app.meetings.models import AgendaItem, ItemStatus, Meeting, MeetingSeries, MeetingStatus
from app.meetings.services import AMSTERDAM, ensure_meetings
from app.reference.models import Region
from app.web import today_local
from tests.conftest import (
    COORDINATOR_FRL,
    COORDINATOR_GRN,
    GEMEENTE_LWD,
    GGZ_PARTNER,
    api_token,
    csrf_of,
    login,
    settings_for,
)
from tests.support.notice_helpers import api_key, instroom, new_bsn, new_cases


async def next_meeting(sessions: async_sessionmaker[AsyncSession], region: str = "FRL") -> Meeting:
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
    async with sessions() as s:
        return (
            (
                await s.scalars(
                    select(Meeting)
                    .join(MeetingSeries)
                    .join(Region)
                    .where(
                        Region.code == region,
                        Meeting.starts_at > utcnow(),
                        Meeting.status != MeetingStatus.CANCELLED,
                    )
                    .order_by(Meeting.starts_at)
                    .limit(1)
                )
            )
            .unique()
            .one()
        )


async def notices(
    client: AsyncTestClient[Litestar], headers: dict[str, str], records: list[dict[str, str]]
) -> list[int]:
    body = (await client.post("/api/v1/notices", json=records, headers=headers)).json()
    assert body["rejected"] == 0, body
    return [r["case_id"] for r in body["results"]]


async def discussed(
    sessions: async_sessionmaker[AsyncSession],
    case_ids: list[int],
    reason: str = "instroom",
    region: str = "FRL",
) -> None:
    """Mark cases as discussed at a past meeting of their region's series."""
    async with sessions() as s, s.begin():
        series = (
            (await s.scalars(select(MeetingSeries).join(Region).where(Region.code == region)))
            .unique()
            .one()
        )
        start = utcnow() - dt.timedelta(days=30)
        meeting = Meeting(
            series_id=series.id,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            status=MeetingStatus.FINISHED,
        )
        s.add(meeting)
        await s.flush()
        for i, case_id in enumerate(case_ids):
            s.add(
                AgendaItem(
                    meeting_id=meeting.id,
                    case_id=case_id,
                    reason=reason,
                    position=i + 1,
                    status=ItemStatus.DISCUSSED,
                )
            )


async def agenda_of(
    client: AsyncTestClient[Litestar],
    headers: dict[str, str],
    meeting_id: int,
    generate: bool = False,
) -> dict:
    if generate:
        response = await client.post(
            f"/api/v1/meetings/{meeting_id}/agenda/generate", headers=headers
        )
    else:
        response = await client.get(f"/api/v1/meetings/{meeting_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_agenda_holds_exactly_the_due_cases_for_their_reasons(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    day = meeting.starts_at.astimezone(AMSTERDAM).date()
    key = await api_key(sessions)
    old = (today_local() - dt.timedelta(days=90)).isoformat()
    new_case, releasing, far, follow, moved, groningen = await notices(
        client,
        key,
        [
            instroom(
                "AG-1",
                new_bsn(),
                datum_insluiting=(today_local() - dt.timedelta(days=2)).isoformat(),
            ),
            instroom(
                "AG-2",
                new_bsn(),
                datum_insluiting=old,
                verwachte_einddatum=(day + dt.timedelta(days=10)).isoformat(),
            ),
            instroom(
                "AG-3",
                new_bsn(),
                datum_insluiting=old,
                verwachte_einddatum=(day + dt.timedelta(days=200)).isoformat(),
            ),
            instroom("AG-4", new_bsn(), datum_insluiting=old, verwachte_einddatum=""),
            instroom("AG-5", (b5 := new_bsn()), datum_insluiting=old, verwachte_einddatum=""),
            instroom("AG-6", new_bsn(), gemeente_code="GM0014"),
        ],
    )
    await discussed(sessions, [releasing, far, follow, moved])
    async with sessions() as s, s.begin():
        case = await s.get(Case, follow)
        case.follow_up_on = day - dt.timedelta(days=1)  # type: ignore[union-attr]
    await notices(
        client,
        key,
        [
            {
                "melding_id": "AG-7",
                "soort": "overplaatsing",
                "bsn": b5,
                "achternaam": "Jansma",
                "geboortedatum": "1988-04-12",
                "inrichting": "PI Zwolle",
            }
        ],
    )
    chair = await api_token(client, COORDINATOR_FRL)
    agenda = (await agenda_of(client, chair, meeting.id, generate=True))["agenda"]
    reasons = {item["case_id"]: item["reason"] for item in agenda}
    assert reasons[new_case] == "instroom"
    assert reasons[releasing] == "uitstroom"
    assert reasons[follow] == "vervolg"
    assert reasons[moved] == "doorstroom"
    assert far not in reasons
    assert groningen not in reasons
    assert not any(item["hidden"] for item in agenda)
    assert len(reasons) == len(agenda)  # each case once
    assert [item["position"] for item in agenda] == list(range(1, len(agenda) + 1))
    order = [
        list(reasons.values()).index(r) for r in ("instroom", "doorstroom", "uitstroom", "vervolg")
    ]
    assert order == sorted(order)  # grouped by reason in this order
    # no case of another region, ever
    async with sessions() as s:
        regions = set(
            (
                await s.scalars(select(Region.code).join(Case).where(Case.id.in_(list(reasons))))
            ).all()
        )
    assert regions == {"FRL"}
    # regenerating changes nothing
    again = (await agenda_of(client, chair, meeting.id, generate=True))["agenda"]
    assert again == agenda


async def test_doorstroom_and_vervolg_of_another_regions_cases_stay_on_their_own_agenda(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Groningen cases due for doorstroom and vervolg: on Groningen's agenda, never on Fryslân's."""
    frl, grn = await next_meeting(sessions, "FRL"), await next_meeting(sessions, "GRN")
    key = await api_key(sessions)
    old = (today_local() - dt.timedelta(days=90)).isoformat()
    moved, follow = await notices(
        client,
        key,
        [
            instroom("GD-1", (bsn := new_bsn()), gemeente_code="GM0014", datum_insluiting=old),
            instroom("GD-2", new_bsn(), gemeente_code="GM0014", datum_insluiting=old),
        ],
    )
    await discussed(sessions, [moved, follow], region="GRN")
    async with sessions() as s, s.begin():
        case = await s.get(Case, follow)
        assert case is not None
        case.follow_up_on = grn.starts_at.astimezone(AMSTERDAM).date() - dt.timedelta(days=1)
    await notices(
        client,
        key,
        [
            {
                "melding_id": "GD-3",
                "soort": "overplaatsing",
                "bsn": bsn,
                "achternaam": "Jansma",
                "geboortedatum": "1988-04-12",
                "inrichting": "PI Zwolle",
            }
        ],
    )
    fryslan = await api_token(client, COORDINATOR_FRL)
    await agenda_of(client, fryslan, frl.id, generate=True)
    async with sessions() as s:  # the database, not the API: it hides other regions' case ids
        here = set(
            (
                await s.scalars(select(AgendaItem.case_id).where(AgendaItem.meeting_id == frl.id))
            ).all()
        )
    assert here  # Fryslân's own cases are due
    assert moved not in here
    assert follow not in here
    groningen = await api_token(client, COORDINATOR_GRN)
    there = {
        i["case_id"]: i["reason"]
        for i in (await agenda_of(client, groningen, grn.id, generate=True))["agenda"]
    }
    assert there[moved] == "doorstroom"
    assert there[follow] == "vervolg"


async def test_an_item_the_chair_removed_stays_away_when_its_case_is_due_again(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    day = meeting.starts_at.astimezone(AMSTERDAM).date()
    old = (today_local() - dt.timedelta(days=90)).isoformat()
    [case_id] = await notices(
        client, await api_key(sessions), [instroom("RA-1", new_bsn(), datum_insluiting=old)]
    )
    await discussed(sessions, [case_id])

    async def follow_up(on: dt.date | None) -> list[dict]:
        async with sessions() as s, s.begin():
            case = await s.get(Case, case_id)
            assert case is not None
            case.follow_up_on = on
        return list((await agenda_of(client, chair, meeting.id, generate=True))["agenda"])

    chair = await api_token(client, COORDINATOR_FRL)
    due = await follow_up(day - dt.timedelta(days=1))
    [item] = [i for i in due if i["case_id"] == case_id]
    await login(client, COORDINATOR_FRL)
    removed = await client.post(
        f"/overleggen/{meeting.id}/agenda/{item['id']}/verwijderen",
        data={"_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    assert removed.status_code == 200
    assert case_id not in [i["case_id"] for i in await follow_up(None)]  # no longer due
    assert case_id not in [i["case_id"] for i in await follow_up(day)]  # due again: still away
    async with sessions() as s:
        rows = (
            await s.scalars(
                select(AgendaItem).where(
                    AgendaItem.meeting_id == meeting.id, AgendaItem.case_id == case_id
                )
            )
        ).all()
    assert [(r.id, r.removed) for r in rows] == [(item["id"], True)]


async def test_regenerating_keeps_the_chairs_choices(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    await login(client, COORDINATOR_FRL)
    page = await client.post(
        f"/overleggen/{meeting.id}/agenda/opbouwen",
        data={"_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 200
    ids = re.findall(r'id="item-(\d+)"', page.text)
    assert len(ids) >= 3
    removed, moved = ids[0], ids[-1]
    await client.post(
        f"/overleggen/{meeting.id}/agenda/{removed}/verwijderen",
        data={"_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    moved_page = await client.post(
        f"/overleggen/{meeting.id}/agenda/{moved}/omhoog",
        data={"_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    assert "kt-focus" in moved_page.headers["HX-Trigger-After-Settle"]
    async with sessions() as s:
        extra = (
            (
                await s.scalars(
                    select(Case)
                    .join(Region)
                    .where(
                        Region.code == "FRL",
                        Case.id.not_in(
                            select(AgendaItem.case_id).where(AgendaItem.meeting_id == meeting.id)
                        ),
                    )
                )
            )
            .unique()
            .first()
        )
    assert extra is not None
    added = await client.post(
        f"/overleggen/{meeting.id}/agenda/toevoegen",
        data={"case_id": str(extra.id), "reason": "overig", "_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    assert f"{extra.reference} toegevoegd aan de agenda." in added.text
    chair = await api_token(client, COORDINATOR_FRL)
    before = (await agenda_of(client, chair, meeting.id))["agenda"]
    after = (await agenda_of(client, chair, meeting.id, generate=True))["agenda"]
    assert after == before
    assert int(removed) not in [i["id"] for i in after]
    assert any(i["case_id"] == extra.id and i["reason"] == "overig" for i in after)
    positions = [i["id"] for i in after]
    assert positions.index(int(moved)) == len(ids) - 3  # one up from last; one removed before it


async def test_deferred_items_return_at_the_next_meeting(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    key = await api_key(sessions)
    [case_id] = await notices(
        client,
        key,
        [
            instroom(
                "DF-1",
                new_bsn(),
                datum_insluiting=(today_local() - dt.timedelta(days=60)).isoformat(),
            )
        ],
    )
    await discussed(sessions, [case_id])
    async with sessions() as s, s.begin():
        previous = (
            (
                await s.scalars(
                    select(Meeting)
                    .where(
                        Meeting.series_id == meeting.series_id,
                        Meeting.starts_at < meeting.starts_at,
                    )
                    .order_by(Meeting.starts_at.desc())
                    .limit(1)
                )
            )
            .unique()
            .one()
        )
        s.add(
            AgendaItem(
                meeting_id=previous.id,
                case_id=case_id,
                reason="uitstroom",
                position=99,
                status=ItemStatus.DEFERRED,
            )
        )
    chair = await api_token(client, COORDINATOR_FRL)
    agenda = (await agenda_of(client, chair, meeting.id, generate=True))["agenda"]
    assert any(i["case_id"] == case_id and i["reason"] == "uitstroom" for i in agenda)


async def test_only_the_chair_builds_and_other_regions_see_nothing(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    partner = await api_token(client, GGZ_PARTNER)
    refused = await client.post(f"/api/v1/meetings/{meeting.id}/agenda/generate", headers=partner)
    assert refused.status_code == 403
    assert (await client.get(f"/api/v1/meetings/{meeting.id}", headers=partner)).status_code == 200
    other = await api_token(client, COORDINATOR_GRN)
    assert (await client.get(f"/api/v1/meetings/{meeting.id}", headers=other)).status_code == 404
    assert (
        await client.post(f"/api/v1/meetings/{meeting.id}/agenda/generate", headers=other)
    ).status_code == 404
    listed = (await client.get("/api/v1/meetings", headers=other)).json()
    assert listed
    assert all(m["series"]["region"] == "Groningen" for m in listed)


async def test_a_gemeente_sees_only_its_own_residents_on_the_agenda(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    chair = await api_token(client, COORDINATOR_FRL)
    full = (await agenda_of(client, chair, meeting.id, generate=True))["agenda"]
    gemeente = await api_token(client, GEMEENTE_LWD)
    seen = (await agenda_of(client, gemeente, meeting.id))["agenda"]
    assert [i["id"] for i in seen] == [i["id"] for i in full]
    async with sessions() as s:
        codes = dict(
            (
                await s.execute(
                    select(Case.id, Case.return_municipality_code).where(
                        Case.id.in_([i["case_id"] for i in full])
                    )
                )
            ).all()
        )
    for mine, theirs in zip(seen, full, strict=True):
        own = codes[theirs["case_id"]] == "GM0080"
        assert mine["hidden"] is not own
        assert (mine["case_id"] == theirs["case_id"]) is own
    await login(client, GEMEENTE_LWD)
    page = await client.get(f"/overleggen/{meeting.id}")
    async with sessions() as s:
        names = {
            c.id: c.person.full_name
            for c in (await s.scalars(select(Case).where(Case.id.in_(list(codes))))).unique().all()
        }
    for case_id, code in codes.items():
        assert (names[case_id] in page.text) == (code == "GM0080")


async def test_meetings_api_filters_by_date_and_answers_as_documented(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    headers = await api_token(client, COORDINATOR_FRL)
    day = meeting.starts_at.astimezone(AMSTERDAM).date()
    listed = (
        await client.get(
            "/api/v1/meetings",
            params={"from": day.isoformat(), "to": day.isoformat()},
            headers=headers,
        )
    ).json()
    assert [m["id"] for m in listed] == [meeting.id]
    assert listed[0]["series"] == {
        "id": meeting.series_id,
        "name": "Instroomoverleg Fryslân",
        "region": "Fryslân",
    }
    weeks = (
        await client.get(
            "/api/v1/meetings",
            params={"from": day.isoformat(), "to": (day + dt.timedelta(days=27)).isoformat()},
            headers=headers,
        )
    ).json()
    assert len(weeks) == 4  # weekly on Tuesdays, made ahead of time
    detail = await agenda_of(client, headers, meeting.id, generate=True)
    assert set(detail) >= {"id", "series", "starts_at", "ends_at", "status", "agenda"}
    assert all(set(i) >= {"id", "case_id", "reason", "position"} for i in detail["agenda"])
    bad = await client.get("/api/v1/meetings", params={"from": "volgende week"}, headers=headers)
    assert bad.status_code == 400
    assert "JJJJ-MM-DD" in bad.json()["detail"]


async def test_publishing_tells_every_participant_without_personal_data(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    database_url: str,
) -> None:
    meeting = await next_meeting(sessions)
    await login(client, COORDINATOR_FRL)
    page = await client.post(
        f"/overleggen/{meeting.id}/agenda/publiceren",
        data={"_csrf_token": csrf_of(client)},
        headers={"HX-Request": "true"},
    )
    assert "Agenda gepubliceerd; 8 deelnemers krijgen bericht." in page.text
    settings = settings_for(database_url, tmp_path)
    async with sessions() as s:
        sent = await deliver_pending(s, settings)
        cases = (await s.scalars(select(Case))).unique().all()
        queued = (await s.scalars(select(OutboundMessage))).all()
    assert sent == 8
    files = sorted(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 8
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"].startswith("Agenda Instroomoverleg Fryslân")
    body = "".join(
        cast(bytes, part.get_payload(decode=True)).decode()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
    assert f"/overleggen/{meeting.id}" in body
    for case in cases:
        assert case.person.last_name not in body
        assert case.person.bsn not in body
    async with sessions() as s:
        assert await deliver_pending(s, settings) == 0  # delivered once
    assert len(queued) == 8


async def test_series_keep_their_coming_meetings_and_drop_ones_off_cadence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ctx = {"session_factory": sessions}
    await ensure_meetings_job(ctx)
    assert await ensure_meetings_job(ctx) == 0  # a second run finds nothing to add
    async with sessions() as s:
        series = (
            (await s.scalars(select(MeetingSeries).join(Region).where(Region.code == "FRL")))
            .unique()
            .one()
        )
        upcoming = (
            (
                await s.scalars(
                    select(Meeting).where(
                        Meeting.series_id == series.id, Meeting.starts_at > utcnow()
                    )
                )
            )
            .unique()
            .all()
        )
    assert len(upcoming) >= 7
    assert all(m.starts_at.astimezone(AMSTERDAM).weekday() == 1 for m in upcoming)
    assert all(m.starts_at.astimezone(AMSTERDAM).time() == dt.time(10, 0) for m in upcoming)
    async with sessions() as s, s.begin():
        stored = await s.get(MeetingSeries, series.id)
        assert stored is not None
        stored.cadence_weeks = 2
        stored.anchor_on = upcoming[0].starts_at.astimezone(AMSTERDAM).date()
    await ensure_meetings_job(ctx)
    async with sessions() as s:
        statuses = [
            m.status
            for m in (
                await s.scalars(
                    select(Meeting)
                    .where(Meeting.series_id == series.id, Meeting.starts_at > utcnow())
                    .order_by(Meeting.starts_at)
                )
            )
            .unique()
            .all()
        ]
    assert statuses[:4] == ["gepland", "geannuleerd", "gepland", "geannuleerd"]


async def test_agendas_build_themselves_within_the_lead_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    meeting = await next_meeting(sessions)
    early = {"session_factory": sessions, "now": meeting.starts_at - dt.timedelta(hours=30)}
    assert await build_agendas_job(early) == 0
    due = {"session_factory": sessions, "now": meeting.starts_at - dt.timedelta(hours=19)}
    assert await build_agendas_job(due) >= 1
    async with sessions() as s:
        built = await s.get(Meeting, meeting.id)
        count = await s.scalar(
            select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
        )
    assert built is not None
    assert built.agenda_built_at is not None
    assert count
    assert count > 0
    assert await build_agendas_job(due) == 0


def test_screening_deadline_counts_dutch_working_days() -> None:
    assert add_working_days(dt.date(2026, 11, 20), 10) == dt.date(2026, 12, 4)  # two weekends
    assert add_working_days(dt.date(2026, 12, 23), 2) == dt.date(
        2026, 12, 28
    )  # Christmas days skipped
    assert add_working_days(dt.date(2026, 12, 23), 3) == dt.date(2026, 12, 29)
    # Koningsdag on a Tuesday is skipped; in 2031 the 27th is a Sunday, so Koningsdag is Saturday
    # the 26th and the Monday after is an ordinary working day.
    assert add_working_days(dt.date(2027, 4, 26), 1) == dt.date(2027, 4, 28)
    assert add_working_days(dt.date(2031, 4, 25), 1) == dt.date(2031, 4, 28)
    assert add_working_days(dt.date(2031, 4, 25), 2) == dt.date(2031, 4, 29)


async def test_agenda_page_and_fragment(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    meeting = await next_meeting(sessions)
    await new_cases(client, sessions, [instroom("PF-1", new_bsn())])  # a new case: screening due
    async with sessions() as s, s.begin():
        await build_agenda(s, (await s.get(Meeting, meeting.id)))  # type: ignore[arg-type]
    await login(client, COORDINATOR_FRL)
    full = await client.get(f"/overleggen/{meeting.id}")
    fragment = await client.get(f"/overleggen/{meeting.id}", headers={"HX-Request": "true"})
    assert "<html" in full.text
    assert "<html" not in fragment.text
    assert 'id="agenda"' in fragment.text
    assert "screening en eerste contact uiterlijk" in full.text
    listing = await client.get("/overleggen")
    assert f'href="/overleggen/{meeting.id}"' in listing.text
