"""JSON API of the surveillance location pages: locations, covid-19 series and signals."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from korona.auth.permissions import Permission, Principal
from korona.surveillance.disclosure import records
from korona.surveillance.location_view import Location, LocationView
from korona.web.deps import require
from korona.web.surveillance_context import (
    Detail,
    Reader,
    RenderCache,
    generation_view_for,
    rendered,
)

router = APIRouter(prefix="/api/v1/surveillance", tags=["surveillance"])
#: Serialised answers per (generation, document, location, detail): three documents of every
#: location, full and public, with room to spare.
DOCUMENTS = RenderCache(size=3 * 368 * 2 + 64)

LocationCode = Annotated[
    str, Path(max_length=40, description="norge, countyNN or municipNNNN (2020 borders)")
]
Count = Annotated[
    int | Literal["<5", ":"] | None,
    Field(
        description='A count; for the public "<5" where it is 1–4, ":" where it is hidden so '
        "that a total cannot give a small count back; null where there is none"
    ),
]


class LocationOut(BaseModel):
    """A place: the nation, a county or a municipality."""

    code: str = Field(examples=["municip4601"])
    name: str = Field(examples=["Bergen"])
    level: Literal["nation", "county", "municip"]
    county_code: str | None = Field(None, description="The county of a municipality")
    neighbours: list[str] = Field(default_factory=list, description="Neighbouring municipalities")


class SourceOut(BaseModel):
    """Where figures come from and how fresh they are."""

    name: str
    data_to: dt.date | None = Field(description="The last date the data cover")
    updated: dt.date | None = Field(description="When the data were last loaded")


class CovidWeekOut(BaseModel):
    """Covid-19 in one ISO week (dated by its Sunday)."""

    week: str = Field(examples=["2021-W52"])
    date: dt.date
    n: Count = Field(description="Confirmed cases (MSIS)")
    per_100k: float | None
    n_14d: Count = Field(description="Cases this week and the week before")
    per_100k_14d: float | None
    cumulative_n: Count = Field(description="Cases since the start (public: latest week only)")
    share_infected_percent: float | None
    population_n: int | None = Field(description="SSB's population on 1 January")
    population_year: int | None = Field(description="The year of that population figure")
    tests_positive_n: Count
    tests_negative_n: Count
    positivity_percent: float | None
    consultations_covid_n: Count = Field(description="Consultations with R991 or R992")
    consultations_all_n: Count
    consultation_share_percent: float | None
    hospital_admissions_n: Count = Field(description="Admissions with covid-19 as main cause")
    cases_signal: Literal["normal", "medium", "high"] | None
    consultation_signal: Literal["normal", "medium", "high"] | None
    possibly_incomplete: bool | None = Field(
        description="Consultations far below the usual level: the week may be incomplete"
    )


class SignalOut(BaseModel):
    """One weekly signal of one syndrome and age group."""

    week: str
    date: dt.date
    syndrome: str
    age: str
    n: Count
    expected: float | None
    threshold2: float | None
    threshold4: float | None
    zscore: float | None
    status: Literal["normal", "medium", "high"] | None
    excess_n: Count = Field(description="Consultations above the lower threshold")
    failed: bool | None
    possibly_incomplete: bool | None


class LocationSummaryOut(BaseModel):
    """A location with its county, neighbours, sources and how much detail the caller gets."""

    location: LocationOut
    detail: Literal["full", "public"]
    county: LocationOut | None
    neighbours: list[LocationOut]
    sources: dict[str, SourceOut]


class CovidSeriesOut(LocationSummaryOut):
    """Covid-19 per week for one location, oldest week first."""

    weeks: list[CovidWeekOut]


class SignalsOut(LocationSummaryOut):
    """Signals of the other syndromes (latest week first, high signals first)."""

    signals: list[SignalOut]


def _location(reader: Any, location: Location) -> LocationOut:
    county = reader.county_of(location)
    return LocationOut(
        code=location.code,
        name=location.name,
        level=location.level.value,
        county_code=county.code if county else None,
        neighbours=[n.code for n in reader.neighbours_of(location)],
    )


def _summary(reader: Any, view: LocationView, detail: Detail) -> dict[str, Any]:
    return {
        "location": _location(reader, view.location),
        "detail": detail.value,
        "county": _location(reader, view.county) if view.county else None,
        "neighbours": [_location(reader, n) for n in view.neighbours],
        "sources": {
            key: SourceOut(name=s.name, data_to=s.data_to, updated=s.updated)
            for key, s in view.sources.items()
        },
    }


@router.get("/locations", response_model=list[LocationOut])
def list_locations(
    reader: Reader, principal: Principal = Depends(require(Permission.PUBLIC))
) -> list[LocationOut]:
    """List the nation, the 11 counties and the 356 municipalities (2020 borders)."""
    return [_location(reader, location) for location in reader.locations()]


def _document(
    reader: Any,
    principal: Principal,
    code: str,
    kind: str,
    build: Any,
) -> Response:
    """Answer from the serialised document of this snapshot, location and detail (built on
    the first request of a generation: ``build(view, detail)`` returns the response model)."""
    generation, view, detail = generation_view_for(reader, principal, code)
    body = rendered(
        DOCUMENTS,
        (generation, kind, code, detail.value),
        lambda: build(view, detail).model_dump_json().encode(),
    )
    return Response(body, media_type="application/json")


@router.get("/locations/{location_code}", response_model=LocationSummaryOut)
def get_location(
    reader: Reader,
    location_code: LocationCode,
    principal: Principal = Depends(require(Permission.PUBLIC)),
) -> Response:
    """Return a location with its county, neighbours and data sources (404 if unknown)."""
    return _document(
        reader,
        principal,
        location_code,
        "summary",
        lambda view, detail: LocationSummaryOut(**_summary(reader, view, detail)),
    )


@router.get("/locations/{location_code}/covid19", response_model=CovidSeriesOut)
def covid_series(
    reader: Reader,
    location_code: LocationCode,
    principal: Principal = Depends(require(Permission.PUBLIC)),
) -> Response:
    """Return covid-19 per week: cases, rates, share infected, tests, consultations, signals.

    Municipal doctors get full detail for their municipality and its neighbours, logged-in
    users for the nation and counties; everyone else gets counts 1–4 as "<5".
    """

    def build(view: LocationView, detail: Detail) -> CovidSeriesOut:
        weeks = [CovidWeekOut(**row, population_n=row["population"]) for row in records(view.covid)]
        return CovidSeriesOut(**_summary(reader, view, detail), weeks=weeks)

    return _document(reader, principal, location_code, "covid19", build)


@router.get("/locations/{location_code}/signals", response_model=SignalsOut)
def signals(
    reader: Reader,
    location_code: LocationCode,
    principal: Principal = Depends(require(Permission.PUBLIC)),
) -> Response:
    """Return the last year's weekly signals of the other syndromes, every age group."""

    def build(view: LocationView, detail: Detail) -> SignalsOut:
        rows = [SignalOut(**row, excess_n=row["excess"]) for row in records(view.signals)]
        return SignalsOut(**_summary(reader, view, detail), signals=rows)

    return _document(reader, principal, location_code, "signals", build)
