"""ORM models of net-list versions (nettoliste) and their items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import User, enum_column
from korona.db import Base
from korona.portfolio.columns import owner_key, timestamp_column
from korona.portfolio.intake.models import Input
from korona.portfolio.netlist.solver.vocabulary import Pin


class NetlistStatus(StrEnum):
    """Where a net-list version is: drafted from a proposal, approved, published."""

    DRAFT = "draft"  # utkast
    APPROVED = "approved"  # godkjent
    PUBLISHED = "published"  # publisert


class NetlistVersion(Base):
    """One numbered version of the net list (nettoliste), drafted from a proposal."""

    __tablename__ = "netlist_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[NetlistStatus] = mapped_column(
        enum_column(NetlistStatus), default=NetlistStatus.DRAFT, index=True
    )
    weights_version: Mapped[int] = mapped_column(Integer)
    objective: Mapped[float | None] = mapped_column(Float)
    solver: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = timestamp_column()
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    created_by: Mapped[User | None] = relationship(lazy="joined")
    items: Mapped[list[NetlistItem]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="NetlistItem.position",
        back_populates="version",
    )


class NetlistItem(Base):
    """One input on a net-list version, in order, with its priority broken into parts."""

    __tablename__ = "netlist_item"
    __table_args__ = (
        UniqueConstraint("version_id", "input_id", name="uq_netlist_item_version_input"),
        UniqueConstraint("version_id", "position", name="uq_netlist_item_version_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = owner_key("netlist_version.id")
    input_id: Mapped[int] = mapped_column(ForeignKey("proposal_input.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    priority: Mapped[float] = mapped_column(Float)
    #: The score broken into parts: value, confidence, efforts and one entry per criterion.
    parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    probability: Mapped[float | None] = mapped_column(Float)
    pin: Mapped[Pin | None] = mapped_column(enum_column(Pin))
    pin_reason: Mapped[str | None] = mapped_column(Text)

    version: Mapped[NetlistVersion] = relationship(back_populates="items")
    input: Mapped[Input] = relationship(lazy="joined")
