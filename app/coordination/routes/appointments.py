"""The pages of a case's appointments (moments, on screen): plan one, change it, tick the release
checklist, change its status."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app import audit as audit_log
from app.access import may_edit_case
from app.accounts.models import User
from app.auth import NotFoundError
from app.cases.deps import VisibleCase
from app.cases.models import Case, CaseStatus
from app.coordination import appointments as service
from app.coordination.appointment_form import AppointmentInputError, form_values, parse_form
from app.coordination.deps import CaseAppointment
from app.coordination.models import Appointment, AppointmentKind, AppointmentStatus
from app.coordination.panel import owner_options
from app.coordination.recipients import CaseAccess
from app.coordination.release import CHECKLIST_KEYS, RELEASE_CHECKLIST
from app.db import utcnow
from app.deps import DB, Audit, CurrentUser
from app.principal import Principal
from app.web import page, today_local

FormData = URLEncodedBody[dict[str, Any]]
KINDS = {k.value: k for k in AppointmentKind}
FIELD_LABELS = {
    "location": "plaats",
    "online_url": "online link",
    "responsible_user_id": "verantwoordelijke",
    "participants": "deelnemers",
    "notes": "notitie",
    "met_by": "wie ophaalt",
    "transport": "vervoer",
    "first_place": "eerste afspraak",
    "first_at": "tijd eerste afspraak",
    "first_with": "met wie",
    "follows_release": "meebewegen met de meldingen",
    "handover_organisation_id": "overdracht aan",
    "handover_note": "overdrachtsnotitie",
    "all_day": "hele dag",
}


async def _choices(db: DB, case: Case) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """People who may take part (the region's participants who may see this case, by the access
    policy) and the partner organisations."""
    people: list[tuple[int, str]] = []
    orgs: list[tuple[int, str]] = []
    access = CaseAccess(db)
    for key, label in await owner_options(db, case):
        if key.startswith("o"):
            orgs.append((int(key[1:]), label))
            continue
        user = await db.get(User, int(key[1:]))
        if user is not None and await access.may_see(user, case.id):
            people.append((user.id, label))
    return people, orgs


async def _page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    case: Case,
    kind: AppointmentKind,
    appointment: Appointment | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    people, orgs = await _choices(db, case)
    return page(
        request,
        "coordination/appointment.html",
        principal=principal,
        title=f"{kind.label} – {case.reference}",
        active="casussen",
        case=case,
        kind=kind,
        appointment=appointment,
        form=form if form is not None else form_values(appointment, kind, case),
        errors=errors or {},
        people=people,
        organisations=orgs,
        checklist=RELEASE_CHECKLIST,
        region=case.region,
        history=await service.history(db, appointment.id) if appointment else [],
        may_edit=may_edit_case(principal) and case.status != CaseStatus.CLOSED,
        saved=saved,
        field_labels=FIELD_LABELS,
        status_code=status_code,
    )


async def _parse(
    db: DB, case: Case, kind: AppointmentKind, data: dict[str, Any]
) -> tuple[dict[str, Any], list[int]]:
    """The form's values, with the people and organisations it may name limited to the choices."""
    people, orgs = await _choices(db, case)
    return parse_form(
        kind,
        data,
        candidates={p for p, _ in people},
        organisations={o for o, _ in orgs},
        today=today_local(),
    )


def _saved(case: Case, appointment: Appointment, anchor: str = "?opgeslagen=1") -> Redirect:
    return Redirect(f"/casussen/{case.id}/momenten/{appointment.id}{anchor}", status_code=303)


@get("/casussen/{case_id:int}/momenten/nieuw", include_in_schema=False)
async def new_appointment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    case: VisibleCase,
    soort: FromQuery[str] = "trajectgesprek",
) -> Template:
    if soort not in KINDS or not may_edit_case(principal) or case.status == CaseStatus.CLOSED:
        raise NotFoundError()
    return await _page(request, db, principal, case, KINDS[soort], None)


@post("/casussen/{case_id:int}/momenten", include_in_schema=False)
async def create_appointment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    data: FormData,
) -> Template | Redirect:
    kind = KINDS.get(str(data.get("kind", "")))
    if kind is None or not may_edit_case(principal) or case.status == CaseStatus.CLOSED:
        raise NotFoundError()
    try:
        values, participants = await _parse(db, case, kind, data)
    except AppointmentInputError as exc:
        return await _page(
            request,
            db,
            principal,
            case,
            kind,
            None,
            form=dict(data),
            errors=exc.errors,
            status_code=400,
        )
    appointment = await service.create(
        db, case, kind, values, participants, user_id=principal.user_id
    )
    audit_log.record(
        db,
        audit,
        "appointment.created",
        case=case,
        object_type="appointment",
        object_id=appointment.id,
        fields=sorted(values),
    )
    return _saved(case, appointment)


@get("/casussen/{case_id:int}/momenten/{appointment_id:int}", include_in_schema=False)
async def appointment_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    appointment: CaseAppointment,
    opgeslagen: FromQuery[str] = "",
) -> Template:
    audit_log.record(
        db,
        audit,
        "appointment.viewed",
        case=case,
        object_type="appointment",
        object_id=appointment.id,
        fields=["appointment"],
    )
    return await _page(
        request,
        db,
        principal,
        case,
        AppointmentKind(appointment.kind),
        appointment,
        saved=bool(opgeslagen),
    )


@post("/casussen/{case_id:int}/momenten/{appointment_id:int}", include_in_schema=False)
async def update_appointment(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    appointment: CaseAppointment,
    data: FormData,
) -> Template | Redirect:
    if not may_edit_case(principal) or case.status == CaseStatus.CLOSED:
        raise NotFoundError()
    kind = AppointmentKind(appointment.kind)
    try:
        values, participants = await _parse(db, case, kind, data)
    except AppointmentInputError as exc:
        return await _page(
            request,
            db,
            principal,
            case,
            kind,
            appointment,
            form=dict(data),
            errors=exc.errors,
            status_code=400,
        )
    changes = await service.update(db, appointment, values, participants, user_id=principal.user_id)
    audit_log.record(
        db,
        audit,
        "appointment.updated",
        case=case,
        object_type="appointment",
        object_id=appointment.id,
        fields=sorted({c["field"] for c in changes}),
    )
    return _saved(case, appointment)


@post("/casussen/{case_id:int}/momenten/{appointment_id:int}/status", include_in_schema=False)
async def appointment_status(
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    appointment: CaseAppointment,
    data: FormData,
) -> Redirect:
    status = str(data.get("status", ""))
    if not may_edit_case(principal) or status not in {s.value for s in AppointmentStatus}:
        raise NotFoundError()
    await service.set_status(db, appointment, AppointmentStatus(status), user_id=principal.user_id)
    audit_log.record(
        db,
        audit,
        "appointment.status_changed",
        case=case,
        object_type="appointment",
        object_id=appointment.id,
        fields=["status"],
    )
    return _saved(case, appointment)


@post("/casussen/{case_id:int}/momenten/{appointment_id:int}/checklist", include_in_schema=False)
async def tick_checklist(
    request: Request[Any, Any, Any],
    db: DB,
    principal: CurrentUser,
    audit: Audit,
    case: VisibleCase,
    appointment: CaseAppointment,
    data: FormData,
) -> Template | Redirect:
    """Tick or untick one line of the release checklist (htmx; a plain form works too)."""
    key = str(data.get("item", ""))
    if (
        not may_edit_case(principal)
        or appointment.kind != AppointmentKind.OPVANG_AAN_DE_POORT
        or key not in CHECKLIST_KEYS
    ):
        raise NotFoundError()
    checklist = dict(appointment.checklist or {})
    checklist[key] = str(data.get("done", "")) in ("1", "on")
    appointment.checklist = checklist
    appointment.updated_at = utcnow()
    audit_log.record(
        db,
        audit,
        "appointment.checklist_ticked",
        case=case,
        object_type="appointment",
        object_id=appointment.id,
        fields=[f"checklist.{key}"],
    )
    if request.headers.get("hx-request"):
        return page(
            request,
            "coordination/_checklist.html",
            principal=principal,
            case=case,
            appointment=appointment,
            checklist=RELEASE_CHECKLIST,
            region=case.region,
            may_edit=True,
            just=key,
        )
    return _saved(case, appointment, "#checklist")


ROUTES = [
    new_appointment,
    create_appointment,
    appointment_page,
    update_appointment,
    appointment_status,
    tick_checklist,
]
