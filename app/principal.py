"""The caller of a request (`Principal`): who they are and which series and regions they take part in.

Built once per request by app/auth.py; every rule that decides over it lives in app/access.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.accounts.models import Role
from app.reference.models import OrganisationKind


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a user (by session or token) or an organisation's API key."""

    user_id: int | None
    token_id: int | None
    name: str
    email: str
    organisation_id: int
    organisation_name: str
    organisation_kind: OrganisationKind
    organisation_region_id: int | None
    municipality_code: str | None
    roles: frozenset[Role] = frozenset()
    member_series_ids: frozenset[int] = frozenset()
    member_region_ids: frozenset[int] = frozenset()
    chaired_series_ids: frozenset[int] = frozenset()
    chaired_region_ids: frozenset[int] = frozenset()
    is_api_key: bool = False
    session_id: int | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_gemeente(self) -> bool:
        return self.organisation_kind == OrganisationKind.GEMEENTE

    @property
    def coordinator_region_ids(self) -> frozenset[int]:
        if Role.COORDINATOR not in self.roles:
            return frozenset()
        own = {self.organisation_region_id} if self.organisation_region_id else set()
        return frozenset(own) | self.chaired_region_ids

    @property
    def case_region_ids(self) -> frozenset[int]:
        """Regions whose cases this caller may see as a whole (before the gemeente restriction)."""
        if self.is_api_key:
            return frozenset()
        return self.coordinator_region_ids | self.member_region_ids

    @property
    def admin_region_ids(self) -> frozenset[int] | None:
        """Regions a beheerder manages; None means all (a beheerder of an organisation without region)."""
        if Role.BEHEERDER not in self.roles:
            return frozenset()
        return (
            None
            if self.organisation_region_id is None
            else frozenset({self.organisation_region_id})
        )

    @property
    def audit_actor(self) -> str:
        if self.is_api_key:
            return f"API-sleutel van {self.organisation_name}"
        return f"{self.name} ({self.organisation_name})"
