"""ORM models of working groups, assessments, private notes, weights, settings and pins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from korona.auth.models import User, enum_column
from korona.db import Base
from korona.portfolio.columns import owner_key, timestamp_column
from korona.portfolio.netlist.solver.vocabulary import Pin


class WorkingGroup(Base):
    """A working group (arbeidsgruppe) that assesses the inputs of one theme."""

    __tablename__ = "working_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    theme: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = timestamp_column()

    members: Mapped[list[WorkingGroupMember]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="group"
    )

    @property
    def leads(self) -> list[User]:
        """Return the group's leads (gruppeleder)."""
        return [m.user for m in self.members if m.is_lead]


class WorkingGroupMember(Base):
    """A user who assesses in a working group; a lead also records agreed scores."""

    __tablename__ = "working_group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = owner_key("working_group.id")
    user_id: Mapped[int] = owner_key("user_account.id")
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)

    group: Mapped[WorkingGroup] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class Assessment(Base):
    """One assessor's scores of one input (vurdering), or the group's agreed score.

    Each assessor scores alone (``agreed`` false, one row per assessor); the group lead records
    the agreed score (``agreed`` true, one row per input) with a reason when the scores differ.
    """

    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("input_id", "assessor_id", "agreed"),
        CheckConstraint(
            "clinical_benefit BETWEEN 0 AND 4 AND relief BETWEEN 0 AND 4 AND severity BETWEEN 0 "
            "AND 4 AND reuse BETWEEN 0 AND 4 AND time_criticality BETWEEN 0 AND 4",
            name="criteria_0_4",
        ),
        CheckConstraint(
            "effort_hospitals IN (1, 2, 3, 5, 8) AND effort_municipalities IN (1, 2, 3, 5, 8)",
            name="effort_steps",
        ),
        CheckConstraint("confidence IN (0.5, 0.8, 1.0)", name="confidence_steps"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = owner_key("proposal_input.id")
    assessor_id: Mapped[int] = owner_key("user_account.id")
    agreed: Mapped[bool] = mapped_column(Boolean, default=False)
    clinical_benefit: Mapped[int] = mapped_column(Integer)
    relief: Mapped[int] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(Integer)
    reuse: Mapped[int] = mapped_column(Integer)
    time_criticality: Mapped[int] = mapped_column(Integer)
    effort_hospitals: Mapped[int] = mapped_column(Integer)
    effort_municipalities: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    benefit_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery_months: Mapped[float | None] = mapped_column(Float)
    dpia_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    privacy_minimum_met: Mapped[bool] = mapped_column(Boolean, default=True)
    clinical_safety_minimum_met: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()

    assessor: Mapped[User] = relationship(lazy="joined")


class AssessmentNote(Base):
    """A private note on an input; only its author sees it."""

    __tablename__ = "assessment_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = owner_key("proposal_input.id")
    author_id: Mapped[int] = owner_key("user_account.id")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_column()


class WeightsVersion(Base):
    """One version of the decision group's criterion weights (vekter); the newest one counts."""

    __tablename__ = "weights_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    clinical_benefit: Mapped[float] = mapped_column(Float)
    relief: Mapped[float] = mapped_column(Float)
    severity: Mapped[float] = mapped_column(Float)
    reuse: Mapped[float] = mapped_column(Float)
    time_criticality: Mapped[float] = mapped_column(Float)
    need_coverage: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()

    created_by: Mapped[User | None] = relationship(lazy="joined")


class AssessmentSetting(Base):
    """The prioritisation settings (one row): crisis horizon, list size, budgets, draws."""

    __tablename__ = "assessment_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    horizon_months: Mapped[float] = mapped_column(Float, default=3.0)
    size_min: Mapped[int] = mapped_column(Integer, default=15)
    size_max: Mapped[int] = mapped_column(Integer, default=20)
    budget_hospitals: Mapped[float] = mapped_column(Float, default=60.0)
    budget_municipalities: Mapped[float] = mapped_column(Float, default=60.0)
    concentration: Mapped[float] = mapped_column(Float, default=100.0)
    draws: Mapped[int] = mapped_column(Integer, default=1000)
    updated_at: Mapped[datetime] = timestamp_column()


class ProposalPin(Base):
    """A planner's pin of one input into or out of the proposal, with the reason."""

    __tablename__ = "proposal_pin"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_input.id", ondelete="CASCADE"), unique=True
    )
    pin: Mapped[Pin] = mapped_column(enum_column(Pin))
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_column()
