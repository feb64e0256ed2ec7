"""The cases domain over HTTP: the case list, a case's dossier fragments, and notice intake."""

from __future__ import annotations

from litestar import Router

from app.cases.routes import dossier, lists, notices

ROUTER = Router(path="/", route_handlers=[*lists.ROUTES, *dossier.ROUTES, *notices.ROUTES])
