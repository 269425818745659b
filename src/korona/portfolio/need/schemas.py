"""Pydantic shapes of a need: what may be created, changed and read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from korona.auth.models import Sector
from korona.portfolio.need.models import AffectedGroup, NeedStatus
from korona.validation import (
    CLEAN_LINE,
    CategoryCode,
    Description,
    MunicipalityNumber,
    PartialUpdate,
    RowId,
    Title,
)

ClinicalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), CLEAN_LINE]
ExternalRef = Annotated[str, StringConstraints(max_length=100), CLEAN_LINE]


class NeedCreate(BaseModel):
    """A new need as reported."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    category: CategoryCode
    clinical_line: ClinicalLine = ""
    municipality_number: MunicipalityNumber | None = None
    urgency: int = Field(ge=1, le=4)
    affected_groups: list[AffectedGroup] = Field(min_length=1)
    review_by_date: date | None = None
    organisation_id: RowId | None = Field(
        default=None, description="Only the portfolio office may report on behalf of another"
    )
    external_ref: ExternalRef | None = None


class NeedUpdate(PartialUpdate):
    """Changes to a need's content; unset fields stay as they are.

    Only the fields a need may lack (municipality, review date) accept null.
    """

    model_config = ConfigDict(extra="forbid")
    NULLABLE = frozenset({"municipality_number", "review_by_date"})

    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    category: CategoryCode | SkipJsonSchema[None] = None
    clinical_line: ClinicalLine | SkipJsonSchema[None] = None
    municipality_number: MunicipalityNumber | None = None
    urgency: int | SkipJsonSchema[None] = Field(default=None, ge=1, le=4)
    affected_groups: list[AffectedGroup] | SkipJsonSchema[None] = Field(default=None, min_length=1)
    review_by_date: date | None = None


class NeedStatusChange(BaseModel):
    """A status change made by the portfolio office."""

    model_config = ConfigDict(extra="forbid")

    status: NeedStatus


class NeedRead(BaseModel):
    """A need as shown to readers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    category: str = Field(validation_alias="category_code")
    sector: Sector
    organisation_id: int
    organisation_name: str
    clinical_line: str
    municipality_number: str | None
    urgency: int
    affected_groups: list[AffectedGroup]
    status: NeedStatus
    review_by_date: date | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
