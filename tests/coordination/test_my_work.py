"""Mijn werk over HTTP: my actions (overdue first, filters, inline changes and history), my
appointments and meetings, and for the coordinator the region's overdue actions per organisation."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.cases.models import Case
from app.coordination.models import ActionItem, ActionStatus, ActionUpdate
from app.reference.models import Organisation
from app.web import today_local
from tests.conftest import COORDINATOR_FRL, GEMEENTE_LWD, PI_CASEMANAGER, RECLASSERING, login
from tests.support.notice_helpers import ingest_cases, instroom, new_bsn

HX = {"HX-Request": "true"}


async def setup_actions(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Three actions of the reclassering casemanager (one overdue), one of someone else, one of
    the gemeente Leeuwarden as an organisation."""
    async with sessions() as s, s.begin():
        users = {u.email: u for u in (await s.scalars(select(User))).unique()}
        gemeente = (
            (
                await s.scalars(
                    select(Organisation).where(Organisation.name == "Gemeente Leeuwarden")
                )
            )
            .unique()
            .one()
        )
        # A case of this test's own (a resident of Leeuwarden): no demo action on it, whatever the day.
        [case_id] = await ingest_cases(s, [instroom("WK-1", new_bsn(), gemeente_code="GM0080")])
        case = await s.get_one(Case, case_id)
        rows = {
            "later": ActionItem(
                case_id=case.id,
                leefgebied="werk_inkomen",
                description="Uitkering aanvragen ZZ",
                owner_user_id=users[RECLASSERING].id,
                due_on=today_local() + dt.timedelta(days=20),
            ),
            "overdue": ActionItem(
                case_id=case.id,
                leefgebied="onderdak",
                description="Nachtopvang regelen ZZ",
                owner_user_id=users[RECLASSERING].id,
                due_on=today_local() - dt.timedelta(days=3),
            ),
            "nodate": ActionItem(
                case_id=case.id,
                leefgebied="schulden",
                description="Schuldenoverzicht ZZ",
                owner_user_id=users[RECLASSERING].id,
            ),
            "other": ActionItem(
                case_id=case.id,
                leefgebied="zorg",
                description="Huisarts bellen ZZ",
                owner_user_id=users[PI_CASEMANAGER].id,
                due_on=today_local() - dt.timedelta(days=1),
            ),
            "org": ActionItem(
                case_id=case.id,
                leefgebied="identiteitsbewijs",
                description="ID-kaart afspraak ZZ",
                owner_organisation_id=gemeente.id,
                due_on=today_local() + dt.timedelta(days=2),
            ),
        }
        s.add_all(rows.values())
        await s.flush()
        return {k: v.id for k, v in rows.items()} | {"case": case.id}


async def test_my_actions_overdue_first_with_filters_and_only_mine(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await setup_actions(sessions)
    await login(client, RECLASSERING)
    page = await client.get("/mijn-werk")
    assert page.status_code == 200
    text = page.text
    assert "<html" in text
    mine = [
        text.index(d)
        for d in ("Nachtopvang regelen ZZ", "Uitkering aanvragen ZZ", "Schuldenoverzicht ZZ")
    ]
    assert mine == sorted(mine)  # overdue first, then by date, no date last
    assert "Huisarts bellen ZZ" not in text  # someone else's
    assert "ID-kaart afspraak ZZ" not in text  # another organisation's
    assert "verlopen sinds" in text
    assert "Verlopen acties in de regio" not in text  # the coordinator's part

    overdue = await client.get("/mijn-werk", params={"termijn": "verlopen"}, headers=HX)
    assert "<html" not in overdue.text
    assert "Nachtopvang regelen ZZ" in overdue.text
    assert "Uitkering aanvragen ZZ" not in overdue.text
    by_area = await client.get("/mijn-werk", params={"leefgebied": "schulden"}, headers=HX)
    assert "Schuldenoverzicht ZZ" in by_area.text
    assert "Nachtopvang regelen ZZ" not in by_area.text
    by_case = await client.get(
        "/mijn-werk", params={"zaak": str(ids["case"]), "status": "gereed"}, headers=HX
    )
    assert "Geen acties met deze filters." in by_case.text

    client.cookies.clear()
    await login(client, GEMEENTE_LWD)
    gemeente = await client.get("/mijn-werk")
    assert "ID-kaart afspraak ZZ" in gemeente.text
    assert "voor Gemeente Leeuwarden" in gemeente.text


async def test_changing_an_action_inline_records_status_note_and_history(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await setup_actions(sessions)
    await login(client, RECLASSERING)
    response = await client.post(
        f"/acties/{ids['overdue']}",
        data={"view": "work", "status": "gereed", "note": "Plek bij De Kanaalweg"},
        headers={**HX, "x-csrftoken": client.cookies.get("kt_csrf") or ""},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Opgeslagen." in response.text
    assert "Plek bij De Kanaalweg" in response.text  # the history shows the note at once
    async with sessions() as s:
        action = await s.get(ActionItem, ids["overdue"])
        notes = (
            await s.scalars(
                select(ActionUpdate.note).where(ActionUpdate.action_id == ids["overdue"])
            )
        ).all()
    assert action is not None
    assert action.status == ActionStatus.DONE
    assert "Plek bij De Kanaalweg" in notes
    history = await client.get(f"/acties/{ids['overdue']}/geschiedenis", headers=HX)
    assert "Plek bij De Kanaalweg" in history.text
    # someone else's action cannot be changed, and does not exist for them
    other = await client.post(
        f"/acties/{ids['other']}",
        data={"view": "work", "status": "gereed"},
        headers={**HX, "x-csrftoken": client.cookies.get("kt_csrf") or ""},
    )
    assert other.status_code == 404


async def test_the_coordinator_sees_overdue_actions_per_organisation(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await setup_actions(sessions)
    await login(client, COORDINATOR_FRL)
    page = await client.get("/mijn-werk")
    assert "Verlopen acties in de regio" in page.text
    section = page.text.split("Verlopen acties in de regio", 1)[1]
    assert "Reclassering Nederland" in section
    assert "Nachtopvang regelen ZZ" in section
    assert "PI Leeuwarden" in section
    assert "Huisarts bellen ZZ" in section
    assert "ID-kaart afspraak ZZ" not in section  # not overdue
