"""Pydantic shapes of an input (innspill): what may be submitted and what is read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from korona.portfolio.intake.models import Effort, InputKind, InputStatus
from korona.validation import CLEAN_LINE, CLEAN_TEXT, CategoryCode, Description, RowId, Title

ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), CLEAN_LINE
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), CLEAN_LINE
]


class InputCreate(BaseModel):
    """A new input as submitted; organisation fields are ignored for users with an organisation."""

    model_config = ConfigDict(extra="forbid")

    kind: InputKind
    title: Title
    description: Description
    organisation_name: ShortText | None = None
    is_public: bool | None = Field(
        default=None, description="Whether the submitting organisation is public (not private)"
    )
    commercial: bool = False
    categories: list[CategoryCode] = []
    need_ids: list[RowId] = []
    effort_hospitals: Effort = Effort.UNKNOWN
    effort_municipalities: Effort = Effort.UNKNOWN
    contact_name: ShortText
    contact_email: Email
    language: Literal["nb", "en"] = "nb"
    external_ref: Annotated[str, StringConstraints(max_length=100), CLEAN_LINE] | None = None


class InputRead(BaseModel):
    """An input as shown to the portfolio office and the working groups."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    kind: InputKind
    title: str
    description: str
    organisation_name: str
    is_public: bool
    commercial: bool
    categories: list[str]
    need_ids: list[int]
    effort_hospitals: Effort
    effort_municipalities: Effort
    status: InputStatus
    covered_by_id: int | None
    duplicate_of_id: int | None
    working_group: str | None
    outcome_note: str | None
    received_at: datetime
    first_feedback_at: datetime | None


class InputReceipt(BaseModel):
    """What the submitter gets back: the reference and the private status link."""

    id: int
    reference: str
    status: InputStatus
    status_url: str


#: The longest text the matcher scores (API, live preview, CLI): more is no better a query
#: and costs time in proportion.
MAX_MATCH_TEXT = 5000


class MatchRequest(BaseModel):
    """Text (and optional categories) to find similar solutions, needs and inputs for."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MATCH_TEXT), CLEAN_TEXT]
    categories: list[CategoryCode] = []
    limit: int = Field(default=10, ge=1, le=50)


class MatchRead(BaseModel):
    """One ranked match."""

    kind: str
    id: int
    title: str
    score: float


class TriageIn(BaseModel):
    """A triage action; only the fields the action needs are read."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["link_needs", "covered", "duplicate", "working_group", "decline"]
    need_ids: list[RowId] = []
    solution_id: RowId | None = None
    duplicate_of_id: RowId | None = None
    working_group_id: RowId | None = None
    reason: Annotated[str, StringConstraints(max_length=2000), CLEAN_TEXT] = ""


class BulkTriageIn(TriageIn):
    """One triage action for many inputs, all or nothing."""

    input_ids: list[RowId] = Field(min_length=1, max_length=1000)
