"""API input/output shapes for accounts."""

from __future__ import annotations

import msgspec


class TokenRequest(msgspec.Struct):
    """Credentials for POST /api/v1/auth/token."""

    email: str
    password: str


class TokenResponse(msgspec.Struct):
    """A bearer token and when it stops working."""

    token: str
    expires_at: str


class OrganisationOut(msgspec.Struct):
    id: int
    name: str
    kind: str


class MeResponse(msgspec.Struct):
    """GET /api/v1/me."""

    id: int | None
    name: str
    email: str
    organisation: OrganisationOut
    roles: list[str]
    calendar_url: str | None
    series: list[int]
