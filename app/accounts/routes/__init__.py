"""Accounts over HTTP: logging in and out, the profile, password reset, and the account API."""

from __future__ import annotations

from litestar import Router

from app.accounts.routes import api, login, password_reset, profile

ROUTER = Router(
    path="/",
    route_handlers=[*login.ROUTES, *profile.ROUTES, *password_reset.ROUTES, *api.ROUTES],
)
