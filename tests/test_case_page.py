"""The case page: leefgebied statuses, the basisdossier (with need-to-know care notes), notice history."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditEvent
from app.cases.models import BasisdossierEntry, Case, LeefgebiedStatus
from app.coordination.models import Pairing
from app.reference.models import Organisation, Region
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


async def frl_case(sessions: async_sessionmaker[AsyncSession], *, unpaired: bool = True) -> Case:
    async with sessions() as s:
        stmt = (
            select(Case)
            .join(Region)
            .where(Region.code == "FRL", Case.return_municipality_code != "GM0080")
        )
        if unpaired:
            stmt = stmt.where(Case.id.not_in(select(Pairing.case_id)))
        return (await s.scalars(stmt.order_by(Case.id))).unique().first()  # type: ignore[return-value]


async def test_leefgebied_status_is_saved_inline_and_audited(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(sessions)
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
    case = await frl_case(sessions)
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
    case = await frl_case(sessions, unpaired=False)
    await login(client, COORDINATOR_FRL)
    page = await client.get(f"/casussen/{case.id}")
    assert 'id="meldingen"' in page.text
    assert "<strong>Instroom</strong>" in page.text
    assert "inrichting: " in page.text


async def test_people_who_cannot_see_a_case_cannot_change_it(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    case = await frl_case(sessions)  # not a resident of Leeuwarden
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
