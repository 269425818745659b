"""Charts drawn server-side with Altair and rendered to SVG by vl-convert (no JavaScript).

Every chart is drawn for the width it will be shown at (``width`` pixels, labels included),
so a phone gets a narrow chart with readable text rather than a wide one scaled down; long
labels wrap onto several lines instead of being cut, and every page shows the same numbers
in a table beside the chart.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Annotated, Any

import altair as alt
import vl_convert as vlc
from fastapi import Query
from fastapi.responses import Response

#: Designsystemet-like palette with enough contrast against white (WCAG non-text 3:1).
PALETTE = ["#0062ba", "#b3253a", "#1e7a46", "#a15c00", "#6c3fb5", "#3d4a57", "#0b7c86", "#9c2f6d"]
DEFAULT_WIDTH = 720
#: Below this width (pixels) a chart is drawn for a phone: shorter label lines.
NARROW = 480
#: The chart width a page asks for: the width of the box it is shown in.
ChartWidth = Annotated[int, Query(ge=280, le=1600, description="Chart width in pixels")]
#: Joins the lines of a wrapped label (Vega splits a label on it, see ``_wrapped_labels``).
LINE_BREAK = "|"


def wrap_label(text: str, width: int) -> str:
    """Return the label broken into lines of at most about ``width`` characters."""
    text = text.replace(LINE_BREAK, "/")
    if len(text) <= width:
        return text
    # "A / B" keeps the slash on the first line rather than alone on a line of its own.
    text = text.replace(" / ", "/ ")
    return LINE_BREAK.join(textwrap.wrap(text, width, break_long_words=False)) or text


def _wrapped_labels() -> str:
    return f"split(datum.label, '{LINE_BREAK}')"


def _configure(chart: alt.Chart | alt.LayerChart, width: int) -> Any:
    return (
        chart.properties(width=width, autosize=alt.AutoSizeParams(type="fit", contains="padding"))
        .configure_axis(labelFontSize=12, titleFontSize=13, titlePadding=10, labelLimit=0)
        .configure_legend(labelFontSize=12, titleFontSize=13, labelLimit=0)
        .configure_view(strokeWidth=0)
    )


def render_svg(chart: Any) -> str:
    """Return the chart as SVG text."""
    return str(vlc.vegalite_to_svg(chart.to_dict()))


def svg_response(svg: str) -> Response:
    """Return drawn SVG text as the response of a chart's route."""
    return Response(svg, media_type="image/svg+xml")


def _colour_scale(colors: dict[str, str] | None) -> alt.Scale:
    """``colors`` fixes each group's colour and their order; without it, the palette's order."""
    if colors:
        return alt.Scale(domain=list(colors), range=list(colors.values()))
    return alt.Scale(range=PALETTE)


def _stack_colours(field: str, title: str, colors: dict[str, str] | None, width: int) -> alt.Color:
    """Colour a stacked chart's stacks, with the legend below it: two columns on a phone."""
    return alt.Color(
        field,
        title=title,
        scale=_colour_scale(colors),
        legend=alt.Legend(orient="bottom", columns=2 if width < NARROW else 3),
    )


def stacked_bar_svg(
    rows: Sequence[dict[str, Any]],
    *,
    category: str,
    value: str,
    stack: str,
    category_title: str,
    value_title: str,
    stack_title: str,
    colors: dict[str, str] | None = None,
    width: int = DEFAULT_WIDTH,
) -> str:
    """Return a horizontal stacked bar chart as SVG; ``colors`` fixes stack order and colour.

    The category labels wrap (no label is cut); the category axis has no title, since the
    labels speak for themselves and a title beside wrapped labels would overlap them.
    """
    line = 20 if width < NARROW else 30
    labelled = [{**row, "axis_label": wrap_label(str(row[category]), line)} for row in rows]
    lines = max((row["axis_label"].count(LINE_BREAK) + 1 for row in labelled), default=1)
    data = alt.Data(values=labelled)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(
                "axis_label:N",
                title=None,
                sort="-x",
                axis=alt.Axis(labelExpr=_wrapped_labels(), labelPadding=6),
            ),
            x=alt.X(f"sum({value}):Q", title=value_title, axis=alt.Axis(tickMinStep=1)),
            color=_stack_colours(f"{stack}:N", stack_title, colors, width),
            tooltip=[
                alt.Tooltip(f"{category}:N", title=category_title),
                alt.Tooltip(f"{stack}:N", title=stack_title),
                alt.Tooltip(f"sum({value}):Q", title=value_title),
            ],
        )
        # Each bar gets room for its label's lines, so wrapped labels never overlap; the left
        # padding leaves room for a browser font wider than the one vl-convert measured with.
        .properties(height=alt.Step(max(28, 16 * lines + 6)), padding={"left": 24, "right": 4})
    )
    return render_svg(_configure(chart, width))


def probability_bar_svg(
    rows: Sequence[dict[str, Any]],
    *,
    category: str,
    value: str,
    colour: str,
    category_title: str,
    value_title: str,
    colour_title: str,
    colours: dict[str, str],
    sort: bool = True,
    width: int = 480,
) -> str:
    """Return horizontal bars of probabilities (0–1) as SVG, with 50 % and 90 % guide lines."""
    data = alt.Data(values=list(rows))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=None, sort="-x" if sort else None),
            x=alt.X(
                f"{value}:Q",
                title=value_title,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            color=alt.Color(
                f"{colour}:N",
                title=colour_title,
                scale=_colour_scale(colours),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", format=".0%")],
        )
    )
    guides = (
        alt.Chart(alt.Data(values=[{"x": 0.5}, {"x": 0.9}]))
        .mark_rule(strokeDash=[4, 4], color="#3d4a57")
        .encode(x="x:Q")
    )
    chart = (
        alt.layer(bars, guides)
        .properties(width=width, height=alt.Step(18), title=category_title, padding=12)
        .configure(font="DejaVu Sans, sans-serif")
        .configure_axis(labelFontSize=12, titleFontSize=13, labelLimit=260)
        .configure_legend(labelFontSize=12, titleFontSize=13)
        .configure_view(strokeWidth=0)
    )
    return render_svg(chart)


def weekly_bars_svg(
    rows: Sequence[dict[str, Any]],
    *,
    weeks: Sequence[str],
    week_title: str,
    value_title: str,
    stack_title: str,
    colors: dict[str, str] | None = None,
    width: int = DEFAULT_WIDTH,
) -> str:
    """Return vertical stacked bars per week as SVG, every week on the axis, empty or not.

    ``rows`` hold ``week`` (a label from ``weeks``), ``group`` and ``n``; ``weeks`` is the
    axis in time order. Labels stay horizontal and are thinned out when they would overlap.
    """
    chart = (
        alt.Chart(alt.Data(values=list(rows)))
        .mark_bar()
        .encode(
            x=alt.X(
                "week:O",
                title=week_title,
                scale=alt.Scale(domain=list(weeks)),
                axis=alt.Axis(labelAngle=0, labelOverlap="greedy", labelPadding=4),
            ),
            y=alt.Y("sum(n):Q", title=value_title, axis=alt.Axis(tickMinStep=1)),
            color=_stack_colours("group:N", stack_title, colors, width),
            tooltip=[
                alt.Tooltip("week:O", title=week_title),
                alt.Tooltip("group:N", title=stack_title),
                alt.Tooltip("sum(n):Q", title=value_title),
            ],
        )
        .properties(height=240 if width < NARROW else 280)
    )
    return render_svg(_configure(chart, width))
