"""JSON API of the surveillance map: /api/v1/surveillance/map (indicators per municipality)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from korona.auth.permissions import Permission, Principal
from korona.errors import N_, InvalidInput, NotFound
from korona.surveillance.map_tables import ANY_SYNDROME, MapTables, empty_tables, map_tables
from korona.surveillance.map_view import Indicator, MapError, MapView, map_view
from korona.surveillance.neighbours import neighbours
from korona.surveillance.series import Status
from korona.web.deps import get_settings
from korona.web.forms import FilterQuery
from korona.web.surveillance_context import (
    RenderCache,
    get_reader,
    json_response,
    rendered_gzip,
    surveillance_principal,
)

router = APIRouter(prefix="/api/v1/surveillance", tags=["surveillance"])
#: Serialised map answers per (generation, query, figures shown).
ANSWERS = RenderCache(size=4096, name="map-answers")
#: The answer's key per request as asked (generation, indicator, week or None for the
#: latest, county, syndrome): what the event loop looks the answer up by.
_ASKED: dict[tuple[object, ...], tuple[object, ...]] = {}
_ASKED_SIZE = 8192

ISO_WEEK = r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$"
Hidden = Literal["<5", ":"]
Count = Annotated[
    int | Hidden | None,
    Field(
        description='A count; hidden from you as "<5" (1 to 4) or ":" (hidden so that a '
        "total cannot give a small count back); null where not published"
    ),
]
Rate = Annotated[
    float | Hidden | None, Field(description="Hidden like the count it is computed from")
]


class MapQuery(FilterQuery):
    """Which map: indicator, ISO week, syndrome (signal map) and county (page and API alike)."""

    indicator: Indicator = Field(Indicator.SHARE_INFECTED, description="What colours the map")
    week: str | None = Field(
        None, pattern=ISO_WEEK, description="ISO week, e.g. 2021-W52 (default: the latest)"
    )
    syndrome: str = Field(
        ANY_SYNDROME,
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description='Syndrome of the signal map; "any" takes the worst status of all',
    )


class MapMunicipality(BaseModel):
    """One municipality's figures for the chosen week."""

    location_code: str = Field(examples=["municip4601"])
    name: str
    county_code: str = Field(examples=["county46"])
    county_name: str
    population: int | None = Field(description="SSB, 1 January of the week's ISO year")
    value: float | str | None = Field(
        description="The mapped figure: percent, per 100 000, or the signal status"
    )
    n: Count = Field(description="Cases that week (signal map: consultations for the syndrome)")
    cases_14d_n: Count = Field(description="Cases this week and the week before")
    cumulative_n: Count = Field(description="Cases since the first week")
    incidence_14d: Rate = Field(description="cases_14d_n per 100 000 inhabitants")
    share_infected_percent: Rate = Field(description="cumulative_n / population × 100")
    status: Status | None = Field(description="Signal status (signal map)")
    suppressed: bool = Field(description="Whether the mapped figure is hidden")


class MapLegendBin(BaseModel):
    """One colour of the legend: values in [lower, upper)."""

    colour: str
    lower: float | None
    upper: float | None


class MapIndicators(BaseModel):
    """The figures one map shows."""

    indicator: Indicator
    week: str | None = Field(description="None when the store holds no figures yet")
    weeks: list[str] = Field(description="Weeks with figures for this indicator")
    syndrome: str
    syndromes: list[str]
    county: str | None
    legend: list[MapLegendBin]
    municipalities: list[MapMunicipality]
    source: str


_CASE_SOURCE = N_("FHI (MSIS, cases by week) and SSB (population, table 07459)")
_SIGNAL_SOURCE = N_(
    "Consultations with GPs and out-of-hours clinics (KUHR), Sykdomspulsen's detector"
)
_SIMULATED_SIGNAL_SOURCE = N_(
    "Simulated consultations with GPs and out-of-hours clinics (KUHR), Sykdomspulsen's detector"
)


def source_of(indicator: Indicator, *, simulated: bool) -> str:
    """Return where an indicator's figures come from (English; the pages translate it);
    ``simulated``: the store's consultations come from simulated records."""
    if indicator is not Indicator.SIGNAL:
        return _CASE_SOURCE
    return _SIMULATED_SIGNAL_SOURCE if simulated else _SIGNAL_SOURCE


def full_detail_codes(principal: Principal, request: Request) -> frozenset[str]:
    """Return the municipalities the principal sees in full: with ``surveillance.detail``
    (municipal doctors), their own municipality and its neighbours, as on the location pages
    (``surveillance_context.detail_for``); everyone else sees municipalities as the public."""
    number = principal.municipality_number
    if not number or not principal.can(Permission.SURVEILLANCE_DETAIL):
        return frozenset()
    near = neighbours(get_settings(request).reference_dir).get(number, ())
    return frozenset(f"municip{code}" for code in (number, *near))


@dataclass(frozen=True)
class LoadedMap:
    """One map as a principal may see it, with the generation and query it answers."""

    generation: int
    tables: MapTables
    view: MapView
    full_detail: frozenset[str]
    source: str


def load_map(
    request: Request, principal: Principal, query: MapQuery, county: str | None
) -> LoadedMap:
    """Return the shared tables and the view the principal may see; bad choices raise 4xx."""
    reader = get_reader(request)
    national = reader.tables()
    if national.rates_all.height:
        tables = map_tables(national)
    else:
        tables = empty_tables(reader.reference_dir)
    full_detail = full_detail_codes(principal, request)
    try:
        view = map_view(
            tables,
            query.indicator,
            week=query.week,
            county=county,
            syndrome=query.syndrome,
            full_detail=full_detail,
        )
    except MapError as error:
        if "county" in error.params:
            raise NotFound(error.message, field="county", **error.params) from None
        field = "week" if "week" in error.params else "syndrome"
        raise InvalidInput(error.message, field=field, **error.params) from None
    source = source_of(view.indicator, simulated=national.simulated_consultations)
    return LoadedMap(national.generation, tables, view, full_detail, source)


def indicators(loaded: LoadedMap) -> MapIndicators:
    """Return the API's answer for one map."""
    tables, view = loaded.tables, loaded.view
    return MapIndicators(
        indicator=view.indicator,
        week=view.week,
        weeks=list(view.weeks),
        syndrome=view.syndrome,
        syndromes=[ANY_SYNDROME, *tables.syndromes],
        county=view.county,
        legend=[MapLegendBin(colour=e.colour, lower=e.lower, upper=e.upper) for e in view.legend],
        municipalities=[
            MapMunicipality(
                location_code=row.location_code,
                name=row.name,
                county_code=row.county_code,
                county_name=row.county_name,
                population=row.population,
                value=row.value,
                n=row.n,
                cases_14d_n=row.cases_14d_n,
                cumulative_n=row.cumulative_n,
                incidence_14d=row.incidence_14d,
                share_infected_percent=row.share_infected_percent,
                status=Status(row.status) if row.status else None,
                suppressed=row.suppressed,
            )
            for row in view.rows
        ],
        source=loaded.source,
    )


def _asked_key(generation: int, query: MapQuery, county: str | None) -> tuple[object, ...]:
    return (generation, query.indicator, query.week, county, query.syndrome)


def _cached_answer(
    request: Request, principal: Principal, query: MapQuery, county: str | None
) -> bytes | None:
    """Return the answer if it is written for the committed generation and a viewer who
    sees every municipality as the public does, else None: no store work (event loop)."""
    if principal.is_authenticated and principal.can(Permission.SURVEILLANCE_DETAIL):
        return None  # may see some municipalities in full: the worker thread decides
    reader = getattr(request.app.state, "surveillance_reader", None)
    tables = reader.current_tables() if reader is not None else None
    if tables is None:
        return None
    key = _ASKED.get(_asked_key(tables.generation, query, county))
    return None if key is None else ANSWERS.get_gzip(key)


def _written_answer(
    request: Request, principal: Principal, query: MapQuery, county: str | None
) -> bytes:
    loaded = load_map(request, principal, query, county)
    view = loaded.view
    # The answer depends on the snapshot, the map chosen and which figures the viewer sees.
    key = (loaded.generation, view.indicator, view.week, county, view.syndrome, loaded.full_detail)
    packed = rendered_gzip(ANSWERS, key, lambda: indicators(loaded).model_dump_json().encode())
    if not loaded.full_detail:
        if len(_ASKED) >= _ASKED_SIZE:
            _ASKED.clear()  # a new generation's keys replace the old ones
        _ASKED[_asked_key(loaded.generation, query, county)] = key
    return packed


@router.get("/map", response_model=MapIndicators)
async def map_indicators(
    request: Request,
    query: Annotated[MapQuery, Query()],
    county: Annotated[
        str | None, Query(pattern=r"^county\d{2}$", description="Only this county, e.g. county46")
    ] = None,
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> Response:
    """Return one week's share infected, 14-day incidence or signal status per municipality.

    The public and users outside the municipality see counts 1–4 as the string "<5", with a
    second count hidden where a county total would give one back, and no rate computed from a
    hidden count. A municipal doctor sees their municipality and its neighbours in full.
    """
    packed = _cached_answer(request, principal, query, county)
    if packed is None:
        packed = await run_in_threadpool(_written_answer, request, principal, query, county)
    return json_response(request, packed)
