"""Users with their organisation and roles; sessions, API tokens, login attempts and password resets."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin, utcnow
from app.reference.models import Organisation


class Role(enum.StrEnum):
    """What a user does here (see docs/woordenlijst.md for the Dutch terms)."""

    BEHEERDER = "beheerder"
    COORDINATOR = "coordinator"
    CASEMANAGER_PI = "casemanager_pi"
    CASEMANAGER_EXTERN = "casemanager_extern"
    NETWERKPARTNER = "netwerkpartner"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.BEHEERDER: "Beheerder",
    Role.COORDINATOR: "Coördinator",
    Role.CASEMANAGER_PI: "Casemanager PI (intern)",
    Role.CASEMANAGER_EXTERN: "Casemanager extern",
    Role.NETWERKPARTNER: "Netwerkpartner",
}


class User(TimestampMixin, Base):
    """A person with an account; belongs to one organisation and holds one or more roles."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # Personal calendar feed. The secret in its URL is derived from this nonce and the server key
    # (app/accounts/services.calendar_secret); only its hash is stored, for lookup. A new nonce
    # revokes the old URL.
    calendar_nonce: Mapped[str | None] = mapped_column(String(32), default=None)
    calendar_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # Set when the user withdrew their feed: GET /api/v1/me then no longer makes one on its own.
    calendar_revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # When every session and token of this user was last ended (password change or reset,
    # deactivation): a connection authenticated before this moment without a session or token of
    # its own (a plan ticket) is no longer valid (app/accounts/services.py, still_valid).
    credentials_revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Which reminders this user gets by e-mail (app/coordination/reminders.py); absent = on.
    reminder_settings: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


class UserRole(Base):
    """One role of a user."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(String(32))

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(Base):
    """A browser login; the cookie carries a signed random id whose hash is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token: a user's token from /api/v1/auth/token, or an organisation's API key."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # How the token came to be: "api" (POST /api/v1/auth/token), "beheer" (an API key made by a
    # beheerder), "cli" (python -m app.cli); shown to its owner beside when it was issued and used.
    issued_via: Mapped[str] = mapped_column(String(16), default="", server_default="")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def is_api_key(self) -> bool:
        return self.organisation_id is not None


class LoginAttempt(Base):
    """A failed login or a password-reset request, kept briefly to throttle guessing and mail floods.

    The e-mail address is stored as a hash only; `kind` is "login" or "reset".
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email_hash", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="login", server_default="login")


class PasswordReset(Base):
    """A single-use, short-lived password-reset link; only the hash of its secret is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
