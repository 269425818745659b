"""What the situation pages draw: the home-care map, the weekly chart, the need form's
prefill, and a need's municipal indicators (surveillance figures beside reported capacity)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl
import vl_convert as vlc
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from korona.auth.permissions import Principal
from korona.errors import N_, Forbidden
from korona.portfolio.situation import service
from korona.portfolio.situation.dashboard import WeekPoint, WeekSummary
from korona.portfolio.situation.models import SituationReport
from korona.portfolio.situation.places import Places
from korona.surveillance.choropleth import Area, map_geometry, render_choropleth
from korona.surveillance.colours import SEQUENTIAL_COLOURS, STATUS_COLOURS, ColourScale
from korona.surveillance.series import Status
from korona.web import i18n
from korona.web.charts import PALETTE
from korona.web.deps import get_settings
from korona.web.surveillance_context import get_reader
from korona.web.templating import render

#: The home-care load scale (hjemmetjenestebelastning), as the form and the map name it.
LOAD_LEVELS: dict[int, str] = {
    1: N_("1 – Normal"),
    2: N_("2 – Somewhat increased"),
    3: N_("3 – Increased"),
    4: N_("4 – Heavy"),
    5: N_("5 – Critical"),
}
#: The report's fields as forms, tables and error summaries name them (English message ids).
FIGURE_LABELS: dict[str, str] = {
    "municipality_number": N_("Municipality"),
    "week": N_("ISO week"),
    "nursing_home_beds_free": N_("Free nursing-home beds"),
    "acute_beds_free": N_("Free municipal acute beds (KAD)"),
    "test_capacity_per_day": N_("Test capacity per day"),
    "staff_absence_percent": N_("Staff absence (per cent)"),
    "home_care_load": N_("Home-care load (1–5)"),
    "tracing_capacity_per_day": N_("Infection-tracing capacity (cases per day)"),
    "needs_text": N_("Needs (free text)"),
    "need_ids": N_("Registered needs"),
}
#: One sequential colour per load level: bins [..2), [2..3), … hold levels 1 … 5.
LOAD_SCALE = ColourScale((2.0, 3.0, 4.0, 5.0), SEQUENTIAL_COLOURS)
NOT_REPORTED_FILL = "#d9d9d9"
LOAD_LEGEND: tuple[tuple[str, str], ...] = (
    *((colour, LOAD_LEVELS[level + 1]) for level, colour in enumerate(SEQUENTIAL_COLOURS)),
    (NOT_REPORTED_FILL, N_("Not reported")),
)


def own_report(
    report_id: int, principal: Principal, refusal: str, *, session: Session
) -> SituationReport:
    """Return the report if the principal may act for its municipality; else refuse (403)
    with ``refusal``, a message id."""
    report = service.get_report(report_id, session=session)
    if not service.may_report_for(principal, report.municipality_number, session=session):
        raise Forbidden(refusal)
    return report


def form_value(value: Any) -> str:
    """Return a stored figure as the form shows it (no trailing .0, a decimal comma)."""
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if i18n.current_language.get() == "nb" else text
    return "" if value is None else str(value)


def load_map(request: Request, summary: WeekSummary, places: Places) -> str:
    """Return the week's home-care load map as one SVG element (not-reported is grey)."""
    geometry = map_geometry(get_settings(request).reference_dir)
    areas: dict[str, Area] = {}
    for report in summary.reports:
        name = places.municipality_name(report.municipality_number)
        level = i18n.gettext(LOAD_LEVELS[report.home_care_load])
        absence = form_value(report.staff_absence_percent)
        label = i18n.gettext(
            "%(name)s: home-care load %(level)s, staff absence %(absence)s %%",
            name=name,
            level=level,
            absence=absence,
        )
        colour = LOAD_SCALE.colour(float(report.home_care_load)) or NOT_REPORTED_FILL
        areas[report.municipality_number] = Area(colour, label, f"/situation/reports/{report.id}")
    title = i18n.gettext("Home-care load by municipality, week %(week)s", week=summary.week or "–")
    return render_choropleth(
        geometry, areas, label=title, county=summary.county, no_data_fill=NOT_REPORTED_FILL
    )


#: The chart's panels: figure of a WeekPoint → English label.
CHART_FIGURES: tuple[tuple[str, str], ...] = (
    ("reported", N_("Municipalities reporting")),
    ("nursing_home_beds_free", N_("Free nursing-home beds")),
    ("staff_absence_percent", N_("Staff absence, mean per cent")),
    ("home_care_load", N_("Home-care load, mean (1–5)")),
)


def weekly_chart_svg(series: Sequence[WeekPoint]) -> str:
    """Return the figures week by week as four small line charts in one SVG."""
    rows = [
        {"week": point.week, "figure": i18n.gettext(label), "value": getattr(point, name)}
        for point in series
        for name, label in CHART_FIGURES
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("week:O", title=i18n.gettext("ISO week"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("value:Q", title=None),
    )
    chart = (
        base.mark_line(point=True, color=PALETTE[0])
        .properties(width=320, height=110)
        .facet(
            row=alt.Row(
                "figure:N",
                title=None,
                sort=[i18n.gettext(label) for _name, label in CHART_FIGURES],
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelAnchor="start",
                    labelOrient="top",
                    labelFontSize=13,
                ),
            )
        )
        .resolve_scale(y="independent")
        .configure_axis(labelFontSize=11, titleFontSize=12)
        .configure_view(strokeWidth=0)
    )
    return str(vlc.vegalite_to_svg(chart.to_dict()))


def need_prefill(report: SituationReport, places: Places) -> dict[str, Any]:
    """Return the need form's values taken from a report's free text."""
    text = report.needs_text.strip()
    first_line = text.splitlines()[0].strip() if text else ""
    title = first_line.split(". ")[0].rstrip(".")
    if len(title) > 120:
        title = title[:120].rsplit(" ", 1)[0]
    if len(title) < 3:
        title = i18n.gettext(
            "Need from %(municipality)s, week %(week)s",
            municipality=places.municipality_name(report.municipality_number),
            week=report.week,
        )
    return {
        "title": title,
        "description": text,
        "category": "",
        "urgency": "3" if report.home_care_load >= 4 else "2",
        "affected_groups": ["health_personnel"],
    }


#: Signal statuses as the need page names them.
SIGNAL_LABELS: dict[str, str] = {
    Status.NORMAL.value: N_("Normal"),
    Status.MEDIUM.value: N_("Medium"),
    Status.HIGH.value: N_("High"),
}


@dataclass(frozen=True)
class Indicators:
    """One municipality's live figures: surveillance (latest week with cases) and capacity."""

    number: str
    name: str
    covid_week: str | None
    share_infected_percent: float | None
    incidence_14d: float | None
    covid_signal: str | None
    signal_week: str | None
    high_signals: int
    medium_signals: int
    report: SituationReport | None

    @property
    def signal_label(self) -> str | None:
        """Return the covid-19 signal status as an English message id."""
        return SIGNAL_LABELS.get(self.covid_signal) if self.covid_signal else None

    @property
    def signal_colour(self) -> str | None:
        """Return the colour of the covid-19 signal status, if there is one."""
        return STATUS_COLOURS.get(Status(self.covid_signal)) if self.covid_signal else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def indicator_rows(
    request: Request, session: Session, places: Places, numbers: Sequence[str]
) -> list[Indicators]:
    """Return the live indicators of each municipality, from the store and the reports."""
    reader = get_reader(request)
    latest = service.latest_reports(numbers, session=session)
    rows = []
    for number in numbers:
        view = reader.view(f"municip{number}")
        covid = view.latest_covid() or {}
        signal_week, high, medium = None, 0, 0
        dated = view.signals.filter(pl.col("date").is_not_null())
        if dated.height:
            week = dated.filter(pl.col("date") == dated["date"].max())
            signal_week = str(week["week"][0])
            high = week.filter(pl.col("status") == Status.HIGH.value).height
            medium = week.filter(pl.col("status") == Status.MEDIUM.value).height
        rows.append(
            Indicators(
                number=number,
                name=places.municipality_name(number),
                covid_week=covid.get("week"),  # type: ignore[arg-type]
                share_infected_percent=_number(covid.get("share_infected_percent")),
                incidence_14d=_number(covid.get("per_100k_14d")),
                covid_signal=covid.get("cases_signal") or covid.get("consultation_signal"),  # type: ignore[arg-type]
                signal_week=signal_week,
                high_signals=high,
                medium_signals=medium,
                report=latest.get(number),
            )
        )
    return rows


def render_page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render a situation page with the field labels and the load scale every page shows."""
    shared = {"labels": FIGURE_LABELS, "load_levels": LOAD_LEVELS}
    return render(request, template, shared | context, status_code=status_code)
