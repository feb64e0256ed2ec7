"""The plan's realtime channel (WebSocket), its ticket API, and the printable plan with its versions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from litestar import Request, WebSocket, get, post, websocket
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import select

from app import audit as audit_log
from app.access import get_visible_case, may_edit_case
from app.accounts import principals
from app.accounts import services as accounts
from app.audit import AuditContext
from app.auth import NotFoundError, client_ip, resolve_principal
from app.cases.deps import VisibleCase
from app.collab.server import CollabServer
from app.coordination import plans
from app.coordination.models import PlanVersion
from app.deps import DB, Audit, CurrentUser
from app.meetings.models import Meeting
from app.principal import Principal
from app.settings import Settings
from app.web import page


def _same_origin(socket: WebSocket[Any, Any, Any], settings: Settings) -> bool:
    """Cookie-authenticated sockets must come from our own pages (no cross-site WebSocket hijacking)."""
    origin = socket.headers.get("origin")
    if not origin:
        return True  # non-browser clients send no Origin; they authenticate with a ticket anyway
    host = socket.headers.get("host", "")
    parsed = urlparse(origin)
    return parsed.netloc == host or origin.rstrip("/") == settings.base_url


@websocket("/collab/plans/{case_id:int}", opt={"public": True})
async def plan_socket(
    socket: WebSocket[Any, Any, Any], case_id: FromPath[int], ticket: FromQuery[str] = ""
) -> None:
    """The y-websocket endpoint of a case's plan: session cookie or single-use ticket
    (docs/interfaces.md, "The plan channel").

    One function for the socket's whole life — who is calling, whether they may see the case, the
    audit of opening and editing, serving it and its close code — because each step needs what the
    one before it found (the principal, the case, the audit context)."""
    await socket.accept()
    app = socket.app
    settings: Settings = app.state.settings
    factory = app.state.session_factory
    principal: Principal | None = None
    via = "collab"
    async with factory() as db:
        if ticket:
            user_id = await plans.redeem_ticket(db, ticket, case_id)
            await db.commit()
            user = await accounts.load_user(db, user_id) if user_id else None
            if user is not None and user.active and (settings.demo_allowed or not user.is_demo):
                principal = await principals.principal_for_user(db, user)
            via = "collab-ticket"
        elif _same_origin(socket, settings):
            principal = await resolve_principal(socket)
        if principal is None:
            await socket.close(code=4401, reason="Niet ingelogd")
            return
        case = await get_visible_case(db, principal, case_id)
        if case is None:
            await socket.close(code=4403, reason="Geen toegang")
            return
        sections = plans.sections_of(case)
        ctx = AuditContext(
            user_id=principal.user_id,
            token_id=None,
            actor=principal.audit_actor,
            ip=client_ip(socket),
            request_id="",
            channel=via,
        )
        audit_log.record(
            db,
            ctx,
            "plan.opened",
            case=case,
            object_type="plan",
            object_id=case.id,
            fields=["plan"],
        )
        await db.commit()
    server: CollabServer = app.state.collab
    editable = may_edit_case(principal)

    async def receive() -> bytes:
        data = await socket.receive_data(mode="binary")
        if not editable and data[:1] == b"\x00" and data[1:2] in (b"\x01", b"\x02"):
            return b"\x03"  # read-only: an edit becomes a harmless awareness query
        return data if isinstance(data, bytes) else data.encode()

    server_send = socket.scope.get("state", {}).get("server_send")

    async def send(frame: bytes) -> None:
        if server_send is not None:  # the production server's own send (see app.main)
            await server_send({"type": "websocket.send", "bytes": frame})
        else:
            await socket.send_bytes(frame)

    code, edits = await server.serve(
        case_id,
        sections,
        user_id=principal.user_id or 0,
        name=f"{principal.name} ({principal.organisation_name})",
        receive=receive,
        send=send,
    )
    if edits:
        async with factory() as db, db.begin():
            audit_log.record(
                db,
                ctx,
                "plan.edited",
                case=case,
                object_type="plan",
                object_id=case.id,
                fields=["plan"],
            )
    if code != 1000:
        try:
            await socket.close(code=code)
        except Exception:  # already gone
            return


@post(
    "/api/v1/cases/{case_id:int}/plan/ticket",
    tags=["plan"],
    security=[{"bearer": []}],
    status_code=200,
)
async def plan_ticket(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
) -> dict[str, str]:
    """A short-lived, single-use URL to open the plan's realtime channel with any Yjs client."""
    if principal.user_id is None:
        raise NotFoundError()
    value = await plans.create_ticket(db, principal.user_id, case.id)
    audit_log.record(
        db, audit, "plan.ticket_issued", case=case, object_type="plan", object_id=case.id
    )
    settings: Settings = request.app.state.settings
    base = settings.base_url.replace("https://", "wss://").replace("http://", "ws://")
    return {"url": f"{base}/collab/plans/{case.id}?ticket={value}"}


@get("/casussen/{case_id:int}/plan", include_in_schema=False)
async def plan_print(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    versie: FromQuery[str] = "",
) -> Template:
    """The plan as it stands (or an adopted version), for reading and printing."""
    history = await plans.versions(db, case.id)
    chosen: PlanVersion | None = next((v for v in history if str(v.id) == versie), None)
    server: CollabServer = request.app.state.collab
    texts = (
        chosen.texts if chosen else await server.plan_texts(case.id, plans.sections_of(case), db)
    )
    meetings = (
        {
            m.id: m
            for m in (
                await db.scalars(
                    select(Meeting).where(
                        Meeting.id.in_([v.meeting_id for v in history if v.meeting_id])
                    )
                )
            )
            .unique()
            .all()
        }
        if history
        else {}
    )
    audit_log.record(
        db, audit, "plan.viewed", case=case, object_type="plan", object_id=case.id, fields=["plan"]
    )
    return page(
        request,
        "plans/print.html",
        principal=principal,
        active="casussen",
        title=f"Plan van aanpak {case.reference}",
        case=case,
        texts=texts,
        labels=plans.section_labels(case),
        history=history,
        chosen=chosen,
        meetings=meetings,
    )


ROUTES = [plan_socket, plan_ticket, plan_print]
