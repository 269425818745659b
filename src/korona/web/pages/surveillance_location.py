"""Surveillance location pages: /surveillance/{location_code} (norge, countyNN, municipNNNN)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from korona.auth.permissions import ANONYMOUS, Permission, Principal
from korona.errors import N_, NotFound
from korona.surveillance.disclosure import records
from korona.surveillance.geo import AgeGroup
from korona.surveillance.location_view import LocationView, UnknownLocation
from korona.tabular import Audience
from korona.web import i18n
from korona.web.exports import AudienceQuery
from korona.web.surveillance_context import (
    UNKNOWN_LOCATION,
    WARM_JOBS,
    Detail,
    Reader,
    RenderCache,
    detail_for,
    generation_view_for,
    reader_for,
    rendered,
    surveillance_principal,
    view_for,
    warm_in_background,
    warm_order,
)
from korona.web.surveillance_csv import csv_response
from korona.web.surveillance_numbers import number as _number
from korona.web.surveillance_svg import LINE_COLOURS, comparison_chart, signal_chart, tile_chart
from korona.web.surveillance_words import (
    LEVEL_LABELS,
    age_label,
    source_label,
    status_label,
    syndrome_label,
)
from korona.web.templating import render, templates

# The router's lifespan starts the surveillance warm-up thread with the app.
router = APIRouter(prefix="/surveillance", include_in_schema=False, lifespan=warm_in_background)

LocationCode = Annotated[str, Path(max_length=40, description="norge, countyNN or municipNNNN")]
#: Weeks of the signals table on the page (the CSV file holds all); the covid table, folded
#: away under its summary, holds every week with a case count.
TABLE_WEEKS = 4
#: Weeks drawn in the charts.
CHART_WEEKS = 52

#: The signal table's columns, in order, and which of them the page may sort by.
SIGNAL_SORT = ("week", "syndrome", "age", "n", "expected", "zscore", "status", "excess")
TABLES = ("covid", "signals", "comparison")
#: Rendered page contents kept: every location, full and public, in both languages, with
#: room for the other syndromes and sort orders people choose.
BODIES = RenderCache(size=4 * 368 * 2, name="location-pages")


class PageQuery(BaseModel):
    """What the reader chose on a location page: the syndrome charted, the signals' order."""

    model_config = ConfigDict(frozen=True)

    syndrome: Annotated[str | None, Field(max_length=40)] = None
    sort: Annotated[str | None, Field(max_length=20)] = None
    order: Annotated[str, Field(pattern="^(asc|desc)$")] = "desc"

    @property
    def sort_column(self) -> str | None:
        """Return the column to sort the signals by (None: the read model's order)."""
        return self.sort if self.sort in SIGNAL_SORT else None


#: The page as first opened: the first syndrome, the signals in the read model's order.
FIRST_VIEW = PageQuery()


def _sorted_signals(rows: list[_Row], sort: str | None, order: str) -> list[_Row]:
    if sort not in SIGNAL_SORT:
        return rows  # the read model's order: latest week first, high signals first
    rank = {"high": 0, "medium": 1, "normal": 2}

    def key(row: Mapping[str, Any]) -> tuple[int, Any]:
        value = row[sort]
        if sort == "status":
            value = rank.get(value or "", 3)
        if sort == "week":
            value = row["date"]
        if value is None or isinstance(value, str):  # hidden or missing figures sort last
            return (1, 0)
        return (0, value)

    present = sorted((r for r in rows if key(r)[0] == 0), key=key, reverse=order == "desc")
    return present + [r for r in rows if key(r)[0] == 1]


def _overview(view: LocationView) -> dict[str, Any] | None:
    """Return the latest week's figures, each beside its source."""
    covid = view.covid
    known = covid.filter(
        pl.col("n").is_not_null() | pl.col("n__label").is_not_null()
        if "n__label" in covid.columns
        else pl.col("n").is_not_null()
    )
    if known.height == 0:
        return None
    latest = _rows(known.tail(1))[0]
    cumulative = covid.filter(pl.col("cumulative_n").is_not_null())
    share = _rows(cumulative.tail(1))[0] if cumulative.height else None
    tests = covid.filter(pl.col("positivity_percent").is_not_null())
    consultations = covid.filter(
        pl.col("consultations_all_n").is_not_null()
        | (
            pl.col("consultations_all_n__label").is_not_null()
            if "consultations_all_n__label" in covid.columns
            else pl.lit(False)
        )
    )
    hospital = covid.filter(pl.col("hospital_admissions_n").is_not_null())
    return {
        "latest": latest,
        "share": share,
        "tests": _rows(tests.tail(1))[0] if tests.height else None,
        "consultations": _rows(consultations.tail(1))[0] if consultations.height else None,
        "hospital": _rows(hospital.tail(1))[0] if hospital.height else None,
    }


class _Row(dict[str, Any]):
    """A table row whose cells the templates read as attributes (``row.n``) without Jinja's
    failed attribute lookup on a plain dict before the item lookup: thousands per page."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _rows(frame: pl.DataFrame) -> list[_Row]:
    """Return a frame's rows for the templates, hidden counts as their labels."""
    return [_Row(row) for row in records(frame)]


def _has_count(frame: pl.DataFrame, column: str) -> pl.Expr:
    """Return rows whose count is shown or hidden behind a label (not simply missing)."""
    label = f"{column}__label"
    shown = pl.col(column).is_not_null()
    return shown | pl.col(label).is_not_null() if label in frame.columns else shown


def _signal_chart_rows(view: LocationView, syndrome: str) -> list[_Row]:
    rows = view.signals.filter(
        pl.col("syndrome") == syndrome, pl.col("age") == AgeGroup.TOTAL.value
    ).sort("date")
    return _rows(rows.tail(CHART_WEEKS))


def _charts(view: LocationView, syndrome: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if syndrome is not None:
        rows = _signal_chart_rows(view, syndrome)
        name = syndrome_label(syndrome)
        labels = {
            "axis": i18n.gettext("Consultations per week"),
            "description": i18n.gettext(
                "Weekly consultations for %(syndrome)s, all ages, drawn over bands: blue below "
                "the lower threshold, yellow between the thresholds, red above the upper "
                "threshold. The dashed line is the expected number. Triangles mark weeks much "
                "higher than expected, circles weeks higher than expected; a dashed box with a "
                "question mark marks a week that may be incomplete. The table below holds the "
                "same figures.",
                syndrome=name,
            ),
        }
        title = i18n.gettext("%(syndrome)s: consultations against expected", syndrome=name)
        out["signal_svg"] = signal_chart(rows, title=title, labels=labels)
        out["signal_rows_chart"] = rows
        tiles = view.signals.filter(pl.col("syndrome") == syndrome).sort("date")
        weeks = tiles["week"].unique(maintain_order=True).to_list()[-CHART_WEEKS:]
        ages = [a.value for a in AgeGroup if a.value in set(tiles["age"].to_list())]
        status = {(r["age"], r["week"]): r["status"] for r in tiles.iter_rows(named=True)}
        out["tile_svg"] = tile_chart(
            [(a, age_label(a)) for a in ages],
            weeks,
            status,
            title=i18n.gettext("%(syndrome)s: signal status by age and week", syndrome=name),
            description=i18n.gettext(
                "One row per age group and one column per week; blue expected, yellow with a "
                "dot higher than expected, red with a triangle much higher than expected, grey "
                "no signal. The signals table holds the same statuses."
            ),
        )
    comparison = view.comparison
    if comparison.height:
        last = comparison["date"].max()
        recent = comparison.filter(pl.col("date") > last - pl.duration(weeks=CHART_WEEKS))
        weeks = recent.sort("date")["week"].unique(maintain_order=True).to_list()
        order = [view.location.code, *(n.code for n in view.neighbours)]
        if view.county is not None:
            order.append(view.county.code)
        lines, legend = [], []
        for index, code in enumerate(c for c in order if c in set(recent["location_code"])):
            mine = recent.filter(pl.col("location_code") == code)
            by_week = dict(zip(mine["week"], mine["per_100k_14d"], strict=True))
            role = mine["role"][0]
            lines.append((mine["name"][0], role, [by_week.get(w) for w in weeks]))
            legend.append(
                {
                    "name": mine["name"][0],
                    "role": role,
                    "colour": LINE_COLOURS[index % len(LINE_COLOURS)],
                }
            )
        out["comparison_svg"] = comparison_chart(
            lines,
            weeks,
            title=i18n.gettext("14-day incidence per 100 000 compared"),
            description=i18n.gettext(
                "One line per place: the location thick, neighbouring municipalities thin, the "
                "county dashed. The comparison table holds the same figures."
            ),
            axis=i18n.gettext("Cases per 100 000, 14 days"),
        )
        out["comparison_legend"] = legend
        latest_week = recent.filter(pl.col("date") == last)
        place = {code: i for i, code in enumerate(order)}
        out["comparison_rows"] = sorted(
            _rows(latest_week), key=lambda row: place.get(row["location_code"], len(place))
        )
    return out


@router.get("/{location_code}")
def location_page(
    request: Request,
    reader: Reader,
    location_code: LocationCode,
    query: Annotated[PageQuery, Query()],
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> Response:
    """Show covid-19, signals, charts and neighbours of one location."""
    try:
        location = reader.location(location_code)
    except UnknownLocation:
        raise NotFound(UNKNOWN_LOCATION, code=location_code) from None
    detail = detail_for(reader, principal, location)
    generation = reader.tables().generation
    key = _page_key(generation, location.code, detail, principal, query)
    body = BODIES.get(key)  # rendered here or by another process: no view needed
    if body is None:
        generation, view, detail = generation_view_for(reader, principal, location_code)
        body = page_body(generation, view, detail, principal, query)
    context = {"location": location, "body": body.decode()}
    return render(request, "surveillance/location.html", context)


def page_body(
    generation: int,
    view: LocationView,
    detail: Detail,
    principal: Principal,
    query: PageQuery = FIRST_VIEW,
) -> bytes:
    """Return the page's content for a view and query (from the cache when rendered before)."""
    # Everything the content depends on: the snapshot, the figures shown, the language and
    # the query (a municipal doctor's full view is a key of its own, never the public's).
    key = _page_key(generation, view.location.code, detail, principal, query)
    return rendered(BODIES, key, lambda: _body(view, detail, principal, query).encode())


def _page_key(
    generation: int,
    code: str,
    detail: Detail,
    principal: Principal,
    query: PageQuery = FIRST_VIEW,
) -> tuple[object, ...]:
    return (
        generation,
        code,
        detail.value,
        principal.is_authenticated,
        i18n.current_language.get(),
        query.syndrome,
        query.sort_column,
        query.order,
    )


def warm_pages(app: Any, should_stop: Callable[[], bool]) -> None:
    """Render every location's public page content in Norwegian (warm-up thread)."""
    reader = reader_for(app)
    token = i18n.current_language.set(i18n.DEFAULT_LANGUAGE)
    try:
        generation = reader.tables().generation
        for location in warm_order(reader):
            if should_stop():
                return
            if BODIES.shared(_page_key(generation, location.code, Detail.PUBLIC, ANONYMOUS)):
                continue  # another process rendered it
            tables, _, public = reader.views(location.code)
            page_body(tables.generation, public, Detail.PUBLIC, ANONYMOUS)
    finally:
        i18n.current_language.reset(token)


WARM_JOBS.append((2, warm_pages))


def _body(
    view: LocationView,
    detail: Detail,
    principal: Principal,
    query: PageQuery,
) -> str:
    """Render the page's content (without the site's frame) for one view and query."""
    syndromes = sorted(set(view.signals["syndrome"].to_list()), key=syndrome_label)
    syndrome = query.syndrome
    chosen = syndrome if syndrome in syndromes else (syndromes[0] if syndromes else None)
    latest_weeks = view.signals["date"].unique().sort(descending=True).head(TABLE_WEEKS)
    table_rows = _sorted_signals(
        _rows(view.signals.filter(pl.col("date").is_in(latest_weeks.implode()))),
        query.sort_column,
        query.order,
    )
    covid_rows = _rows(view.covid.filter(_has_count(view.covid, "n")))
    context = {
        "view": view,
        "principal": principal,
        "detail": detail.value,
        "public": detail is Detail.PUBLIC,
        "level_label": i18n.gettext(LEVEL_LABELS[view.location.level]),
        "overview": _overview(view),
        "covid_rows": list(reversed(covid_rows)),
        "signal_rows": table_rows,
        "syndromes": [(s, syndrome_label(s)) for s in syndromes],
        "syndrome": chosen,
        "sort": query.sort_column,
        "order": query.order,
        "sortable": SIGNAL_SORT,
        "number": _number,
        "status_label": status_label,
        "syndrome_label": syndrome_label,
        "age_label": age_label,
        "source_label": source_label,
        **_charts(view, chosen),
    }
    return templates.env.get_template("surveillance/location_body.html").render(context)


def table_frame(view: LocationView, table: str) -> pl.DataFrame:
    """Return one of the page's tables (hidden counts beside their labels)."""
    return {"covid": view.covid, "signals": view.signals, "comparison": view.comparison}[table]


def table_rows(view: LocationView, table: str) -> tuple[list[str], list[list[Any]]]:
    """Return the columns and rows of one of the page's tables (hidden counts as labels)."""
    frame = table_frame(view, table)
    rows = records(frame)
    columns = [c for c in frame.columns if not c.endswith("__label")]
    return columns, [[row.get(c) for c in columns] for row in rows]


@router.get("/{location_code}/{table}.csv")
def location_csv(
    reader: Reader,
    location_code: LocationCode,
    table: Annotated[str, Path(max_length=20)],
    audience: AudienceQuery = Audience.PEOPLE,
    principal: Principal = Depends(surveillance_principal(Permission.PUBLIC)),
) -> Response:
    """Download one of the page's tables as CSV (the same figures the page may show):
    for Norwegian Excel by default, ``?format=machine`` for scripts."""
    if table not in TABLES:
        raise NotFound(N_("No such table: use covid, signals or comparison"))
    view, _ = view_for(reader, principal, location_code)
    return csv_response(
        table_frame(view, table), name=f"{location_code}-{table}", audience=audience
    )
