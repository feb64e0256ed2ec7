"""The case list (filters, search, htmx fragment) and the read-only case page."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditEvent
from app.cases.models import Case, CaseStatus
from app.reference.models import Region
from tests.conftest import COORDINATOR_FRL, GGZ_PARTNER, api_token, login


async def _frl_cases(sessions: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with sessions() as s:
        return list(
            (
                await s.scalars(
                    select(Case).join(Region).where(Region.code == "FRL").order_by(Case.id)
                )
            )
            .unique()
            .all()
        )


async def test_case_list_searches_by_name_and_filters_by_status(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    cases = await _frl_cases(sessions)
    target = cases[3]
    await login(client, COORDINATOR_FRL)
    page = await client.get("/casussen", params={"q": target.person.last_name.lower()})
    assert target.reference in page.text
    assert "gevonden" in page.text
    open_only = await client.get("/casussen", params={"status": "open"})
    for case in cases:
        shown = f'href="/casussen/{case.id}"' in open_only.text
        assert shown == (case.status == CaseStatus.OPEN)


async def test_search_by_bsn_is_for_coordinators_and_casemanagers_only(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    target = (await _frl_cases(sessions))[0]
    await login(client, COORDINATOR_FRL)
    found = await client.get("/casussen", params={"q": target.person.bsn})
    assert f'href="/casussen/{target.id}"' in found.text
    assert "1 casus gevonden" in found.text
    client.cookies.clear()
    await login(client, GGZ_PARTNER)
    not_found = await client.get("/casussen", params={"q": target.person.bsn})
    assert f'href="/casussen/{target.id}"' not in not_found.text
    async with sessions() as s:
        searches = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "cases.searched"))
        ).all()
    assert len(searches) == 2
    assert all(target.person.bsn not in str(e.fields) for e in searches)


async def test_case_list_answers_htmx_with_the_fragment_only(
    client: AsyncTestClient[Litestar],
) -> None:
    await login(client, COORDINATOR_FRL)
    full = await client.get("/casussen")
    fragment = await client.get("/casussen", headers={"HX-Request": "true"})
    assert "<html" in full.text
    assert "<html" not in fragment.text
    assert 'id="case-count"' in fragment.text


async def test_case_page_shows_person_detention_and_masks_bsn_for_partners(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await _frl_cases(sessions))[0]
    await login(client, COORDINATOR_FRL)
    page = await client.get(f"/casussen/{case.id}")
    assert case.person.full_name in page.text
    assert case.person.bsn in page.text
    assert case.periods[-1].institution_label in page.text
    client.cookies.clear()
    await login(client, GGZ_PARTNER)
    partner_view = await client.get(f"/casussen/{case.id}")
    assert case.person.full_name in partner_view.text
    assert case.person.bsn not in partner_view.text
    assert "•••••" + case.person.bsn[-4:] in partner_view.text


async def test_case_api_answers_as_documented(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = (await _frl_cases(sessions))[0]
    headers = await api_token(client, COORDINATOR_FRL)
    listed = (await client.get("/api/v1/cases", headers=headers, params={"status": "open"})).json()
    assert all(set(row) == {"id", "reference", "region", "status"} for row in listed)
    assert all(row["status"] == "open" and row["region"] == "Fryslân" for row in listed)
    body = (await client.get(f"/api/v1/cases/{case.id}", headers=headers)).json()
    assert body["reference"] == case.reference
    assert body["person"] == {
        "first_names": case.person.first_names,
        "prefix": case.person.prefix,
        "last_name": case.person.last_name,
        "birth_date": case.person.birth_date.isoformat(),
    }
    assert set(body["detention"]) >= {
        "institution",
        "entered_on",
        "expected_release_on",
        "released_on",
    }
    assert set(body["pairing"]) >= {"internal", "external"}
    assert "leefgebieden" in body
    assert "actions" in body
    assert "bsn" not in str(body)
