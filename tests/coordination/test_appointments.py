"""Appointments of a case (moments, on screen): the release at the gate follows the notices,
appointments are planned and changed through the pages, the checklist ticks, vervolg feeds the
agenda, closure ends it all."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlparse

from icalendar import Calendar
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.cases.models import Case, CaseStatus, LeefgebiedStatus
from app.coordination.models import (
    ActionItem,
    ActionStatus,
    Appointment,
    AppointmentChange,
    AppointmentKind,
    AppointmentStatus,
)
from app.web import AMSTERDAM, today_local
from tests.conftest import (
    COORDINATOR_FRL,
    COORDINATOR_GRN,
    GEMEENTE_LWD,
    RECLASSERING,
    api_token,
    csrf_of,
    login,
)
from tests.support.notice_helpers import api_key, instroom, new_bsn

HX = {"HX-Request": "true"}


async def post_form(
    client: AsyncTestClient[Litestar], url: str, data: dict[str, Any], **kw: Any
) -> Any:
    return await client.post(
        url, data={**data, "_csrf_token": csrf_of(client)}, follow_redirects=False, **kw
    )


async def notices(
    client: AsyncTestClient[Litestar], headers: dict[str, str], records: list[dict[str, str]]
) -> dict[str, Any]:
    response = await client.post("/api/v1/notices", json=records, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def release_appointment(
    sessions: async_sessionmaker[AsyncSession], case_id: int
) -> Appointment | None:
    async with sessions() as s:
        return (
            await s.scalars(
                select(Appointment).where(
                    Appointment.case_id == case_id,
                    Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT,
                )
            )
        ).one_or_none()


async def user_id(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as s:
        return int((await s.scalars(select(User.id).where(User.email == email))).one())


async def feed_of(client: AsyncTestClient[Litestar], email: str) -> Calendar:
    token = await api_token(client, email)
    url = (await client.get("/api/v1/me", headers=token)).json()["calendar_url"]
    response = await client.get(urlparse(url).path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def event(cal: Calendar, uid_prefix: str) -> Any:
    found = [e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(uid_prefix)]
    assert len(found) == 1, [str(e["UID"]) for e in cal.walk("VEVENT")]
    return found[0]


async def test_the_release_appointment_follows_the_notices_and_the_calendar_follows_it(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    expected = today_local() + dt.timedelta(days=40)
    body = await notices(
        client, headers, [instroom("R-1", bsn, verwachte_einddatum=expected.isoformat())]
    )
    case_id = body["results"][0]["case_id"]
    appointment = await release_appointment(sessions, case_id)
    assert appointment is not None
    starts = appointment.starts_at.astimezone(AMSTERDAM)
    assert (starts.date(), starts.time()) == (expected, dt.time(9, 0))
    assert appointment.follows_release
    assert "PI Leeuwarden" in appointment.location

    # the casemanager is put on the appointment, at 07:30 (PIs often release early)
    await login(client, COORDINATOR_FRL)
    reclassering = await user_id(sessions, RECLASSERING)
    saved = await post_form(
        client,
        f"/casussen/{case_id}/momenten/{appointment.id}",
        {
            "kind": "opvang_aan_de_poort",
            "date": expected.isoformat(),
            "time": "07:30",
            "minutes": "90",
            "location": appointment.location,
            "participants": [str(reclassering)],
            "met_by": "Casemanager reclassering",
            "follows_release": "1",
        },
    )
    assert saved.status_code == 303
    client.cookies.clear()
    before = event(await feed_of(client, RECLASSERING), f"moment-{appointment.id}@")
    assert before["DTSTART"].dt.astimezone(AMSTERDAM) == dt.datetime.combine(
        expected, dt.time(7, 30), tzinfo=AMSTERDAM
    )
    person = {"bsn": bsn, "achternaam": "Jansma", "geboortedatum": "1988-04-12"}
    moved_to = expected + dt.timedelta(days=9)
    await notices(
        client,
        headers,
        [
            {
                "melding_id": "R-2",
                "soort": "wijziging",
                **person,
                "verwachte_einddatum": moved_to.isoformat(),
            }
        ],
    )
    moved = await release_appointment(sessions, case_id)
    assert moved is not None
    assert moved.starts_at.astimezone(AMSTERDAM) == dt.datetime.combine(
        moved_to, dt.time(7, 30), tzinfo=AMSTERDAM
    )  # the date moved, the time of day stayed
    after = event(await feed_of(client, RECLASSERING), f"moment-{appointment.id}@")
    assert after["DTSTART"].dt.astimezone(AMSTERDAM).date() == moved_to
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["UID"]) == str(before["UID"])
    async with sessions() as s:
        history = (
            await s.scalars(
                select(AppointmentChange).where(AppointmentChange.appointment_id == appointment.id)
            )
        ).all()
    assert [h.source for h in history][-1] == "melding"

    # released early after all (yesterday): the appointment goes to the actual release date
    released = today_local() - dt.timedelta(days=1)
    await notices(
        client,
        headers,
        [
            {
                "melding_id": "R-3",
                "soort": "uitstroom",
                **person,
                "datum_ontslag": released.isoformat(),
            }
        ],
    )
    final = await release_appointment(sessions, case_id)
    assert final is not None
    assert final.starts_at.astimezone(AMSTERDAM).date() == released


async def test_planning_a_trajectgesprek_checks_the_form_and_who_may_take_part(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    # a resident of Heerenveen: the gemeente Leeuwarden may not see this case
    body = await notices(client, headers, [instroom("T-1", new_bsn(), gemeente_code="GM0074")])
    case_id = body["results"][0]["case_id"]
    await login(client, COORDINATOR_FRL)
    form = await client.get(f"/casussen/{case_id}/momenten/nieuw?soort=trajectgesprek")
    assert form.status_code == 200
    gemeente = await user_id(sessions, GEMEENTE_LWD)
    reclassering = await user_id(sessions, RECLASSERING)
    assert f'value="{reclassering}"' in form.text
    assert f'value="{gemeente}"' not in form.text  # not offered: no access to this case

    bad = await post_form(
        client,
        f"/casussen/{case_id}/momenten",
        {
            "kind": "trajectgesprek",
            "date": "2026-02-30",
            "time": "",
            "online_url": "teams-link",
            "participants": [str(gemeente)],
        },
    )
    assert bad.status_code == 400
    assert "Vul een datum in" in bad.text
    assert "Vul een tijd in" in bad.text
    assert "https://" in bad.text
    assert "Kies de deelnemers uit de lijst" in bad.text
    async with sessions() as s:
        assert (
            await s.scalars(
                select(Appointment.id).where(
                    Appointment.case_id == case_id,
                    Appointment.kind == AppointmentKind.TRAJECTGESPREK,
                )
            )
        ).all() == []

    day = today_local() + dt.timedelta(days=10)
    good = await post_form(
        client,
        f"/casussen/{case_id}/momenten",
        {
            "kind": "trajectgesprek",
            "date": day.isoformat(),
            "time": "14:00",
            "minutes": "60",
            "location": "PI Leeuwarden, spreekkamer 2",
            "online_url": "https://overleg.example.nl/tg",
            "participants": [str(reclassering)],
            "notes": "Tolk Arabisch regelen.",
        },
    )
    assert good.status_code == 303
    page = await client.get(good.headers["location"])
    assert "Trajectgesprek" in page.text
    assert "Tolk Arabisch regelen." in page.text
    case_page = await client.get(f"/casussen/{case_id}")
    assert "Trajectgesprek" in case_page.text

    client.cookies.clear()
    await login(client, COORDINATOR_GRN)
    appointment_id = good.headers["location"].split("/momenten/")[1].split("?")[0]
    assert (await client.get(f"/casussen/{case_id}/momenten/{appointment_id}")).status_code == 404
    assert (
        await post_form(
            client,
            f"/casussen/{case_id}/momenten/{appointment_id}/status",
            {"status": "geannuleerd"},
        )
    ).status_code == 404


def the_coming_summer_time_night(today: dt.date) -> dt.date:
    """The last Sunday of March on or after `today` (this year's, or next year's)."""
    for year in (today.year, today.year + 1):
        end_of_march = dt.date(year, 3, 31)
        night = end_of_march - dt.timedelta(days=(end_of_march.weekday() + 1) % 7)
        if night >= today:
            return night
    raise AssertionError("unreachable")


async def test_a_time_the_clock_skips_on_the_summer_time_night_is_refused_in_dutch(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    body = await notices(client, headers, [instroom("Z-1", new_bsn())])
    case_id = body["results"][0]["case_id"]
    await login(client, COORDINATOR_FRL)
    night = the_coming_summer_time_night(today_local())
    form = {"kind": "trajectgesprek", "date": night.isoformat(), "minutes": "60"}
    skipped = await post_form(client, f"/casussen/{case_id}/momenten", {**form, "time": "02:30"})
    assert skipped.status_code == 400
    assert "de klok gaat dan van 02:00 naar 03:00" in skipped.text
    async with sessions() as s:
        kinds = await s.scalars(select(Appointment.kind).where(Appointment.case_id == case_id))
        assert AppointmentKind.TRAJECTGESPREK not in kinds.all()
    taken = await post_form(client, f"/casussen/{case_id}/momenten", {**form, "time": "03:30"})
    assert taken.status_code == 303
    async with sessions() as s:
        appointment = (
            await s.scalars(
                select(Appointment).where(
                    Appointment.case_id == case_id,
                    Appointment.kind == AppointmentKind.TRAJECTGESPREK,
                )
            )
        ).one()
    starts = appointment.starts_at.astimezone(AMSTERDAM)
    assert (starts.date(), starts.time()) == (night, dt.time(3, 30))
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=60)


async def test_the_release_checklist_ticks_inline_and_cancelling_shows_in_the_feed(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    body = await notices(client, headers, [instroom("C-1", new_bsn())])
    case_id = body["results"][0]["case_id"]
    appointment = await release_appointment(sessions, case_id)
    assert appointment is not None
    await login(client, COORDINATOR_FRL)
    url = f"/casussen/{case_id}/momenten/{appointment.id}/checklist"
    ticked = await post_form(client, url, {"item": "sleep_tonight", "done": "1"}, headers=HX)
    assert ticked.status_code == 200
    assert "1 van 8 geregeld" in ticked.text
    assert "<html" not in ticked.text  # only the fragment
    plain = await post_form(client, url, {"item": "id_in_hand", "done": "1"})
    assert plain.status_code == 303  # works without JavaScript too
    untick = await post_form(client, url, {"item": "sleep_tonight"}, headers=HX)
    assert "1 van 8 geregeld" in untick.text
    assert (await post_form(client, url, {"item": "unknown", "done": "1"})).status_code == 404
    stored = await release_appointment(sessions, case_id)
    assert stored is not None
    assert stored.checklist == {"sleep_tonight": False, "id_in_hand": True}

    me = await user_id(sessions, COORDINATOR_FRL)
    await post_form(
        client,
        f"/casussen/{case_id}/momenten/{appointment.id}",
        {
            "kind": "opvang_aan_de_poort",
            "date": stored.starts_at.astimezone(AMSTERDAM).date().isoformat(),
            "time": "09:00",
            "minutes": "90",
            "responsible": str(me),
        },
    )
    before = event(await feed_of(client, COORDINATOR_FRL), f"moment-{appointment.id}@")
    assert str(before["STATUS"]) == "CONFIRMED"
    cancelled = await post_form(
        client, f"/casussen/{case_id}/momenten/{appointment.id}/status", {"status": "geannuleerd"}
    )
    assert cancelled.status_code == 303
    after = event(await feed_of(client, COORDINATOR_FRL), f"moment-{appointment.id}@")
    assert str(after["STATUS"]) == "CANCELLED"
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])


async def test_a_vervolg_appointment_is_the_cases_follow_up_date(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    body = await notices(client, headers, [instroom("V-1", new_bsn())])
    case_id = body["results"][0]["case_id"]
    await login(client, COORDINATOR_FRL)
    first = today_local() + dt.timedelta(days=14)
    response = await post_form(
        client, f"/casussen/{case_id}/momenten", {"kind": "vervolg", "date": first.isoformat()}
    )
    assert response.status_code == 303
    async with sessions() as s:
        case = await s.get(Case, case_id)
    assert case is not None
    assert case.follow_up_on == first
    later = first + dt.timedelta(days=7)
    await post_form(
        client, f"/casussen/{case_id}/momenten", {"kind": "vervolg", "date": later.isoformat()}
    )
    async with sessions() as s:
        case = await s.get(Case, case_id)
        planned = (
            await s.scalars(
                select(Appointment).where(
                    Appointment.case_id == case_id,
                    Appointment.kind == AppointmentKind.VERVOLG,
                    Appointment.status == AppointmentStatus.PLANNED,
                )
            )
        ).all()
    assert case is not None
    assert case.follow_up_on == later  # moved, not a second one
    assert len(planned) == 1
    past = await post_form(
        client,
        f"/casussen/{case_id}/momenten",
        {"kind": "vervolg", "date": (today_local() - dt.timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 400
    assert "Een vervolg ligt in de toekomst." in past.text
    await post_form(
        client,
        f"/casussen/{case_id}/momenten/{planned[0].id}/status",
        {"status": "geannuleerd"},
    )
    async with sessions() as s:
        case = await s.get(Case, case_id)
    assert case is not None
    assert case.follow_up_on is None


async def test_closing_a_case_records_the_outcome_and_settles_actions_and_appointments(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    released = today_local() - dt.timedelta(days=35)
    body = await notices(
        client,
        headers,
        [
            instroom(
                "X-1",
                bsn,
                datum_insluiting=(today_local() - dt.timedelta(days=200)).isoformat(),
                verwachte_einddatum=released.isoformat(),
            ),
            {
                "melding_id": "X-2",
                "soort": "uitstroom",
                "bsn": bsn,
                "achternaam": "Jansma",
                "geboortedatum": "1988-04-12",
                "datum_ontslag": released.isoformat(),
            },
        ],
    )
    case_id = body["results"][0]["case_id"]
    await login(client, COORDINATOR_FRL)
    owner = await user_id(sessions, RECLASSERING)
    async with sessions() as s, s.begin():
        action = ActionItem(
            case_id=case_id,
            leefgebied="onderdak",
            description="Woning zoeken",
            owner_user_id=owner,
            due_on=today_local() + dt.timedelta(days=3),
        )
        s.add(action)
    case_page = await client.get(f"/casussen/{case_id}")
    assert "De coördinatie na vrijlating is voorbij" in case_page.text
    work = await client.get("/mijn-werk")
    assert f"/casussen/{case_id}/afsluiten" in work.text
    incomplete = await post_form(
        client, f"/casussen/{case_id}/afsluiten", {"lg_onderdak": "geregeld"}
    )
    assert incomplete.status_code == 400
    assert "Kies hoe het met id-bewijs is afgelopen." in incomplete.text
    assert "Kies wat er met deze actie gebeurt." in incomplete.text
    async with sessions() as s:
        case = await s.get(Case, case_id)
    assert case is not None
    assert case.status == CaseStatus.NAZORG  # nothing half-applied

    keys = ["identiteitsbewijs", "onderdak", "werk_inkomen", "schulden", "zorg", "sociaal_netwerk"]
    data = {f"lg_{k}": "geregeld" for k in keys}
    data["lg_schulden"] = "advies_overgedragen"
    data[f"actie_{action.id}"] = "overgedragen"
    done = await post_form(client, f"/casussen/{case_id}/afsluiten", data)
    assert done.status_code == 303
    async with sessions() as s:
        case = await s.get(Case, case_id)
        statuses = {
            r.key: r.status
            for r in (
                await s.scalars(select(LeefgebiedStatus).where(LeefgebiedStatus.case_id == case_id))
            ).all()
        }
        stored = await s.get(ActionItem, action.id)
    assert case is not None
    assert case.status == CaseStatus.CLOSED
    assert case.closed_on == today_local()
    assert statuses["schulden"] == "advies_overgedragen"
    assert statuses["onderdak"] == "geregeld"
    assert stored is not None
    assert stored.status == ActionStatus.HANDED_OVER
    assert (await client.get(f"/casussen/{case_id}/afsluiten")).status_code == 404  # once
    client.cookies.clear()
    await login(client, RECLASSERING)  # not the coordinator: no closure page
    assert (await client.get(f"/casussen/{case_id}/afsluiten")).status_code == 404
