"""Who may receive a message about a case: the same access policy as every page, per recipient."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import get_visible_case
from app.accounts import principals
from app.accounts.models import User
from app.accounts.preferences import wants
from app.principal import Principal

__all__ = ["CaseAccess", "wants"]


class CaseAccess:
    """Checks, through `app.access`, whether a user may see a case (principals cached per run)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.principals: dict[int, Principal] = {}
        self.answers: dict[tuple[int, int], bool] = {}

    async def may_see(self, user: User, case_id: int) -> bool:
        if not user.active:
            return False
        key = (user.id, case_id)
        if key not in self.answers:
            principal = self.principals.get(user.id)
            if principal is None:
                principal = await principals.principal_for_user(self.session, user)
                self.principals[user.id] = principal
            case = await get_visible_case(self.session, principal, case_id)
            self.answers[key] = case is not None
        return self.answers[key]
