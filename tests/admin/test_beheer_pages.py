"""Beheer: accounts, API keys, audit trail (filters, CSV, append-only)."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.audit import AuditEvent
from app.cases.models import Case
from app.meetings.models import MeetingSeries, SeriesOrganisation
from app.reference.models import Organisation, Region
from tests.conftest import BEHEERDER, COORDINATOR_FRL, PI_CASEMANAGER, api_token, csrf_of, login


@pytest.mark.parametrize(
    "path",
    ["/beheer", "/beheer/gebruikers", "/beheer/audit", "/beheer/api-sleutels", "/beheer/audit.csv"],
)
async def test_beheer_is_not_found_for_non_beheerders(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    await login(client, COORDINATOR_FRL)
    assert (await client.get(path)).status_code == 404


async def test_navigation_shows_only_what_the_role_may_use(
    client: AsyncTestClient[Litestar],
) -> None:
    await login(client, BEHEERDER)
    nav = (
        (await client.get("/beheer"))
        .text.split('aria-label="Hoofdmenu"', 1)[1]
        .split("</nav>", 1)[0]
    )
    assert "Beheer" in nav
    assert "Casussen" not in nav
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    await login(client, COORDINATOR_FRL)
    nav = (
        (await client.get("/casussen"))
        .text.split('aria-label="Hoofdmenu"', 1)[1]
        .split("</nav>", 1)[0]
    )
    assert "Casussen" in nav
    assert "Overleggen" in nav
    assert "Mijn werk" in nav
    assert "Beheer" not in nav


async def test_beheerder_creates_an_account_that_can_log_in(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s:
        org = (
            (await s.scalars(select(Organisation).where(Organisation.name == "GGZ Friesland")))
            .unique()
            .one()
        )
        series = (
            (
                await s.scalars(
                    select(MeetingSeries).where(MeetingSeries.name == "Instroomoverleg Fryslân")
                )
            )
            .unique()
            .one()
        )
    await login(client, BEHEERDER)
    invalid = await client.post(
        "/beheer/gebruikers",
        data={
            "name": "",
            "email": "geen-adres",
            "organisation_id": "",
            "_csrf_token": csrf_of(client),
        },
    )
    assert invalid.status_code == 400
    assert "Vul de naam in." in invalid.text
    assert "Vul een geldig e-mailadres in" in invalid.text
    assert "Kies minstens één rol." in invalid.text
    created = await client.post(
        "/beheer/gebruikers",
        data={
            "name": "Nieuwe Collega",
            "email": "Nieuw@GGZ-Friesland.example",
            "organisation_id": str(org.id),
            "roles": ["netwerkpartner"],
            "series": [str(series.id)],
            "_csrf_token": csrf_of(client),
        },
    )
    assert created.status_code == 200
    password = re.search(r'<code id="nieuw-wachtwoord">([^<]+)</code>', created.text)
    assert password
    duplicate = await client.post(
        "/beheer/gebruikers",
        data={
            "name": "X",
            "email": "nieuw@ggz-friesland.example",
            "organisation_id": str(org.id),
            "roles": ["netwerkpartner"],
            "_csrf_token": csrf_of(client),
        },
    )
    assert "Er bestaat al een account met dit e-mailadres." in duplicate.text
    await client.post("/uitloggen", data={"_csrf_token": csrf_of(client)})
    await login(client, "nieuw@ggz-friesland.example", password.group(1))
    assert (await client.get("/casussen")).status_code == 200
    async with sessions() as s:
        events = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "user.created"))
        ).all()
        assert len(events) == 1
        assert "Nieuwe Collega" not in str(events[0].fields)


async def test_deactivating_an_account_ends_its_sessions(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s:
        user = (await s.scalars(select(User).where(User.email == PI_CASEMANAGER))).unique().one()
    await login(client, PI_CASEMANAGER)
    assert (await client.get("/casussen")).status_code == 200
    pi_cookie = client.cookies.get("kt_sessie") or ""
    client.cookies.clear()
    await login(client, BEHEERDER)
    response = await client.post(
        f"/beheer/gebruikers/{user.id}",
        data={
            "name": user.name,
            "organisation_id": str(user.organisation_id),
            "roles": ["casemanager_pi"],
            "_csrf_token": csrf_of(client),
        },
    )
    assert response.status_code == 200
    assert "De wijzigingen zijn opgeslagen." in response.text
    client.cookies.set("kt_sessie", pi_cookie)
    assert (await client.get("/casussen", follow_redirects=False)).status_code == 303


async def test_api_keys_are_created_shown_once_and_revoked(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s:
        org = (
            (
                await s.scalars(
                    select(Organisation).where(Organisation.name == "DJI Frontoffice Noord")
                )
            )
            .unique()
            .one()
        )
    await login(client, BEHEERDER)

    async def active_keys() -> int:
        found = re.search(r"<p>(\d+) actieve sleutels", (await client.get("/beheer")).text)
        assert found, "the start page counts the active API keys"
        return int(found.group(1))

    before = await active_keys()
    page = await client.post(
        "/beheer/api-sleutels",
        data={"organisation_id": str(org.id), "name": "Weeklijst", "_csrf_token": csrf_of(client)},
    )
    assert await active_keys() == before + 1
    key = re.search(r'<code id="nieuwe-sleutel">([^<]+)</code>', page.text)
    assert key
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["organisation"]["name"] == "DJI Frontoffice Noord"
    assert (
        await client.get("/api/v1/cases", headers=headers)
    ).json() == []  # a machine key sees no cases
    listing = await client.get("/beheer/api-sleutels")
    assert key.group(1) not in listing.text
    key_id = re.search(r"/beheer/api-sleutels/(\d+)/intrekken", listing.text)
    assert key_id
    await client.post(
        f"/beheer/api-sleutels/{key_id.group(1)}/intrekken", data={"_csrf_token": csrf_of(client)}
    )
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert await active_keys() == before


async def test_audit_page_filters_by_person_user_and_period_and_exports_csv(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as s:
        cases = (
            (
                await s.scalars(
                    select(Case).join(Region).where(Region.code == "FRL").order_by(Case.id).limit(2)
                )
            )
            .unique()
            .all()
        )
    headers = await api_token(client, COORDINATOR_FRL)
    for case in cases:
        await client.get(f"/api/v1/cases/{case.id}", headers=headers)
    pi_headers = await api_token(client, PI_CASEMANAGER)
    await client.get(f"/api/v1/cases/{cases[0].id}", headers=pi_headers)
    await login(client, BEHEERDER)
    by_bsn = await client.get("/beheer/audit", params={"persoon": cases[0].person.bsn})
    assert by_bsn.text.count(cases[0].reference) >= 2
    assert cases[1].reference not in by_bsn.text
    by_reference = await client.get("/beheer/audit", params={"persoon": cases[1].reference.lower()})
    assert cases[1].reference in by_reference.text
    assert cases[0].reference not in by_reference.text
    async with sessions() as s:
        pi = (await s.scalars(select(User).where(User.email == PI_CASEMANAGER))).unique().one()
    by_user = await client.get(
        "/beheer/audit", params={"gebruiker": str(pi.id), "handeling": "case.viewed"}
    )
    assert by_user.text.count('<td class="utrecht-table__cell">Casus bekeken') == 1
    future = await client.get("/beheer/audit", params={"van": "2999-01-01"})
    assert "Geen gebeurtenissen gevonden." in future.text
    bad_date = await client.get("/beheer/audit", params={"van": "31-02-2026"})
    assert "Vul een datum in als JJJJ-MM-DD." in bad_date.text
    export = await client.get(
        "/beheer/audit.csv", params={"persoon": cases[0].person.bsn, "handeling": "case.viewed"}
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("tijdstip;gebruiker_id;door;handeling;casus")
    assert len(lines) == 3
    assert all(cases[0].reference in line for line in lines[1:])
    assert cases[0].person.bsn not in export.text
    assert cases[0].person.last_name not in export.text


async def test_the_audit_trail_is_append_only_in_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        s.add(AuditEvent(action="case.viewed", case_reference="X"))
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        async with sessions() as s, s.begin():
            with pytest.raises((IntegrityError, OperationalError, DBAPIError)):
                await s.execute(text(statement))
    async with sessions() as s:
        assert (
            await s.scalars(select(AuditEvent.action).where(AuditEvent.case_reference == "X"))
        ).all() == ["case.viewed"]


async def test_beheerder_changes_a_series_cadence_and_its_meetings_follow(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    import datetime as dt

    from app.db import utcnow
    from app.meetings.models import Meeting
    from app.meetings.services import AMSTERDAM

    async with sessions() as s:
        series = (
            (
                await s.scalars(
                    select(MeetingSeries).where(MeetingSeries.name == "Instroomoverleg Fryslân")
                )
            )
            .unique()
            .one()
        )
        orgs = (
            await s.scalars(
                select(Organisation.id).where(
                    Organisation.name.in_(["GGZ Friesland", "Reclassering Nederland"])
                )
            )
        ).all()
    await login(client, BEHEERDER)
    form = {
        "name": "Instroomoverleg Fryslân",
        "kind": "instroomoverleg",
        "region_id": str(series.region_id),
        "cadence_weeks": "1",
        "weekday": "3",
        "start_time": "14:30",
        "duration_minutes": "60",
        "item_minutes": "5",
        "agenda_lead_hours": "24",
        "location": "ZVH Fryslân",
        "online_url": "https://overleg.example.nl/frl",
        "chair_id": str(series.chair_id),
        "organisations": [str(o) for o in orgs],
        "_csrf_token": csrf_of(client),
    }
    bad = await client.post(
        f"/beheer/reeksen/{series.id}",
        data={**form, "start_time": "half drie", "online_url": "http://x"},
    )
    assert bad.status_code == 400
    assert "Vul de begintijd in als UU:MM" in bad.text
    assert "begint met https://" in bad.text
    saved = await client.post(f"/beheer/reeksen/{series.id}", data=form)
    assert saved.status_code == 200
    assert "Opgeslagen." in saved.text
    async with sessions() as s:
        upcoming = (
            (
                await s.scalars(
                    select(Meeting)
                    .where(
                        Meeting.series_id == series.id,
                        Meeting.starts_at > utcnow(),
                        Meeting.status == "gepland",
                    )
                    .order_by(Meeting.starts_at)
                )
            )
            .unique()
            .all()
        )
        members = set(
            (
                await s.scalars(
                    select(SeriesOrganisation.organisation_id).where(
                        SeriesOrganisation.series_id == series.id
                    )
                )
            ).all()
        )
    assert upcoming
    assert all(m.starts_at.astimezone(AMSTERDAM).weekday() == 3 for m in upcoming)
    assert all(m.starts_at.astimezone(AMSTERDAM).time() == dt.time(14, 30) for m in upcoming)
    assert members == set(orgs)


async def test_a_regional_beheerder_manages_only_their_own_region(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The demo's beheerder belongs to the ZVH Fryslân: Groningen is not theirs to arrange."""
    async with sessions() as s:
        regions = dict((await s.execute(select(Region.code, Region.id))).all())
    await login(client, BEHEERDER)
    form = await client.get("/beheer/reeksen/nieuw")
    choice = re.search(r'<select[^>]*name="region_id"[^>]*>(.*?)</select>', form.text, re.S)
    assert choice is not None
    assert set(re.findall(r'<option value="(\d+)"', choice.group(1))) == {str(regions["FRL"])}
    for code, name in (("GRN", "Buurtteam Groningen-Oost"), ("FRL", "Buurtteam Leeuwarden-Oost")):
        await client.post(
            "/beheer/organisaties",
            data={
                "name": name,
                "kind": "wijkteam",
                "region_id": str(regions[code]),
                "_csrf_token": csrf_of(client),
            },
        )
    async with sessions() as s:
        made = set(
            (
                await s.scalars(
                    select(Organisation.name).where(Organisation.name.like("Buurtteam %"))
                )
            ).all()
        )
    assert made == {"Buurtteam Leeuwarden-Oost"}
