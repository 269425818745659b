"""The Sykdomspulsen map pages: Norway by municipality (/surveillance) and one county zoomed in."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from korona.auth.permissions import Permission, Principal
from korona.surveillance.choropleth import Area, map_geometry, render_choropleth
from korona.surveillance.map_tables import ANY_SYNDROME, MapTables, map_tables
from korona.surveillance.map_view import (
    NO_DATA_FILL,
    SUPPRESSED_FILL,
    Indicator,
    MapRow,
    MapView,
    map_view,
)
from korona.surveillance.metrics import SUPPRESSED_LABEL
from korona.surveillance.series import Status
from korona.web import i18n
from korona.web.api.surveillance_map import LoadedMap, MapQuery, load_map, source_of
from korona.web.surveillance_context import (
    WARM_JOBS,
    RenderCache,
    reader_for,
    rendered,
    surveillance_principal,
)
from korona.web.templating import render, templates

router = APIRouter(prefix="/surveillance", include_in_schema=False)

County = Annotated[str, Path(pattern=r"^county\d{2}$")]


def indicator_names() -> dict[Indicator, str]:
    """Return each indicator's name in the current language."""
    return {
        Indicator.SHARE_INFECTED: i18n.gettext("Share infected (cumulative)"),
        Indicator.INCIDENCE_14D: i18n.gettext("14-day incidence per 100 000"),
        Indicator.SIGNAL: i18n.gettext("Signal status"),
    }


def status_names() -> dict[str, str]:
    """Return each signal status's name in the current language."""
    return {
        Status.NORMAL.value: i18n.gettext("Normal"),
        Status.MEDIUM.value: i18n.gettext("Medium"),
        Status.HIGH.value: i18n.gettext("High"),
    }


def number(value: float | int | str | None, digits: int = 1) -> str:
    """Return a figure for display: a decimal in the current language, "<5", or a dash."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
    if i18n.current_language.get() == "nb":
        # Norwegian: a non-breaking space between thousands and a decimal comma (Babel's
        # format_decimal gives the same, at a tenth of the speed for a 356-row table).
        return text.replace(",", "\u00a0").replace(".", ",")
    return text


def shown_value(view: MapView, row: MapRow) -> str:
    """Return the mapped figure of one municipality with its unit."""
    if view.indicator is Indicator.SIGNAL:
        return status_names().get(row.status or "", "–")
    if row.value is None or row.value == SUPPRESSED_LABEL:
        return number(row.value)
    if view.indicator is Indicator.SHARE_INFECTED:
        return f"{number(row.value)} %"
    return number(row.value)


#: Rendered maps (SVG) and page contents per generation, query, figures shown and language.
MAPS = RenderCache(size=2048, name="map-svgs")
BODIES = RenderCache(size=2048, name="map-pages")


def _svg(tables: MapTables, view: MapView, reference_dir: FilePath) -> str:
    """Render one map (the figures differ between the public and a municipal doctor, so each
    sees their own map)."""
    areas = {
        row.number: Area(
            row.fill,
            f"{row.name}: {shown_value(view, row)}",
            f"/surveillance/{row.location_code}",
        )
        for row in view.rows
    }
    names = indicator_names()
    label = i18n.gettext("Map of %(place)s: %(indicator)s, week %(week)s") % {
        "place": tables.county_names.get(view.county or "", "Norge") if view.county else "Norge",
        "indicator": names[view.indicator],
        "week": view.week,
    }
    return render_choropleth(
        map_geometry(reference_dir),
        areas,
        label=label,
        county=view.county.removeprefix("county") if view.county else None,
    )


def map_svg(loaded: LoadedMap, reference_dir: FilePath) -> str:
    """Return the map's SVG (shared by every viewer who sees the same figures)."""
    view = loaded.view
    key = (
        loaded.generation,
        view.indicator,
        view.week,
        view.county,
        view.syndrome,
        loaded.full_detail,
        i18n.current_language.get(),
    )
    return rendered(MAPS, key, lambda: _svg(loaded.tables, view, reference_dir).encode()).decode()


def _page(request: Request, principal: Principal, query: MapQuery, county: str | None) -> Response:
    loaded = load_map(request, principal, query, county)
    tables, view = loaded.tables, loaded.view
    reference_dir = reader_for(request.app).reference_dir
    key = (
        loaded.generation,
        county,
        str(request.query_params),
        loaded.full_detail,
        principal.is_authenticated,
        i18n.current_language.get(),
    )

    def body() -> bytes:
        context = _context(loaded, county, reference_dir)
        context |= {"principal": principal, "request": request}
        template = templates.env.get_template("surveillance/map_body.html")
        return template.render(context).encode()

    content = rendered(BODIES, key, body).decode()
    title = {"county_name": tables.county_names.get(county or ""), "view": view}
    return render(request, "surveillance/map.html", {**title, "body": content})


def _context(loaded: LoadedMap, county: str | None, reference_dir: FilePath) -> dict[str, Any]:
    tables, view = loaded.tables, loaded.view
    return {
        "view": view,
        "svg": map_svg(loaded, reference_dir) if view.rows else "",
        "rows": sorted(view.rows, key=lambda row: row.name),
        "indicators": indicator_names(),
        "statuses": status_names(),
        "syndromes": [ANY_SYNDROME, *tables.syndromes],
        "counties": sorted(tables.county_names.items(), key=lambda item: item[0]),
        "county_name": tables.county_names.get(county or ""),
        "shown_value": functools.partial(shown_value, view),
        "number": number,
        "source": loaded.source,
        "suppressed_fill": SUPPRESSED_FILL,
        "no_data_fill": NO_DATA_FILL,
        "Indicator": Indicator,
        "action": f"/surveillance/map/{county}" if county else "/surveillance",
    }


def warm_maps(app: Any, should_stop: Callable[[], bool]) -> None:
    """Build the map's tables and the public maps of the latest week, in both languages (run
    by the warm-up thread after the location views)."""
    reader = reader_for(app)
    national = reader.tables()
    if not national.rates_all.height:
        return
    tables = map_tables(national)
    for language in i18n.LANGUAGES:
        token = i18n.current_language.set(language)
        try:
            for indicator in Indicator:
                for county in (None, *sorted(tables.county_names)):
                    if should_stop():
                        return
                    view = map_view(tables, indicator, county=county)
                    if view.rows:
                        source = source_of(indicator, simulated=national.simulated_consultations)
                        loaded = LoadedMap(national.generation, tables, view, frozenset(), source)
                        map_svg(loaded, reader.reference_dir)
        finally:
            i18n.current_language.reset(token)


WARM_JOBS.append((1, warm_maps))


@router.get("")
def national_map(
    request: Request,
    query: Annotated[MapQuery, Query()],
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> Response:
    """Show Norway by municipality: share infected, 14-day incidence or signal status."""
    return _page(request, principal, query, None)


@router.get("/map/{county}")
def county_map(
    request: Request,
    county: County,
    query: Annotated[MapQuery, Query()],
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> Response:
    """Show one county's municipalities, zoomed in."""
    return _page(request, principal, query, county)
