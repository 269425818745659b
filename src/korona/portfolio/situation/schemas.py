"""Pydantic shapes of a situation report: what may be reported, corrected and read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from korona.errors import N_
from korona.surveillance.calendar import iso_week_label, parse_iso_week
from korona.validation import CLEAN_TEXT, MunicipalityNumber

#: The first week a report may be given for (the pandemic's first ISO week in Norway's data).
FIRST_WEEK = "2020-W01"

NOT_A_WEEK = N_("Must be an ISO week such as 2020-W20")
FUTURE_WEEK = N_("Cannot be a week that has not begun yet")
TOO_EARLY_WEEK = N_("Cannot be earlier than 2020-W01")
NOT_A_NUMBER = N_("Must be a number, for example 4.5")


def _iso_week(value: str) -> str:
    """Return the week label if it names an ISO week from 2020-W01 up to the current week."""
    try:
        year, week = parse_iso_week(value.strip().upper())
    except ValueError:
        raise PydanticCustomError("iso_week", NOT_A_WEEK) from None
    label = f"{year:04d}-W{week:02d}"
    if label < FIRST_WEEK:
        raise PydanticCustomError("iso_week_too_early", TOO_EARLY_WEEK)
    if label > iso_week_label(date.today()):
        raise PydanticCustomError("iso_week_future", FUTURE_WEEK)
    return label


def _decimal(value: Any) -> Any:
    """Read a number written with a decimal comma (Norwegian) or point; refuse other text."""
    if isinstance(value, str):
        text = value.strip().replace(",", ".").removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            raise PydanticCustomError("decimal_number", NOT_A_NUMBER) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise PydanticCustomError("decimal_number", NOT_A_NUMBER)
        return number
    return value


IsoWeek = Annotated[
    str,
    StringConstraints(max_length=10),
    AfterValidator(_iso_week),
    Field(description="ISO week, e.g. 2020-W20", examples=["2020-W20"]),
]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Percent = Annotated[float, BeforeValidator(_decimal), Field(ge=0, le=100)]
NeedsText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000), CLEAN_TEXT]

#: The capacity figures of a report, in the order forms, tables and files show them.
FIGURES = (
    "nursing_home_beds_free",
    "acute_beds_free",
    "test_capacity_per_day",
    "staff_absence_percent",
    "home_care_load",
    "tracing_capacity_per_day",
)


class SituationFigures(BaseModel):
    """The figures and free text of a report; every figure is required."""

    model_config = ConfigDict(extra="forbid")

    nursing_home_beds_free: Count = Field(description="Free beds in nursing homes")
    acute_beds_free: Count = Field(description="Free municipal acute beds (KAD)")
    test_capacity_per_day: Count = Field(
        description="Covid-19 tests the municipality can take a day"
    )
    staff_absence_percent: Percent = Field(
        description="Health and care staff absent, in per cent (0–100)"
    )
    home_care_load: int = Field(ge=1, le=5, description="Home-care load, 1 normal … 5 critical")
    tracing_capacity_per_day: Count = Field(
        description="New cases a day the infection-tracing team can trace"
    )
    needs_text: NeedsText = Field(default="", description="Needs in the municipality's own words")


class SituationReportCreate(SituationFigures):
    """A new report for one municipality and week (default: the reporter's own municipality)."""

    municipality_number: MunicipalityNumber | None = Field(
        default=None, description="Only the portfolio office may report for another municipality"
    )
    week: IsoWeek


class SituationReportCorrection(SituationFigures):
    """A correction: every figure again; it replaces the report's figures and text."""


class SituationReportRead(BaseModel):
    """A report as shown to readers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    municipality_number: str
    municipality_name: str
    week: str
    nursing_home_beds_free: int
    acute_beds_free: int
    test_capacity_per_day: int
    staff_absence_percent: float
    home_care_load: int
    tracing_capacity_per_day: int
    needs_text: str
    need_ids: list[int]
    created_at: datetime
    updated_at: datetime
