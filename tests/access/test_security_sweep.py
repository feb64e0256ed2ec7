"""The access sweep: every route of the app and the plan WebSocket, called anonymously, by a user of
another region and by the right user, must answer 401/404/200 as its kind requires. A route that
is not listed here fails the suite, so no route ships without someone deciding who may call it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import ApiToken, User
from app.cases.models import Case, Notice
from app.coordination.models import ActionItem, Appointment
from app.meetings.agenda import build_agenda
from app.meetings.models import AgendaItem, Meeting, MeetingSeries
from app.meetings.services import ensure_meetings
from app.reference.models import Organisation, Region
from tests.conftest import BEHEERDER, COORDINATOR_FRL, COORDINATOR_GRN, api_token, csrf_of, login
from tests.support.notice_helpers import csv_bytes, instroom, new_bsn

# What each route is about, and so who may call it:
#   public  – anyone, also without logging in
#   user    – anyone logged in (their own things: profile, lists filtered by the access policy)
#   object  – one case, meeting, appointment, action or delivery of the Fryslân region: the Groningen
#             coordinator gets 404, the Fryslân coordinator gets it
#   admin   – beheerders only (404 for everyone else)
#   stream  – an object route that streams (Server-Sent Events): only the refusal is checked
SWEEP: dict[tuple[str, str], str] = {
    ("GET", "/health"): "public",
    ("GET", "/privacy"): "public",
    ("GET", "/"): "public",
    ("GET", "/inloggen"): "public",
    ("POST", "/inloggen"): "public",
    ("POST", "/uitloggen"): "public",
    ("POST", "/api/v1/auth/token"): "public",
    ("GET", "/calendar/{secret:str}"): "public",
    ("GET", "/wachtwoord-vergeten"): "public",
    ("POST", "/wachtwoord-vergeten"): "public",
    ("GET", "/wachtwoord-herstellen/{secret:str}"): "public",
    ("POST", "/wachtwoord-herstellen/{secret:str}"): "public",
    ("GET", "/static/{file_path:path}"): "public",
    ("HEAD", "/static/{file_path:path}"): "public",
    ("GET", "/api/schema"): "public",
    ("GET", "/api/schema/openapi.json"): "public",
    ("GET", "/api/schema/{path:str}"): "public",
    ("GET", "/profiel"): "user",
    ("POST", "/profiel/wachtwoord"): "user",
    ("POST", "/profiel/agenda"): "user",
    ("POST", "/profiel/herinneringen"): "user",
    ("POST", "/profiel/tokens/intrekken"): "user",
    ("POST", "/profiel/tokens/{token_id:int}/intrekken"): "object",  # the Fryslân coordinator's
    ("GET", "/api/v1/me"): "user",
    ("GET", "/casussen"): "user",
    ("GET", "/api/v1/cases"): "user",
    ("POST", "/api/v1/notices"): "user",
    ("GET", "/meldingen"): "user",
    ("POST", "/meldingen"): "user",
    ("GET", "/overleggen"): "user",
    ("GET", "/api/v1/meetings"): "user",
    ("GET", "/mijn-werk"): "user",
    ("GET", "/casussen/{case_id:int}"): "object",
    ("GET", "/api/v1/cases/{case_id:int}"): "object",
    ("GET", "/casussen/{case_id:int}/leefgebieden"): "object",
    ("POST", "/casussen/{case_id:int}/leefgebieden/{key:str}"): "object",
    ("POST", "/casussen/{case_id:int}/basisdossier"): "object",
    ("POST", "/casussen/{case_id:int}/aandacht-afgehandeld"): "object",
    ("GET", "/casussen/{case_id:int}/plan"): "object",
    ("POST", "/api/v1/cases/{case_id:int}/plan/ticket"): "object",
    ("GET", "/casussen/{case_id:int}/koppeling"): "object",
    ("POST", "/casussen/{case_id:int}/koppeling"): "object",
    ("GET", "/casussen/{case_id:int}/acties"): "object",
    ("POST", "/casussen/{case_id:int}/acties"): "object",
    ("POST", "/acties/{action_id:int}"): "object",
    ("GET", "/acties/{action_id:int}/geschiedenis"): "object",
    ("GET", "/casussen/{case_id:int}/momenten/nieuw"): "object",
    ("POST", "/casussen/{case_id:int}/momenten"): "object",
    ("GET", "/casussen/{case_id:int}/momenten/{appointment_id:int}"): "object",
    ("POST", "/casussen/{case_id:int}/momenten/{appointment_id:int}"): "object",
    ("POST", "/casussen/{case_id:int}/momenten/{appointment_id:int}/status"): "object",
    ("POST", "/casussen/{case_id:int}/momenten/{appointment_id:int}/checklist"): "object",
    ("GET", "/casussen/{case_id:int}/afsluiten"): "object",
    ("POST", "/casussen/{case_id:int}/afsluiten"): "object",
    ("GET", "/meldingen/{batch_id:int}"): "object",
    ("GET", "/meldingen/{batch_id:int}/afgewezen.csv"): "object",
    ("POST", "/meldingen/{batch_id:int}/verwerken"): "object",
    ("POST", "/meldingen/{batch_id:int}/annuleren"): "object",
    ("GET", "/overleggen/{meeting_id:int}"): "object",
    ("POST", "/overleggen/{meeting_id:int}/agenda/opbouwen"): "object",
    ("POST", "/overleggen/{meeting_id:int}/agenda/publiceren"): "object",
    ("POST", "/overleggen/{meeting_id:int}/agenda/{item_id:int}/{action:str}"): "object",
    ("GET", "/overleggen/{meeting_id:int}/agenda/zoeken"): "object",
    ("POST", "/overleggen/{meeting_id:int}/agenda/toevoegen"): "object",
    ("GET", "/api/v1/meetings/{meeting_id:int}"): "object",
    ("POST", "/api/v1/meetings/{meeting_id:int}/agenda/generate"): "object",
    ("POST", "/overleggen/{meeting_id:int}/planning"): "object",
    ("POST", "/overleggen/{meeting_id:int}/annuleren"): "object",
    ("GET", "/overleggen/{meeting_id:int}/overleg"): "object",
    ("GET", "/overleggen/{meeting_id:int}/overleg/staat"): "object",
    ("GET", "/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}"): "object",
    ("GET", "/overleggen/{meeting_id:int}/overleg/aanwezig"): "object",
    ("GET", "/overleggen/{meeting_id:int}/gebeurtenissen"): "stream",
    ("POST", "/overleggen/{meeting_id:int}/overleg/{action:str}"): "object",
    ("POST", "/overleggen/{meeting_id:int}/overleg/punt/{item_id:int}/{action:str}"): "object",
    ("POST", "/overleggen/{meeting_id:int}/overleg/aanwezigheid"): "object",
    ("GET", "/overleggen/{meeting_id:int}/besluitenlijst"): "object",
    ("POST", "/overleggen/{meeting_id:int}/besluitenlijst"): "object",
    ("GET", "/beheer"): "admin",
    ("GET", "/beheer/gebruikers"): "admin",
    ("POST", "/beheer/gebruikers"): "admin",
    ("GET", "/beheer/gebruikers/{user_id:int}"): "admin",
    ("POST", "/beheer/gebruikers/{user_id:int}"): "admin",
    ("GET", "/beheer/organisaties"): "admin",
    ("POST", "/beheer/organisaties"): "admin",
    ("GET", "/beheer/api-sleutels"): "admin",
    ("POST", "/beheer/api-sleutels"): "admin",
    ("POST", "/beheer/api-sleutels/{key_id:int}/intrekken"): "admin",
    ("GET", "/beheer/reeksen"): "admin",
    ("GET", "/beheer/reeksen/nieuw"): "admin",
    ("POST", "/beheer/reeksen/nieuw"): "admin",
    ("GET", "/beheer/reeksen/{series_id:int}"): "admin",
    ("POST", "/beheer/reeksen/{series_id:int}"): "admin",
    ("GET", "/beheer/audit"): "admin",
    ("GET", "/beheer/audit.csv"): "admin",
    ("GET", "/beheer/meldingen"): "admin",
    ("POST", "/beheer/meldingen/{notice_id:int}/opnieuw"): "admin",
    ("POST", "/beheer/leveringen/{batch_id:int}/opnieuw"): "admin",
}


def app_routes(app: Litestar) -> tuple[set[tuple[str, str]], set[str]]:
    http: set[tuple[str, str]] = set()
    sockets: set[str] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    if method != "OPTIONS":
                        http.add((str(method), route.path))
        elif isinstance(route, WebSocketRoute):
            sockets.add(route.path)
    return http, sockets


def test_every_route_is_in_the_sweep(app: Litestar) -> None:
    http, sockets = app_routes(app)
    assert sorted(http - set(SWEEP)) == [], "new route(s): add them to SWEEP with their access"
    assert sorted(set(SWEEP) - http) == []
    # the one socket is swept in tests/realtime/test_plan_channel.py (a live server: the socket runs the Yjs protocol)
    assert sockets == {"/collab/plans/{case_id:int}"}


@dataclass
class Objects:
    """Ids of the Fryslân objects the routes are called with."""

    values: dict[str, str]

    def path(self, template: str) -> str:
        def fill(match: re.Match[str]) -> str:
            return self.values[match.group(1)]

        return re.sub(r"\{(\w+)(?::\w+)?\}", fill, template)


async def frl_objects(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> Objects:
    async with sessions() as s, s.begin():
        await ensure_meetings(s)
        meeting = (
            (
                await s.scalars(
                    select(Meeting)
                    .join(MeetingSeries)
                    .join(Region)
                    .where(Region.code == "FRL")
                    .order_by(Meeting.starts_at.desc())
                )
            )
            .unique()
            .first()
        )
        assert meeting is not None
        await build_agenda(s, meeting)
        item = (
            await s.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))
        ).first()
        appointment = (
            (
                await s.scalars(
                    select(Appointment)
                    .join(Case, Case.id == Appointment.case_id)
                    .where(Case.reference.like("FRL-%"))
                )
            )
            .unique()
            .first()
        )
        assert appointment is not None
        case = await s.get(Case, appointment.case_id)
        assert item is not None
        assert case is not None
        action = ActionItem(case_id=case.id, leefgebied="onderdak", description="Sweep")
        s.add(action)
        user = (await s.scalars(select(User).where(User.email == COORDINATOR_FRL))).unique().one()
        key = (await s.scalars(select(ApiToken))).first()
        own_token = ApiToken(token_hash="0" * 64, prefix="kt_sweep", user_id=user.id)
        s.add(own_token)
        notice = (await s.scalars(select(Notice))).first()
        series = meeting.series_id
        await s.flush()
        values = {
            "case_id": str(case.id),
            "meeting_id": str(meeting.id),
            "item_id": str(item.id),
            "action_id": str(action.id),
            "appointment_id": str(appointment.id),
            "key": "onderdak",
            "action": "start",
            "user_id": str(user.id),
            "key_id": str(key.id if key else 0),
            "token_id": str(own_token.id),
            "series_id": str(series),
            "notice_id": str(notice.id if notice else 0),
            "secret": "niet-bestaand.ics",
            "file_path": "build/manifest.json",
            "path": "openapi.json",
        }
    # an upload of the Fryslân coordinator's organisation
    await login(client, COORDINATOR_FRL)
    preview = await client.post(
        "/meldingen",
        files={"bestand": ("weeklijst.csv", csv_bytes([instroom("SW-1", new_bsn())]), "text/csv")},
        data={"_csrf_token": csrf_of(client)},
    )
    found = re.search(r'action="/meldingen/(\d+)/verwerken"', preview.text)
    assert found
    values["batch_id"] = found.group(1)
    client.cookies.clear()
    async with sessions() as s:
        org = (
            (await s.scalars(select(Organisation).where(Organisation.name.like("%Fryslân%"))))
            .unique()
            .first()
        )
    assert org is not None
    return Objects(values)


@dataclass
class Caller:
    """One identity on the shared test client: its cookies (session, CSRF) and API token."""

    name: str
    cookies: dict[str, str]
    token: dict[str, str] | None


async def caller(client: AsyncTestClient[Litestar], email: str | None) -> Caller:
    client.cookies.clear()
    await client.get("/inloggen")  # a CSRF cookie, so refusals are about access, not CSRF
    token = None
    if email:
        await login(client, email)
        token = await api_token(client, email)
    cookies = dict(client.cookies.items())
    client.cookies.clear()
    return Caller(email or "anonymous", cookies, token)


async def call(client: AsyncTestClient[Litestar], who: Caller, method: str, path: str) -> Any:
    client.cookies.clear()
    client.cookies.update(who.cookies)
    csrf = who.cookies.get("kt_csrf", "")
    headers = {"x-csrftoken": csrf}
    if who.token and path.startswith("/api/"):
        headers.update(who.token)
    if method in ("GET", "HEAD"):
        return await client.request(method, path, headers=headers, follow_redirects=False)
    return await client.request(
        method, path, headers=headers, data={"_csrf_token": csrf}, follow_redirects=False
    )


def refused_anonymously(path: str, response: Any) -> bool:
    if path.startswith("/api/"):
        return bool(response.status_code == 401)
    return response.status_code == 303 and response.headers["location"].startswith("/inloggen")


def allowed(response: Any) -> bool:
    return response.status_code not in (401, 403, 404) and response.status_code < 500


async def test_every_route_answers_each_caller_as_its_kind_requires(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    objects = await frl_objects(client, sessions)
    anonymous = await caller(client, None)
    other = await caller(client, COORDINATOR_GRN)
    right = await caller(client, COORDINATOR_FRL)
    beheer = await caller(client, BEHEERDER)
    problems = []
    for (method, template), kind in sorted(SWEEP.items(), key=lambda kv: kv[0][1]):
        path = objects.path(template)
        seen = await call(client, anonymous, method, path)
        if kind == "public":
            if template.startswith("/calendar/"):
                ok = seen.status_code == 404  # a made-up secret
            elif template.startswith("/wachtwoord-herstellen/") and method == "GET":
                ok = seen.status_code == 400 and "Deze link werkt niet" in seen.text
            else:
                ok = seen.status_code < 400 or (method == "POST" and seen.status_code < 500)
            if not ok:
                problems.append((method, template, "anonymous", seen.status_code))
            continue
        if not refused_anonymously(path, seen):
            problems.append((method, template, "anonymous", seen.status_code))
        if kind == "user":
            answer = await call(client, other, method, path)
            if not allowed(answer):
                problems.append((method, template, other.name, answer.status_code))
        elif kind in ("object", "stream"):
            answer = await call(client, other, method, path)
            if answer.status_code != 404:
                problems.append((method, template, other.name, answer.status_code))
            if method == "GET" and kind == "object":
                mine = await call(client, right, method, path)
                if not allowed(mine):
                    problems.append((method, template, right.name, mine.status_code))
        elif kind == "admin":
            for who in (other, right):
                answer = await call(client, who, method, path)
                if answer.status_code != 404:
                    problems.append((method, template, who.name, answer.status_code))
            if method == "GET":
                answer = await call(client, beheer, method, path)
                if not allowed(answer):
                    problems.append((method, template, beheer.name, answer.status_code))
    assert problems == [], problems


async def test_every_unsafe_form_refuses_a_post_without_its_csrf_token(
    client: AsyncTestClient[Litestar], sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Logged in as someone who may use the form, but posting from another site: 403, in Dutch."""
    objects = await frl_objects(client, sessions)
    right = await caller(client, COORDINATOR_FRL)
    beheer = await caller(client, BEHEERDER)
    forms = [
        (template, kind)
        for (method, template), kind in SWEEP.items()
        if method == "POST" and not template.startswith("/api/")
    ]
    assert len(forms) > 30
    problems = []
    for template, kind in forms:
        who = beheer if kind == "admin" else right
        client.cookies.clear()
        client.cookies.update(who.cookies)
        response = await client.post(
            objects.path(template), data={"opmerking": "van elders"}, follow_redirects=False
        )
        if response.status_code != 403 or "Verzoek geweigerd" not in response.text:
            problems.append((template, response.status_code))
    assert problems == []
