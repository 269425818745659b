"""Pydantic shapes of a measure, its milestones, progress reports and experience notes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from korona.portfolio.measure.models import MeasureStatus, Rag
from korona.validation import CLEAN_LINE, CLEAN_TEXT, RowId, Title

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), CLEAN_LINE]
Note = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), CLEAN_TEXT
]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), CLEAN_TEXT]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), CLEAN_LINE
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeasureCreate(_Strict):
    """A new measure, or the full set of its editable fields."""

    title: Title
    description: LongText = ""
    owner_organisation_id: RowId | None = None
    responsible_name: Line = ""
    programme_id: RowId | None = None
    need_ids: list[RowId] = Field(default_factory=list, max_length=100)
    input_id: RowId | None = None


class StatusChange(_Strict):
    """A status change; stopping needs a reason."""

    status: MeasureStatus
    reason: LongText = ""

    @model_validator(mode="after")
    def _stop_has_reason(self) -> StatusChange:
        if self.status == MeasureStatus.STOPPED and len(self.reason) < 3:
            raise ValueError("A stopped measure needs a reason")
        return self


class MilestoneCreate(_Strict):
    """A milestone with its planned date."""

    title: Title
    planned_date: date
    done_date: date | None = None


class ReportCreate(_Strict):
    """A progress report: RAG, a short text and the next milestone."""

    rag: Rag
    text: Note
    next_milestone: Line = ""


class ExperienceCreate(_Strict):
    """An organisation's note that it uses an existing solution or a delivered measure."""

    note: Note


class ProgrammeCreate(_Strict):
    """A national programme on the managed list."""

    name: Name


class NoticeUpdate(_Strict):
    """An edited letter template."""

    subject: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300), CLEAN_LINE
    ]
    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=10000), CLEAN_TEXT
    ]
