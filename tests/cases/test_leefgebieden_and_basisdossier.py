"""The case page: leefgebied statuses, the basisdossier (with need-to-know care notes), notice history."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditEvent
from app.cases import leefgebieden
from app.cases.models import BasisdossierEntry, Case, LeefgebiedStatus
from app.reference.models import Organisation
from tests.conftest import (
    COORDINATOR_FRL,
    GEMEENTE_LWD,
    GGZ_PARTNER,
    PI_CASEMANAGER,
    RECLASSERING,
    api_token,
    csrf_of,
    login,
)
from tests.support.notice_helpers import instroom, new_bsn, new_cases


async def frl_case(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> Case:
    """A new, unpaired Fryslân case of a resident of Súdwest-Fryslân (not of Leeuwarden)."""
    [case_id] = await new_cases(
        client, sessions, [instroom("CP-1", new_bsn(), gemeente_code="GM1900")]
    )
    async with sessions() as s:
        return (await s.scalars(select(Case).where(Case.id == case_id))).unique().one()


async def test_leefgebied_status_is_saved_inline_and_audited(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(client, sessions)
    await login(client, RECLASSERING)
    response = await client.post(
        f"/casussen/{case.id}/leefgebieden/onderdak",
        data={
            "status": "actie_nodig",
            "note": "Geen adres na ontslag",
            "_csrf_token": csrf_of(client),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Opgeslagen" in response.text
    assert 'value="actie_nodig" selected' in response.text
    bad = await client.post(
        f"/casussen/{case.id}/leefgebieden/onderdak",
        data={"status": "prima", "_csrf_token": csrf_of(client)},
    )
    assert bad.status_code == 400
    unknown = await client.post(
        f"/casussen/{case.id}/leefgebieden/paarden",
        data={"status": "probleem", "_csrf_token": csrf_of(client)},
    )
    assert unknown.status_code == 404
    async with sessions() as s:
        row = (
            await s.scalars(
                select(LeefgebiedStatus).where(
                    LeefgebiedStatus.case_id == case.id, LeefgebiedStatus.key == "onderdak"
                )
            )
        ).one()
        events = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.case_id == case.id, AuditEvent.action == "case.leefgebied_updated"
                )
            )
        ).all()
    assert (row.status, row.note) == ("actie_nodig", "Geen adres na ontslag")
    assert events
    assert "Geen adres" not in str(events[0].fields)
    headers = await api_token(client, COORDINATOR_FRL)
    api = (await client.get(f"/api/v1/cases/{case.id}", headers=headers)).json()
    assert {
        "key": "onderdak",
        "label": "Onderdak / huisvesting",
        "status": "actie_nodig",
        "note": "Geen adres na ontslag",
    } in api["leefgebieden"]


async def test_basisdossier_per_organisation_with_care_notes_on_a_need_to_know_basis(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(client, sessions)
    await login(client, GGZ_PARTNER)
    saved = await client.post(
        f"/casussen/{case.id}/basisdossier",
        data={
            "known_zorg": "ja",
            "note_zorg": "In behandeling geweest voor verslaving",
            "known_onderdak": "nee",
            "_csrf_token": csrf_of(client),
        },
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert "Het basisdossier van uw organisatie is opgeslagen." in saved.text
    assert "In behandeling geweest voor verslaving" in saved.text  # the writer sees its own note
    async with sessions() as s:
        ggz = (
            await s.scalars(select(Organisation.id).where(Organisation.name == "GGZ Friesland"))
        ).one()
        entries = {
            e.key: e
            for e in (
                await s.scalars(
                    select(BasisdossierEntry).where(
                        BasisdossierEntry.case_id == case.id,
                        BasisdossierEntry.organisation_id == ggz,
                    )
                )
            ).all()
        }
    assert entries["zorg"].known == "ja"
    assert entries["onderdak"].known == "nee"
    assert "werk_inkomen" not in entries  # nothing recorded where nothing was said
    # another partner sees that GGZ knows the person, not the care detail
    client.cookies.clear()
    await login(client, RECLASSERING)
    other = await client.get(f"/casussen/{case.id}")
    assert "GGZ Friesland" in other.text
    assert "In behandeling geweest voor verslaving" not in other.text
    assert "Toelichting alleen voor de casusregie" in other.text
    # the coordinator (casusregie) and the PI casemanager do see it
    for email in (COORDINATOR_FRL, PI_CASEMANAGER):
        client.cookies.clear()
        await login(client, email)
        assert (
            "In behandeling geweest voor verslaving"
            in (await client.get(f"/casussen/{case.id}")).text
        )


async def test_case_page_shows_the_notice_history(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(client, sessions)
    await login(client, COORDINATOR_FRL)
    page = await client.get(f"/casussen/{case.id}")
    assert 'id="meldingen"' in page.text
    assert "<strong>Instroom</strong>" in page.text
    assert "inrichting: " in page.text


async def test_people_who_cannot_see_a_case_cannot_change_it(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(client, sessions)  # not a resident of Leeuwarden
    async with sessions() as s:
        before = len(
            (
                await s.scalars(
                    select(BasisdossierEntry).where(BasisdossierEntry.case_id == case.id)
                )
            ).all()
        )
    await login(client, GEMEENTE_LWD)
    for path, data in (
        (f"/casussen/{case.id}/leefgebieden/onderdak", {"status": "probleem"}),
        (f"/casussen/{case.id}/basisdossier", {"known_zorg": "ja"}),
        (f"/casussen/{case.id}/aandacht-afgehandeld", {}),
    ):
        response = await client.post(path, data={**data, "_csrf_token": csrf_of(client)})
        assert response.status_code == 404, path
    async with sessions() as s:
        after = len(
            (
                await s.scalars(
                    select(BasisdossierEntry).where(BasisdossierEntry.case_id == case.id)
                )
            ).all()
        )
    assert after == before


async def _a_writer_waits_for_a_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Returns once some connection to this database waits for a row lock held by another."""
    deadline = asyncio.get_running_loop().time() + 20
    async with sessions() as s:
        while asyncio.get_running_loop().time() < deadline:
            waiting = await s.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await s.rollback()
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the second writer never waited for the first")


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_partners_saving_the_same_leefgebied_and_dossier_at_once_both_succeed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Get-or-create under concurrency: both writers saw no row yet; the second must not fail on
    the unique key (a 500 for the partner) but land after the first. (SQLite takes its write lock
    at BEGIN, so writers there never overlap; this is PostgreSQL's read-committed race.)"""
    async with sessions() as s:
        case_id = (
            await s.scalars(
                select(Case.id)
                .where(
                    Case.id.not_in(select(LeefgebiedStatus.case_id)),
                    Case.id.not_in(select(BasisdossierEntry.case_id)),
                )
                .order_by(Case.id)
                .limit(1)
            )
        ).one()
        ggz = (
            await s.scalars(select(Organisation.id).where(Organisation.name == "GGZ Friesland"))
        ).one()

    async def save(session: AsyncSession, status: str, note: str) -> None:
        case = await session.get(Case, case_id)
        assert case is not None
        await leefgebieden.set_status(session, case, "onderdak", status, note, None)
        await leefgebieden.save_basisdossier(session, case, ggz, {"zorg": ("ja", note)}, None)

    async with sessions() as first, sessions() as second:
        async with first.begin():
            await save(first, "probleem", "eerste")

            async def later() -> None:
                async with second.begin():
                    await save(second, "actie_nodig", "tweede")

            racing = asyncio.create_task(later())
            await _a_writer_waits_for_a_lock(sessions)
        await racing
    async with sessions() as s:
        rows = (
            await s.scalars(select(LeefgebiedStatus).where(LeefgebiedStatus.case_id == case_id))
        ).all()
        entries = (
            await s.scalars(select(BasisdossierEntry).where(BasisdossierEntry.case_id == case_id))
        ).all()
    assert [(r.key, r.status, r.note) for r in rows] == [("onderdak", "actie_nodig", "tweede")]
    assert [(e.key, e.known, e.note) for e in entries] == [("zorg", "ja", "tweede")]
