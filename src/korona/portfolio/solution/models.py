"""ORM model of an existing solution (eksisterende løsning) and its status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from korona.auth.models import enum_column
from korona.db import Base
from korona.portfolio.columns import timestamp_column


class SolutionStatus(StrEnum):
    """How far a solution has come: in operation, piloted or planned."""

    IN_OPERATION = "in_operation"  # i drift
    PILOT = "pilot"
    PLANNED = "planned"  # planlagt


class Solution(Base):
    """A national solution already in use or on its way (helsenorge.no, NHN video, …)."""

    __tablename__ = "solution"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[SolutionStatus] = mapped_column(
        enum_column(SolutionStatus), default=SolutionStatus.IN_OPERATION
    )
    quality_assured: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str] = mapped_column(String(500), default="")
    contact: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = timestamp_column()
    updated_at: Mapped[datetime] = timestamp_column()
