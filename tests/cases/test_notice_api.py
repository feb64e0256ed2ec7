"""POST /api/v1/notices with the files that really arrive (docs/interfaces.md, "The API" and
"Detention notices"), on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import AuditEvent
from app.cases.models import Case, CaseStatus, Notice, NoticeBatch, Person
from app.reference.models import Region
from app.web import today_local
from tests.conftest import COORDINATOR_FRL, GGZ_PARTNER, api_token
from tests.support.notice_helpers import api_key, csv_bytes, instroom, new_bsn


def fmt(d: dt.date) -> str:
    return d.strftime("%d-%m-%Y")


async def post_json(
    client: AsyncTestClient[Litestar], headers: dict[str, str], records: list[dict[str, str]]
) -> dict:
    response = await client.post("/api/v1/notices", json=records, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def case_of(sessions: async_sessionmaker[AsyncSession], case_id: int) -> Case:
    async with sessions() as s:
        return (await s.scalars(select(Case).where(Case.id == case_id))).unique().one()


async def test_instroom_creates_person_case_and_detention_in_the_region(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    body = await post_json(client, headers, [instroom("T-1", bsn)])
    assert body["accepted"] == 1
    assert body["duplicates"] == 0
    assert body["rejected"] == 0
    result = body["results"][0]
    assert result == {
        "row": 1,
        "melding_id": "T-1",
        "status": "accepted",
        "case_id": result["case_id"],
        "errors": [],
    }
    case = await case_of(sessions, result["case_id"])
    assert case.region.code == "FRL"
    assert case.reference.startswith(f"FRL-{(today_local() - dt.timedelta(days=3)).year}-")
    assert case.person.bsn == bsn
    assert case.status == CaseStatus.OPEN
    assert case.periods[0].institution_label == "PI Leeuwarden"
    assert case.periods[0].expected_release_on == today_local() + dt.timedelta(days=120)
    assert case.pi_contact_email == "casemanager@pi-leeuwarden.example"
    # the coordinator of Fryslân sees it, the one of Groningen does not
    frl = await api_token(client, COORDINATOR_FRL)
    assert (await client.get(f"/api/v1/cases/{case.id}", headers=frl)).status_code == 200
    async with sessions() as s:
        created = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.case_id == case.id, AuditEvent.action == "case.created"
                )
            )
        ).one()
    assert created.actor == "API-sleutel van DJI Frontoffice Noord"
    assert created.channel == "api"


async def test_return_gemeente_decides_the_region(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    body = await post_json(
        client,
        headers,
        [instroom("T-2", new_bsn(), gemeente_code="GM0014", terugkeer_gemeente_code="GM0080")],
    )
    case = await case_of(sessions, body["results"][0]["case_id"])
    assert case.region.code == "FRL"
    assert case.origin_municipality_code == "GM0014"
    assert case.return_municipality_code == "GM0080"


async def test_windows_1252_semicolons_and_dutch_dates(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    entered = today_local() - dt.timedelta(days=5)
    record = instroom(
        "W-1",
        new_bsn(),
        achternaam="Sübinga",
        voornamen="Jelle Ëlco",
        tussenvoegsel="de",
        geboortedatum="07-03-1979",
        datum_insluiting=fmt(entered),
        verwachte_einddatum="",
    )
    raw = csv_bytes([record], encoding="cp1252")
    assert "Sübinga".encode("cp1252") in raw
    response = await client.post(
        "/api/v1/notices", content=raw, headers={**headers, "Content-Type": "text/csv"}
    )
    body = response.json()
    assert body["accepted"] == 1, body
    case = await case_of(sessions, body["results"][0]["case_id"])
    assert case.person.last_name == "Sübinga"
    assert case.person.first_names == "Jelle Ëlco"
    assert case.person.birth_date == dt.date(1979, 3, 7)
    assert case.periods[0].entered_on == entered
    assert case.periods[0].expected_release_on is None  # unknown (voorlopige hechtenis)


async def test_utf8_bom_with_commas_and_iso_dates_and_odd_headers(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    record = instroom("U-1", new_bsn(), achternaam="Ðelta, van")
    columns = [
        "Melding_ID",
        " Soort ",
        "BSN",
        "Achternaam",
        "Geboortedatum",
        "Gemeente_Code",
        "Inrichting",
        "Datum_Insluiting",
    ]
    mapped = {c: record[c.strip().lower()] for c in columns}
    raw = (
        ",".join(columns)
        + "\r\n"
        + ",".join(f'"{mapped[c]}"' if "," in mapped[c] else mapped[c] for c in columns)
        + "\r\n"
    )
    response = await client.post(
        "/api/v1/notices",
        content=b"\xef\xbb\xbf" + raw.encode(),
        headers={**headers, "Content-Type": "text/csv; charset=utf-8"},
    )
    body = response.json()
    assert body["accepted"] == 1, body
    case = await case_of(sessions, body["results"][0]["case_id"])
    assert case.person.last_name == "Ðelta, van"


async def test_bad_rows_are_rejected_with_dutch_messages_naming_the_field_and_good_rows_still_apply(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    future = today_local() + dt.timedelta(days=10)
    rows = [
        instroom("B-1", "123456789"),
        instroom("B-2", new_bsn(), geboortedatum="31-02-1990"),
        instroom("B-3", new_bsn(), geboortedatum=future.isoformat()),
        instroom("B-4", new_bsn(), soort="verhuizing"),
        instroom("B-5", new_bsn(), gemeente_code=""),
        instroom("B-6", new_bsn(), gemeente_code="GM9999"),
        instroom("B-7", new_bsn(), gemeente_code="GM0457"),
        instroom(
            "B-8",
            new_bsn(),
            verwachte_einddatum=(today_local() - dt.timedelta(days=30)).isoformat(),
        ),
        instroom("B-9", new_bsn(), datum_insluiting="gisteren"),
        instroom("", new_bsn()),
        instroom("B-11", new_bsn()),
        {
            "melding_id": "B-12",
            "soort": "uitstroom",
            "bsn": new_bsn(),
            "achternaam": "X",
            "geboortedatum": "1990-01-01",
        },
    ]
    body = await post_json(client, headers, rows)
    by_row = {r["row"]: r for r in body["results"]}
    expected = {
        1: ("bsn", "geen geldig burgerservicenummer"),
        2: ("geboortedatum", "bestaat niet"),
        3: ("geboortedatum", "ligt in de toekomst"),
        4: ("soort", "is onbekend"),
        5: ("gemeente_code", "is verplicht bij soort instroom"),
        6: ("gemeente_code", "geen bestaande CBS-gemeentecode"),
        7: ("gemeente_code", "is opgeheven per 24-03-2022; gebruik GM0363 (Amsterdam)"),
        8: ("verwachte_einddatum", "ligt vóór datum_insluiting"),
        9: ("datum_insluiting", "is geen datum"),
        10: ("melding_id", "melding_id ontbreekt"),
        12: ("datum_ontslag", "is verplicht bij soort uitstroom"),
    }
    for row, (field, text) in expected.items():
        result = by_row[row]
        assert result["status"] == "rejected", result
        assert result["case_id"] is None
        assert any(e["field"] == field and text in e["message"] for e in result["errors"]), (
            row,
            result["errors"],
        )
    assert by_row[11]["status"] == "accepted"
    assert body["accepted"] == 1
    assert body["rejected"] == 11
    async with sessions() as s:
        stored = (await s.scalars(select(Notice).where(Notice.melding_id.like("B-%")))).all()
        assert len(stored) == 11  # every row kept raw, including the rejected ones
        assert all(n.raw for n in stored)


async def test_same_melding_id_is_a_duplicate_or_a_conflict_that_changes_nothing(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    record = instroom("D-1", new_bsn())
    first = await post_json(client, headers, [record])
    again = await post_json(client, headers, [dict(record)])
    assert again["duplicates"] == 1
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["case_id"] == first["results"][0]["case_id"]
    # the same notice in another date notation is the same content
    same = dict(record, geboortedatum="12-04-1988")
    assert (await post_json(client, headers, [same]))["results"][0]["status"] == "duplicate"
    changed = dict(record, verwachte_einddatum=(today_local() + dt.timedelta(days=5)).isoformat())
    conflict = await post_json(client, headers, [changed])
    result = conflict["results"][0]
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "melding_id"
    assert "andere inhoud" in result["errors"][0]["message"]
    case = await case_of(sessions, first["results"][0]["case_id"])
    assert case.periods[0].expected_release_on == today_local() + dt.timedelta(days=120)
    # another sender may use the same melding_id for its own notice
    other = await api_key(sessions, "Zorg- en Veiligheidshuis Fryslân")
    assert (await post_json(client, other, [instroom("D-1", new_bsn())]))["results"][0][
        "status"
    ] == "accepted"


async def test_life_of_a_detention_transfer_change_release_and_return(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    person = {"bsn": bsn, "achternaam": "Jansma", "geboortedatum": "1988-04-12"}
    release = today_local() - dt.timedelta(days=1)
    body = await post_json(
        client,
        headers,
        [
            instroom(
                "L-1", bsn, datum_insluiting=(today_local() - dt.timedelta(days=60)).isoformat()
            ),
            {
                "melding_id": "L-2",
                "soort": "overplaatsing",
                **person,
                "inrichting": "Penitentiaire Inrichting Vught",
            },
            {
                "melding_id": "L-3",
                "soort": "wijziging",
                **person,
                "verwachte_einddatum": release.isoformat(),
            },
            {"melding_id": "L-4", "soort": "uitstroom", **person, "datum_ontslag": fmt(release)},
        ],
    )
    assert [r["status"] for r in body["results"]] == ["accepted"] * 4
    case_id = body["results"][0]["case_id"]
    assert {r["case_id"] for r in body["results"]} == {
        case_id
    }  # later rows found the case the first row opened
    case = await case_of(sessions, case_id)
    assert case.periods[0].institution_label == "PI Vught"
    assert case.periods[0].released_on == release
    assert case.status == CaseStatus.NAZORG
    assert case.aftercare_ends_on == release + dt.timedelta(days=30)
    async with sessions() as s:
        notices = (
            await s.scalars(select(Notice).where(Notice.case_id == case_id).order_by(Notice.id))
        ).all()
    assert [n.soort for n in notices] == ["instroom", "overplaatsing", "wijziging", "uitstroom"]
    assert notices[1].changes[0]["old"] == "PI Leeuwarden"
    assert notices[1].changes[0]["new"] == "PI Vught"
    # back in detention: the same case gets a new period, never a second person or case
    back = await post_json(
        client,
        headers,
        [
            instroom(
                "L-5", bsn, datum_insluiting=today_local().isoformat(), inrichting="PI Leeuwarden"
            )
        ],
    )
    assert back["results"][0]["case_id"] == case_id
    case = await case_of(sessions, case_id)
    assert len(case.periods) == 2
    assert case.status == CaseStatus.OPEN
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.bsn == bsn)) == 1
        )


async def test_release_before_entry_is_rejected_against_what_is_known(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    await post_json(
        client,
        headers,
        [instroom("R-1", bsn, datum_insluiting=(today_local() - dt.timedelta(days=3)).isoformat())],
    )
    body = await post_json(
        client,
        headers,
        [
            {
                "melding_id": "R-2",
                "soort": "uitstroom",
                "bsn": bsn,
                "achternaam": "Jansma",
                "geboortedatum": "1988-04-12",
                "datum_ontslag": (today_local() - dt.timedelta(days=10)).isoformat(),
            }
        ],
    )
    result = body["results"][0]
    assert result["status"] == "rejected"
    assert result["errors"][0]["field"] == "datum_ontslag"
    assert "vóór de datum van insluiting" in result["errors"][0]["message"]


async def test_out_of_order_release_waits_for_its_instroom_and_is_flagged(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    released = today_local() - dt.timedelta(days=1)
    early = await post_json(
        client,
        headers,
        [
            {
                "melding_id": "O-2",
                "soort": "uitstroom",
                "bsn": bsn,
                "achternaam": "Jansma",
                "geboortedatum": "1988-04-12",
                "datum_ontslag": released.isoformat(),
            }
        ],
    )
    result = early["results"][0]
    assert result["status"] == "accepted"
    assert result["parked"] is True
    assert "wacht op de instroommelding" in result["attention"]
    late = await post_json(
        client,
        headers,
        [
            instroom(
                "O-1", bsn, datum_insluiting=(today_local() - dt.timedelta(days=20)).isoformat()
            )
        ],
    )
    case = await case_of(sessions, late["results"][0]["case_id"])
    assert case.periods[0].released_on == released
    assert case.status == CaseStatus.NAZORG
    assert case.needs_attention is True
    async with sessions() as s:
        parked = (await s.scalars(select(Notice).where(Notice.melding_id == "O-2"))).one()
    assert parked.status == "accepted"
    assert parked.case_id == case.id
    assert "kwam eerder binnen" in parked.attention


async def test_a_real_gemeente_outside_every_region_is_parked_for_the_beheerder(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    bsn = new_bsn()
    body = await post_json(client, headers, [instroom("P-1", bsn, gemeente_code="GM0599")])
    result = body["results"][0]
    assert result["status"] == "accepted"
    assert result["parked"] is True
    assert result["case_id"] is None
    assert "Rotterdam (GM0599) valt buiten alle ingestelde regio's" in result["attention"]
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.bsn == bsn)) == 0
        )
    # Rotterdam joins region Fryslân (for the test); the beheerder processes the notice again
    async with sessions() as s, s.begin():
        from app.reference.models import Municipality

        frl = (await s.scalars(select(Region).where(Region.code == "FRL"))).one()
        (await s.get(Municipality, "GM0599")).region_id = frl.id  # type: ignore[union-attr]
        notice_id = (await s.scalars(select(Notice.id).where(Notice.melding_id == "P-1"))).one()
    from tests.conftest import BEHEERDER, csrf_of, login

    await login(client, BEHEERDER)
    inbox = await client.get("/beheer/meldingen")
    assert "P-1" in inbox.text
    response = await client.post(
        f"/beheer/meldingen/{notice_id}/opnieuw",
        data={"_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/beheer/meldingen?uitkomst=verwerkt"
    async with sessions() as s:
        person = (await s.scalars(select(Person).where(Person.bsn == bsn))).one()
        statuses = sorted(
            (await s.scalars(select(Notice.status).where(Notice.melding_id == "P-1"))).all()
        )
    assert person.last_name == "Jansma"
    assert statuses == ["accepted", "superseded"]


async def test_unknown_institution_is_accepted_and_flagged(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = await api_key(sessions)
    body = await post_json(
        client, headers, [instroom("I-1", new_bsn(), inrichting="PI Nergenshuizen")]
    )
    result = body["results"][0]
    assert result["status"] == "accepted"
    assert "Onbekende inrichting ‘PI Nergenshuizen’" in result["attention"]
    case = await case_of(sessions, result["case_id"])
    assert case.periods[0].institution_id is None
    assert case.periods[0].institution_label == "PI Nergenshuizen"
    assert case.needs_attention


async def test_a_server_fault_stores_nothing_of_the_batch(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = await api_key(sessions)
    from app.cases.ingest.rules import Rules

    original = Rules.uitstroom

    def broken(self: Rules, checked: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Rules, "uitstroom", broken)
    bsn = new_bsn()
    records = [
        instroom("F-1", bsn),
        instroom("F-2", new_bsn()),
        {
            "melding_id": "F-3",
            "soort": "uitstroom",
            "bsn": bsn,
            "achternaam": "Jansma",
            "geboortedatum": "1988-04-12",
            "datum_ontslag": today_local().isoformat(),
        },
    ]
    response = await client.post("/api/v1/notices", json=records, headers=headers)
    assert response.status_code == 500
    assert "niets van dit verzoek" in response.json()["detail"]
    async with sessions() as s:
        assert (
            await s.scalar(
                select(func.count()).select_from(Notice).where(Notice.melding_id.like("F-%"))
            )
            == 0
        )
        assert (
            await s.scalar(select(func.count()).select_from(Person).where(Person.bsn == bsn)) == 0
        )
        batch = (
            await s.scalars(select(NoticeBatch).order_by(NoticeBatch.id.desc()).limit(1))
        ).one()
    assert batch.status == "failed"
    assert b"F-3" in batch.raw  # the delivery itself is kept for re-processing
    monkeypatch.setattr(Rules, "uitstroom", original)
    retry = await post_json(client, headers, records)
    assert retry["accepted"] == 3


@pytest.mark.parametrize(
    ("content_type", "body", "status", "text"),
    [
        ("application/xml", b"<meldingen/>", 415, "application/json"),
        ("application/json", b"{not json", 400, "Geen geldige JSON"),
        ("application/json", b'{"melding_id": "x"}', 400, "Verwacht een JSON-lijst"),
        ("text/csv", b"", 400, "Het bestand is leeg."),
        ("text/csv", b"melding_id;soort;achternaam\r\nx;instroom;Y\r\n", 400, "‘bsn’"),
        (
            "text/csv",
            b"melding_id;soort;bsn;achternaam;geboortedatum\r\n",
            400,
            "alleen een kopregel",
        ),
        ("text/csv", b"PK\x03\x04 excel bytes", 400, "Excel-bestand"),
    ],
)
async def test_unreadable_deliveries_get_a_clear_error_and_are_kept(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    content_type: str,
    body: bytes,
    status: int,
    text: str,
) -> None:
    headers = await api_key(sessions)
    response = await client.post(
        "/api/v1/notices", content=body, headers={**headers, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert text in response.json()["detail"]
    if status == 400:
        async with sessions() as s:
            batch = (
                await s.scalars(select(NoticeBatch).order_by(NoticeBatch.id.desc()).limit(1))
            ).one()
        assert batch.status == "unreadable"
        assert batch.raw == body


async def test_who_may_send_notices(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    record = [instroom("A-1", new_bsn())]
    assert (await client.post("/api/v1/notices", json=record)).status_code == 401
    partner = await api_token(client, GGZ_PARTNER)
    refused = await client.post("/api/v1/notices", json=record, headers=partner)
    assert refused.status_code == 403
    assert "U mag geen detentiemeldingen aanleveren" in refused.json()["detail"]
    ggz_key = await api_key(sessions, "GGZ Friesland")
    assert (await client.post("/api/v1/notices", json=record, headers=ggz_key)).status_code == 403
    coordinator = await api_token(client, COORDINATOR_FRL)
    assert (await post_json(client, coordinator, record))["accepted"] == 1


async def test_oversized_delivery_is_refused(
    database_url: str, tmp_path: object, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from pathlib import Path

    from app.main import create_app
    from tests.conftest import settings_for

    headers = await api_key(sessions)
    app = create_app(settings_for(database_url, Path(str(tmp_path)), max_upload_bytes=2000))
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        big = csv_bytes([instroom(f"S-{i}", new_bsn()) for i in range(40)])
        response = await client.post(
            "/api/v1/notices", content=big, headers={**headers, "Content-Type": "text/csv"}
        )
    assert response.status_code == 413
