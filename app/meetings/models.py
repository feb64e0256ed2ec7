"""Meeting series and who takes part in them (membership is what grants access to a region's cases)."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import Base, TimestampMixin
from app.reference.models import Organisation, Region


class SeriesKind(enum.StrEnum):
    """The meeting forms seen in the field (domain.md, "Meeting forms")."""

    INSTROOMOVERLEG = "instroomoverleg"
    DTB = "dtb"
    INSTROOMBERAAD = "instroomberaad"

    @property
    def label(self) -> str:
        return {
            SeriesKind.INSTROOMOVERLEG: "Instroomoverleg",
            SeriesKind.DTB: "Detentie- en Terugkeerberaad (DTB)",
            SeriesKind.INSTROOMBERAAD: "Instroomberaad",
        }[self]


class MeetingSeries(TimestampMixin, Base):
    """A recurring case conference of one region, e.g. "Instroomoverleg Fryslân"."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SeriesKind] = mapped_column(String(32), default=SeriesKind.INSTROOMOVERLEG)
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship(lazy="joined")
    chair: Mapped[User | None] = relationship(lazy="joined")
    members: Mapped[list[SeriesMember]] = relationship(
        back_populates="series", cascade="all, delete-orphan"
    )
    organisations: Mapped[list[SeriesOrganisation]] = relationship(
        back_populates="series", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return SeriesKind(self.kind).label


class SeriesMember(Base):
    """A user who takes part in a series; this grants need-to-know access to the region's cases."""

    __tablename__ = "series_members"
    __table_args__ = (UniqueConstraint("series_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    series: Mapped[MeetingSeries] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class SeriesOrganisation(Base):
    """A partner organisation that takes part in a series (it contributes to the basisdossier)."""

    __tablename__ = "series_organisations"
    __table_args__ = (UniqueConstraint("series_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)

    series: Mapped[MeetingSeries] = relationship(back_populates="organisations")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
