"""JSON API of the surveillance location pages: locations, covid-19 series and signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from korona.auth.permissions import Permission, Principal
from korona.surveillance.disclosure import records
from korona.surveillance.location_view import Location, LocationView, UnknownLocation
from korona.web.surveillance_context import (
    WARM_JOBS,
    Detail,
    Reader,
    RenderCache,
    generation_view_for,
    json_response,
    quick_detail,
    reader_for,
    rendered_gzip,
    surveillance_principal,
    warm_order,
)

router = APIRouter(prefix="/api/v1/surveillance", tags=["surveillance"])
#: Serialised answers per (generation, document, location, detail): three documents of every
#: location, full and public, with room to spare.
DOCUMENTS = RenderCache(size=3 * 368 * 2 + 64, name="documents")

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
    simulated: bool = Field(
        description="The figures come from simulated records (the demo), not from reports"
    )


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
            key: SourceOut(name=s.name, data_to=s.data_to, updated=s.updated, simulated=s.simulated)
            for key, s in view.sources.items()
        },
    }


@router.get("/locations", response_model=list[LocationOut])
def list_locations(
    reader: Reader, principal: Principal = Depends(surveillance_principal(Permission.PUBLIC))
) -> list[LocationOut]:
    """List the nation, the 11 counties and the 356 municipalities (2020 borders)."""
    return [_location(reader, location) for location in reader.locations()]


def _float_fields(model: type[BaseModel]) -> frozenset[str]:
    """Return the fields a model types as ``float | None`` (it turns an int into a float)."""
    return frozenset(
        name for name, field in model.model_fields.items() if field.annotation == float | None
    )


def rows_json(
    model: type[BaseModel], rows: list[dict[str, Any]], renamed: dict[str, str]
) -> list[dict[str, Any]]:
    """Return rows as ``model`` serialises them, without validating each row (thousands per
    document): its fields in order, ``renamed`` (field → column) taken from other columns,
    ints in float fields as floats. The same JSON as the model's (tested byte for byte)."""
    fields = list(model.model_fields)
    floats = _float_fields(model)
    out = []
    for row in rows:
        item = {}
        for name in fields:
            value = row.get(renamed.get(name, name))
            if name in floats and type(value) is int:
                value = float(value)
            item[name] = value
        out.append(item)
    return out


def document_json(summary: LocationSummaryOut, key: str, rows: list[dict[str, Any]]) -> bytes:
    """Return a location document: its summary's fields, then ``key`` holding ``rows``."""
    return to_json({**summary.model_dump(mode="json"), key: rows})


def _summary_json(reader: Any, view: LocationView, detail: Detail) -> bytes:
    return LocationSummaryOut(**_summary(reader, view, detail)).model_dump_json().encode()


def _covid_json(reader: Any, view: LocationView, detail: Detail) -> bytes:
    summary = LocationSummaryOut(**_summary(reader, view, detail))
    weeks = rows_json(CovidWeekOut, records(view.covid), {"population_n": "population"})
    return document_json(summary, "weeks", weeks)


def _signals_json(reader: Any, view: LocationView, detail: Detail) -> bytes:
    summary = LocationSummaryOut(**_summary(reader, view, detail))
    rows = rows_json(SignalOut, records(view.signals), {"excess_n": "excess"})
    return document_json(summary, "signals", rows)


#: The location documents: what follows /locations/{code} → how it is written.
BUILDERS = {"summary": _summary_json, "covid19": _covid_json, "signals": _signals_json}


def document(reader: Any, generation: int, view: LocationView, detail: Detail, kind: str) -> bytes:
    """Return one location document of a generation, gzip (from the cache when written)."""
    key = (generation, kind, view.location.code, detail.value)
    return rendered_gzip(DOCUMENTS, key, lambda: BUILDERS[kind](reader, view, detail))


def _cached_document(reader: Any, principal: Principal, code: str, kind: str) -> bytes | None:
    """Return the document if it is written for the committed generation, else None: no
    store work, so it runs on the event loop (most requests; the warm-up thread writes every
    location's public documents)."""
    tables = reader.current_tables()
    if tables is None:
        return None
    try:
        location = reader.location(code)
    except UnknownLocation:
        return None  # the worker thread answers 404
    detail = quick_detail(principal, location)
    if detail is None:
        return None
    return DOCUMENTS.get_gzip((tables.generation, kind, code, detail.value))


def _written_document(reader: Any, principal: Principal, code: str, kind: str) -> bytes:
    generation, view, detail = generation_view_for(reader, principal, code)
    return document(reader, generation, view, detail, kind)


@dataclass(frozen=True)
class LocationRequest:
    """A request for one of a location's documents: where to read, who asks, which place."""

    request: Request
    reader: Any
    principal: Principal
    code: str

    async def answer(self, kind: str) -> Response:
        """Answer from the serialised document of this snapshot, location and detail: from
        the cache on the event loop, or written in a worker thread (the first request of a
        generation, unless the warm-up thread wrote it)."""
        reader, principal, code = self.reader, self.principal, self.code
        packed = _cached_document(reader, principal, code, kind)
        if packed is None:
            packed = await run_in_threadpool(_written_document, reader, principal, code, kind)
        return json_response(self.request, packed)


async def _location_request(
    request: Request,
    reader: Reader,
    location_code: LocationCode,
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> LocationRequest:
    return LocationRequest(request, reader, principal, location_code)


#: The location routes' parameters (on the event loop: most answers come from the cache).
Located = Annotated[LocationRequest, Depends(_location_request)]


def warm_documents(app: Any, should_stop: Callable[[], bool]) -> None:
    """Write every location's public documents of the current generation (warm-up thread)."""
    reader = reader_for(app)
    generation = reader.tables().generation
    for location in warm_order(reader):
        if should_stop():
            return
        kinds = [
            kind
            for kind in BUILDERS
            if not DOCUMENTS.shared((generation, kind, location.code, Detail.PUBLIC.value))
        ]
        if kinds:  # else another process wrote them
            tables, _, public = reader.views(location.code)
            for kind in kinds:
                document(reader, tables.generation, public, Detail.PUBLIC, kind)


WARM_JOBS.append((3, warm_documents))


@router.get("/locations/{location_code}", response_model=LocationSummaryOut)
async def get_location(located: Located) -> Response:
    """Return a location with its county, neighbours and data sources (404 if unknown)."""
    return await located.answer("summary")


@router.get("/locations/{location_code}/covid19", response_model=CovidSeriesOut)
async def covid_series(located: Located) -> Response:
    """Return covid-19 per week: cases, rates, share infected, tests, consultations, signals.

    Municipal doctors get full detail for their municipality and its neighbours, logged-in
    users for the nation and counties; everyone else gets counts 1–4 as "<5".
    """
    return await located.answer("covid19")


@router.get("/locations/{location_code}/signals", response_model=SignalsOut)
async def signals(located: Located) -> Response:
    """Return the last year's weekly signals of the other syndromes, every age group."""
    return await located.answer("signals")
