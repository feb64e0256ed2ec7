"""The coordination domain over HTTP: the case page and its fragments (pairing, actions,
appointments, plan, closure), the live room and its minutes, Mijn werk and the calendar feed."""

from __future__ import annotations

from litestar import Router

from app.coordination.routes import (
    actions,
    appointments,
    calendar,
    case_page,
    closure,
    minutes,
    pairing,
    plans,
    room,
    work,
)

ROUTER = Router(
    path="/",
    route_handlers=[
        *case_page.ROUTES,
        *pairing.ROUTES,
        *actions.ROUTES,
        *appointments.ROUTES,
        *closure.ROUTES,
        *plans.ROUTES,
        *room.ROUTES,
        *minutes.ROUTES,
        *work.ROUTES,
        *calendar.ROUTES,
    ],
)
