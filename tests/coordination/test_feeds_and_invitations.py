"""Personal calendar feeds and invitations: valid iCalendar for independent parsers (icalendar,
ical.js as Thunderbird uses it, the khal calendar app), stable UIDs, SEQUENCE and cancellations,
and not a surname, birth date or BSN of anyone in any feed or e-mail."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from icalendar import Calendar
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import User
from app.cases.models import Person
from app.coordination.invitations import send_invitations_job
from app.coordination.models import Appointment, AppointmentKind
from app.coordination.reminders import send_reminders_job
from app.mail import OutboundMessage
from app.meetings.models import Meeting, MeetingSeries
from app.meetings.services import ensure_meetings
from app.reference.models import Organisation, Region
from app.settings import ROOT, Settings
from app.web import AMSTERDAM
from tests.conftest import COORDINATOR_FRL, KHAL, RECLASSERING, api_token, csrf_of, login

DEMO_USERS = [
    "coordinator@fryslan.zvh.example",
    "casemanager@pi-leeuwarden.example",
    "casemanager@reclassering.example",
    "partner@ggz-friesland.example",
    "coordinator@groningen.zvh.example",
    "gcn@leeuwarden.example",
]


async def feed_bytes(client: AsyncTestClient[Litestar], email: str) -> bytes:
    token = await api_token(client, email)
    url = (await client.get("/api/v1/me", headers=token)).json()["calendar_url"]
    response = await client.get(urlparse(url).path)
    assert response.status_code == 200, response.text
    return response.content


async def run(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def parse_strictly(data: bytes) -> Calendar:
    cal = Calendar.from_ical(data)
    problems = [(c.name, c.errors) for c in cal.walk() if c.errors]
    assert problems == []
    return cal


def events(cal: Calendar) -> dict[str, Any]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


async def next_meeting(sessions: async_sessionmaker[AsyncSession]) -> Meeting:
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
        return (
            (
                await s.scalars(
                    select(Meeting)
                    .join(MeetingSeries)
                    .join(Region)
                    .where(Region.code == "FRL", Meeting.starts_at > dt.datetime.now(dt.UTC))
                    .order_by(Meeting.starts_at)
                    .limit(1)
                )
            )
            .unique()
            .one()
        )


async def test_a_feed_is_valid_icalendar_with_its_timezone_and_stable_uids(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await next_meeting(sessions)
    first = parse_strictly(await feed_bytes(client, RECLASSERING))
    zones = [str(tz["TZID"]) for tz in first.walk("VTIMEZONE")]
    assert zones == ["Europe/Amsterdam"]
    found = events(first)
    kinds = {uid.split("-")[0] for uid in found}
    assert kinds == {"meeting", "moment", "action"}  # meetings, moments and action due dates
    for event in found.values():
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY"):
            assert prop in event
        start = event["DTSTART"].dt
        if isinstance(start, dt.datetime):
            assert start.tzinfo is not None
            assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    meeting = next(e for uid, e in found.items() if uid.startswith("meeting-"))
    assert meeting["DTSTART"].dt.astimezone(AMSTERDAM).time() == dt.time(10, 0)
    again = events(parse_strictly(await feed_bytes(client, RECLASSERING)))
    assert set(again) == set(found)  # the same UIDs every time


async def test_a_replanned_meeting_moves_in_feeds_and_invitations_with_a_higher_sequence(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    meeting = await next_meeting(sessions)
    ctx = {"session_factory": sessions, "settings": settings}
    await send_invitations_job(ctx)
    uid = f"meeting-{meeting.id}@"
    before = next(
        e
        for u, e in events(parse_strictly(await feed_bytes(client, RECLASSERING))).items()
        if u.startswith(uid)
    )
    await login(client, COORDINATOR_FRL)
    new_day = meeting.starts_at.astimezone(AMSTERDAM).date() + dt.timedelta(days=1)
    moved = await client.post(
        f"/overleggen/{meeting.id}/planning",
        data={
            "date": new_day.isoformat(),
            "time": "13:30",
            "minutes": "90",
            "location": "ZVH Fryslân, zaal 2",
            "online_url": "",
            "_csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303
    client.cookies.clear()
    after = next(
        e
        for u, e in events(parse_strictly(await feed_bytes(client, RECLASSERING))).items()
        if u.startswith(uid)
    )
    assert after["DTSTART"].dt.astimezone(AMSTERDAM) == dt.datetime.combine(
        new_day, dt.time(13, 30), tzinfo=AMSTERDAM
    )
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert str(after["LOCATION"]) == "ZVH Fryslân, zaal 2"

    await send_invitations_job(ctx)
    async with sessions() as s:
        reclassering = (
            (await s.scalars(select(User).where(User.email == RECLASSERING))).unique().one()
        )
        sent = (
            await s.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.recipient == RECLASSERING,
                    OutboundMessage.dedupe_key.like(f"invite:meeting:{meeting.id}:%"),
                )
                .order_by(OutboundMessage.id)
            )
        ).all()
    assert reclassering.id
    assert [m.ics_method for m in sent] == ["REQUEST", "REQUEST"]
    update = Calendar.from_ical(sent[-1].ics)
    assert str(update["METHOD"]) == "REQUEST"
    event = next(iter(update.walk("VEVENT")))
    assert int(str(event["SEQUENCE"])) == int(after["SEQUENCE"])
    assert sent[-1].subject.startswith("Gewijzigd:")
    await send_invitations_job(ctx)  # nothing new: nothing sent twice
    async with sessions() as s:
        count = len(
            (
                await s.scalars(
                    select(OutboundMessage.id).where(
                        OutboundMessage.dedupe_key.like(f"invite:meeting:{meeting.id}:%")
                    )
                )
            ).all()
        )

    await login(client, COORDINATOR_FRL)
    await client.post(
        f"/overleggen/{meeting.id}/annuleren",
        data={"_csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    client.cookies.clear()
    cancelled = next(
        e
        for u, e in events(parse_strictly(await feed_bytes(client, RECLASSERING))).items()
        if u.startswith(uid)
    )
    assert str(cancelled["STATUS"]) == "CANCELLED"
    await send_invitations_job(ctx)
    async with sessions() as s:
        cancels = (
            await s.scalars(
                select(OutboundMessage).where(
                    OutboundMessage.dedupe_key.like(f"invite:meeting:{meeting.id}:%"),
                    OutboundMessage.ics_method == "CANCEL",
                )
            )
        ).all()
    assert len(cancels) == count // 2  # every participant who had the invitation
    assert str(Calendar.from_ical(cancels[0].ics)["METHOD"]) == "CANCEL"


def _needles(persons: list[Person], staff: set[str]) -> list[tuple[str, re.Pattern[str]]]:
    needles: list[tuple[str, re.Pattern[str]]] = []
    for person in persons:
        born = person.birth_date
        for text in (
            person.bsn,
            born.isoformat(),
            born.strftime("%d-%m-%Y"),
            born.strftime("%Y%m%d"),
        ):
            needles.append((person.bsn, re.compile(re.escape(text))))
        if person.last_name.lower() not in staff:
            needles.append((person.bsn, re.compile(rf"\b{re.escape(person.last_name)}\b", re.I)))
    return needles


async def test_no_feed_or_email_holds_a_surname_birth_date_or_bsn(
    client: AsyncTestClient[Litestar],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await next_meeting(sessions)
    ctx: dict[str, Any] = {"session_factory": sessions, "settings": settings}
    await send_invitations_job(ctx)
    async with sessions() as s:
        releases = (
            await s.scalars(
                select(Appointment.starts_at).where(
                    Appointment.kind == AppointmentKind.OPVANG_AAN_DE_POORT
                )
            )
        ).all()
        persons = list((await s.scalars(select(Person))).all())
        staff_words = {
            w.lower()
            for name in [u.name for u in (await s.scalars(select(User))).unique()]
            + [o.name for o in (await s.scalars(select(Organisation))).unique()]
            for w in name.split()
        }
    # the reminders of every day the demo data has one due: a week and a day before each release
    for start in sorted(releases)[:6]:
        for days in (7, 1):
            await send_reminders_job({**ctx, "now": start - dt.timedelta(days=days)})
    await send_reminders_job(ctx)
    await login(client, COORDINATOR_FRL)
    meeting = await next_meeting(sessions)
    await client.post(
        f"/overleggen/{meeting.id}/agenda/publiceren",
        headers={"HX-Request": "true", "x-csrftoken": csrf_of(client)},
    )
    client.cookies.clear()
    async with sessions() as s:
        messages = (await s.scalars(select(OutboundMessage))).all()
    kinds = {m.kind for m in messages}
    assert {"invitation", "reminder_action_due", "reminder_release", "agenda_published"} <= kinds
    texts = [f"{m.subject}\n{m.body_text}\n{m.body_html}\n{m.ics}" for m in messages]
    texts += [(await feed_bytes(client, email)).decode() for email in DEMO_USERS]
    needles = _needles(persons, staff_words)
    assert len(persons) >= 30
    assert len(needles) > 4 * len(persons)  # most surnames are checked, not skipped
    leaks = sorted({bsn for bsn, pattern in needles for text in texts if pattern.search(text)})
    assert leaks == []


async def test_ical_js_reads_the_feed_as_thunderbird_would(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    await next_meeting(sessions)
    data = await feed_bytes(client, RECLASSERING)
    node = shutil.which("node") or "node"
    out = await run(node, str(ROOT / "tests" / "node" / "icaljs_read.mjs"), stdin=data)
    read = {e["uid"]: e for e in json.loads(out)["events"]}
    ours = events(parse_strictly(data))
    assert set(read) == set(ours)
    for uid, event in ours.items():
        start = event["DTSTART"].dt
        theirs = read[uid]
        if isinstance(start, dt.datetime):
            assert theirs["zone"] == "Europe/Amsterdam"
            assert dt.datetime.fromisoformat(theirs["start"].replace("Z", "+00:00")) == start
        else:
            assert theirs["start"] == start.isoformat()
        assert theirs["summary"] == str(event["SUMMARY"])
        assert theirs["sequence"] == int(event["SEQUENCE"])
        assert theirs["status"] == str(event["STATUS"])


@pytest.mark.calendar_client
async def test_the_khal_calendar_app_imports_the_feed_at_the_right_local_times(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if not KHAL:
        pytest.skip("agenda-app-test overgeslagen: khal niet gevonden (apt-get install khal)")
    meeting = await next_meeting(sessions)
    feed = tmp_path / "feed.ics"
    feed.write_bytes(await feed_bytes(client, RECLASSERING))
    (tmp_path / "cal").mkdir()
    config = tmp_path / "khal.conf"
    config.write_text(
        f"[calendars]\n[[kt]]\npath = {tmp_path / 'cal'}\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        "local_timezone = Europe/Amsterdam\ndefault_timezone = Europe/Amsterdam\n"
        f"[sqlite]\npath = {tmp_path / 'khal.db'}\n"
    )
    env = {"TZ": "UTC", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    await run(KHAL, "-c", str(config), "import", "--batch", "-a", "kt", str(feed), env=env)
    day = meeting.starts_at.astimezone(AMSTERDAM).date()
    listed = await run(
        KHAL,
        "-c",
        str(config),
        "list",
        "--format",
        "{start} {title}",
        "--day-format",
        "",
        day.isoformat(),
        (day + dt.timedelta(days=1)).isoformat(),
        env=env,
    )
    assert f"{day.isoformat()} 10:00 Instroomoverleg Fryslân" in listed
