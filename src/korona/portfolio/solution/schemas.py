"""Pydantic shapes of an existing solution: what may be created, changed and read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from korona.portfolio.solution.models import SolutionStatus
from korona.validation import CLEAN_LINE, CategoryCode, Description, PartialUpdate

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200), CLEAN_LINE
]
Owner = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200), CLEAN_LINE
]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^(https?://\S+)?$"),
    CLEAN_LINE,
]
Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), CLEAN_LINE]


class SolutionCreate(BaseModel):
    """A new entry in the catalogue."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    owner: Owner
    description: Description
    categories: list[CategoryCode] = Field(min_length=1)
    status: SolutionStatus
    quality_assured: bool = False
    url: Url = ""
    contact: Contact = ""
    external_ref: Annotated[str, StringConstraints(max_length=100), CLEAN_LINE] | None = None


class SolutionUpdate(PartialUpdate):
    """Changes to a catalogue entry; unset fields stay as they are, and none can be set to null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    owner: Owner | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    categories: list[CategoryCode] | SkipJsonSchema[None] = Field(default=None, min_length=1)
    status: SolutionStatus | SkipJsonSchema[None] = None
    quality_assured: bool | SkipJsonSchema[None] = None
    url: Url | SkipJsonSchema[None] = None
    contact: Contact | SkipJsonSchema[None] = None


class SolutionRead(BaseModel):
    """A catalogue entry as shown to readers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    owner: str
    description: str
    categories: list[str]
    status: SolutionStatus
    quality_assured: bool
    url: str
    contact: str
    created_at: datetime
    updated_at: datetime
