"""API output shapes for meetings (docs/interfaces.md, "The API")."""

from __future__ import annotations

import msgspec


class SeriesOut(msgspec.Struct):
    id: int
    name: str
    region: str


class AgendaItemOut(msgspec.Struct):
    id: int
    case_id: int | None
    reason: str
    position: int
    status: str
    reference: str | None = None
    hidden: bool = False


class MeetingOut(msgspec.Struct):
    """A meeting; `agenda` is filled by GET /api/v1/meetings/{id}."""

    id: int
    series: SeriesOut
    starts_at: str
    ends_at: str
    status: str
    location: str
    online_url: str
    agenda: list[AgendaItemOut] | None = None
