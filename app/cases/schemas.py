"""API output shapes for cases (docs/interfaces.md, "The API")."""

from __future__ import annotations

import msgspec


class CaseSummary(msgspec.Struct):
    """One row of GET /api/v1/cases."""

    id: int
    reference: str
    region: str
    status: str


class PersonOut(msgspec.Struct):
    first_names: str
    prefix: str
    last_name: str
    birth_date: str


class DetentionOut(msgspec.Struct):
    institution: str
    entered_on: str
    expected_release_on: str | None
    released_on: str | None
    title: str


class CasemanagerOut(msgspec.Struct):
    id: int | None
    name: str
    organisation: str
    email: str


class PairingOut(msgspec.Struct):
    internal: CasemanagerOut | None
    external: CasemanagerOut | None
    coordinator: CasemanagerOut | None


class LeefgebiedOut(msgspec.Struct):
    key: str
    label: str
    status: str
    note: str


class ActionOut(msgspec.Struct):
    id: int
    leefgebied: str
    description: str
    owner: str
    due_on: str | None
    status: str


class CaseDetail(msgspec.Struct):
    """GET /api/v1/cases/{id}."""

    id: int
    reference: str
    region: str
    status: str
    person: PersonOut
    detention: DetentionOut | None
    pairing: PairingOut
    leefgebieden: list[LeefgebiedOut]
    actions: list[ActionOut]
    origin_gemeente: str | None = None
    return_gemeente: str | None = None
