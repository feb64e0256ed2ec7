"""The one access policy as a table: users × objects × expected outcome, by page and by API."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.access import visible_cases
from app.accounts.models import User
from app.accounts.principals import principal_for_user
from app.audit import AuditEvent
from app.cases.models import Case, Pairing
from app.db import utcnow
from app.meetings.models import Meeting, MeetingSeries, MeetingStatus
from app.meetings.services import ensure_meetings
from app.reference.models import Region
from tests.conftest import (
    BEHEERDER,
    COORDINATOR_FRL,
    COORDINATOR_GRN,
    GEMEENTE_LWD,
    GGZ_PARTNER,
    PI_CASEMANAGER,
    RECLASSERING,
    api_token,
    login,
)


async def _cases_by_region(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[Case]]:
    async with sessions() as s:
        rows = (await s.scalars(select(Case).join(Region))).unique().all()
        out: dict[str, list[Case]] = {"FRL": [], "GRN": []}
        for case in rows:
            out[case.region.code].append(case)
        return out


# (user, region of the case, expectation); "own" = only cases of their own gemeente
TABLE = [
    (COORDINATOR_FRL, "FRL", "all"),
    (COORDINATOR_FRL, "GRN", "none"),
    (COORDINATOR_GRN, "GRN", "all"),
    (COORDINATOR_GRN, "FRL", "none"),
    (PI_CASEMANAGER, "FRL", "all"),
    (PI_CASEMANAGER, "GRN", "none"),
    (RECLASSERING, "FRL", "all"),
    (RECLASSERING, "GRN", "none"),
    (GGZ_PARTNER, "FRL", "all"),
    (GGZ_PARTNER, "GRN", "none"),
    (GEMEENTE_LWD, "FRL", "own:GM0080"),
    (GEMEENTE_LWD, "GRN", "none"),
    (BEHEERDER, "FRL", "none"),
    (BEHEERDER, "GRN", "none"),
]


def _expected(case: Case, rule: str) -> bool:
    if rule == "all":
        return True
    if rule == "none":
        return False
    code = rule.split(":", 1)[1]
    return code in (case.origin_municipality_code, case.return_municipality_code)


@pytest.mark.parametrize(("email", "region", "rule"), TABLE)
async def test_case_access_table_by_api(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    region: str,
    rule: str,
) -> None:
    cases = (await _cases_by_region(sessions))[region]
    assert cases, "the demo world has cases in both regions"
    headers = await api_token(client, email)
    listed = {c["id"] for c in (await client.get("/api/v1/cases", headers=headers)).json()}
    for case in cases:
        allowed = _expected(case, rule)
        response = await client.get(f"/api/v1/cases/{case.id}", headers=headers)
        assert response.status_code == (200 if allowed else 404), (email, case.reference)
        assert (case.id in listed) == allowed, (email, case.reference)
        if allowed:
            assert response.json()["person"]["last_name"] == case.person.last_name


@pytest.mark.parametrize(
    ("email", "region", "rule"),
    [row for row in TABLE if row[0] in (COORDINATOR_FRL, COORDINATOR_GRN, GEMEENTE_LWD)],
)
async def test_case_access_table_by_page(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    email: str,
    region: str,
    rule: str,
) -> None:
    cases = (await _cases_by_region(sessions))[region]
    await login(client, email)
    listing = (await client.get("/casussen")).text
    for case in cases:
        allowed = _expected(case, rule)
        response = await client.get(f"/casussen/{case.id}")
        assert response.status_code == (200 if allowed else 404), (email, case.reference)
        if allowed:
            assert case.person.full_name in response.text
        else:
            assert case.person.full_name not in response.text
        assert (f'href="/casussen/{case.id}"' in listing) == allowed or listing.count(
            "kt-row-link"
        ) >= 50


async def test_groningen_coordinator_sees_nothing_of_fryslan(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    frl = (await _cases_by_region(sessions))["FRL"]
    headers = await api_token(client, COORDINATOR_GRN)
    for case in frl:
        response = await client.get(f"/api/v1/cases/{case.id}", headers=headers)
        assert response.status_code == 404
        assert case.person.full_name not in response.text
        assert response.json() == {"detail": "Niet gevonden.", "errors": []}
    await login(client, COORDINATOR_GRN)
    for case in frl:
        page = await client.get(f"/casussen/{case.id}")
        assert page.status_code == 404
        assert case.person.full_name not in page.text
    # a case that does not exist answers exactly like one that is not visible
    missing = await client.get("/casussen/999999")
    assert missing.status_code == 404

    def main(html: str) -> str:
        return html.split("<main", 1)[1].split("</main>", 1)[0]

    assert main(missing.text) == main(page.text)


async def test_assignment_grants_access_outside_membership(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    grn_case = (await _cases_by_region(sessions))["GRN"][0]
    headers = await api_token(client, RECLASSERING)
    assert (await client.get(f"/api/v1/cases/{grn_case.id}", headers=headers)).status_code == 404
    async with sessions() as s, s.begin():
        user = (await s.scalars(select(User).where(User.email == RECLASSERING))).one()
        s.add(Pairing(case_id=grn_case.id, external_user_id=user.id))
    assert (await client.get(f"/api/v1/cases/{grn_case.id}", headers=headers)).status_code == 200
    async with sessions() as s, s.begin():
        pairing = (await s.scalars(select(Pairing).where(Pairing.case_id == grn_case.id))).one()
        from app.db import utcnow

        pairing.ended_at = utcnow()
    assert (await client.get(f"/api/v1/cases/{grn_case.id}", headers=headers)).status_code == 404


async def test_anonymous_api_gets_401_and_pages_redirect_to_login(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await _cases_by_region(sessions))["FRL"][0]
    for path in ("/api/v1/cases", f"/api/v1/cases/{case.id}", "/api/v1/me"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["detail"].startswith("Niet ingelogd")
    bad = await client.get("/api/v1/cases", headers={"Authorization": "Bearer kt_verzonnen"})
    assert bad.status_code == 401
    page = await client.get(f"/casussen/{case.id}", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == f"/inloggen?volgende=/casussen/{case.id}"


async def test_session_cookie_is_not_accepted_by_the_api(client: AsyncTestClient[Litestar]) -> None:
    await login(client, COORDINATOR_FRL)
    assert (await client.get("/casussen")).status_code == 200
    assert (await client.get("/api/v1/cases")).status_code == 401


async def test_every_case_view_leaves_an_audit_record(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await _cases_by_region(sessions))["FRL"][0]
    await login(client, COORDINATOR_FRL)
    assert (await client.get(f"/casussen/{case.id}")).status_code == 200
    headers = await api_token(client, PI_CASEMANAGER)
    assert (await client.get(f"/api/v1/cases/{case.id}", headers=headers)).status_code == 200
    refused = await api_token(client, COORDINATOR_GRN)
    assert (await client.get(f"/api/v1/cases/{case.id}", headers=refused)).status_code == 404
    async with sessions() as s:
        events = (
            await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.case_id == case.id, AuditEvent.action == "case.viewed")
                .order_by(AuditEvent.id)
            )
        ).all()
        users: dict[int | None, str] = {
            u.id: u.email for u in (await s.scalars(select(User))).unique().all()
        }
    assert [(e.action, users[e.user_id], e.channel) for e in events] == [
        ("case.viewed", COORDINATOR_FRL, "web"),
        ("case.viewed", PI_CASEMANAGER, "api"),
    ]
    for e in events:
        assert e.case_reference == case.reference
        assert e.person_id == case.person_id
        assert "person.last_name" in e.fields
        assert case.person.last_name not in str(e.fields)
        assert e.ip


async def test_sql_rule_and_single_lookup_agree(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        for email in (COORDINATOR_FRL, GEMEENTE_LWD, RECLASSERING, BEHEERDER):
            user = (await s.scalars(select(User).where(User.email == email))).unique().one()
            p = await principal_for_user(s, user)
            visible = set((await s.scalars(select(Case.id).where(visible_cases(p)))).all())
            everything = set((await s.scalars(select(Case.id))).all())
            assert visible <= everything
            if email == BEHEERDER:
                assert visible == set()


async def test_a_coordinator_sees_every_series_of_their_region_without_taking_part(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A second Fryslân series nobody joined yet: its region's coordinator sees its meeting,
    the other region's coordinator does not."""
    async with sessions() as s, s.begin():
        frl = (await s.scalars(select(Region).where(Region.code == "FRL"))).unique().one()
        series = MeetingSeries(region_id=frl.id, name="Nazorgoverleg Leeuwarden", weekday=3)
        s.add(series)
        await s.flush()
        start = utcnow() + dt.timedelta(days=3)
        meeting = Meeting(
            series_id=series.id,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            status=MeetingStatus.PLANNED,
        )
        s.add(meeting)
    answers = {}
    for email in (COORDINATOR_FRL, COORDINATOR_GRN):
        client.cookies.clear()
        await login(client, email)
        answers[email] = (await client.get(f"/overleggen/{meeting.id}")).status_code
    assert answers == {COORDINATOR_FRL: 200, COORDINATOR_GRN: 404}


async def test_someone_in_no_series_sees_no_meeting(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
    member = await api_token(client, GGZ_PARTNER)
    assert (await client.get("/api/v1/meetings", headers=member)).json()
    beheerder = await api_token(client, BEHEERDER)  # arranges accounts, takes part in no series
    assert (await client.get("/api/v1/meetings", headers=beheerder)).json() == []
