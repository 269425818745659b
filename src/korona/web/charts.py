"""Charts drawn server-side with Altair and rendered to SVG by vl-convert (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import vl_convert as vlc

#: Designsystemet-like palette with enough contrast against white (WCAG non-text 3:1).
PALETTE = ["#0062ba", "#b3253a", "#1e7a46", "#a15c00", "#6c3fb5", "#3d4a57", "#0b7c86", "#9c2f6d"]


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
    width: int = 640,
) -> str:
    """Return a horizontal stacked bar chart as SVG; ``colors`` fixes stack order and colour."""
    data = alt.Data(values=list(rows))
    scale = (
        alt.Scale(domain=list(colors), range=list(colors.values()))
        if colors
        else alt.Scale(range=PALETTE)
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=category_title, sort="-x"),
            x=alt.X(f"sum({value}):Q", title=value_title, axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                f"{stack}:N",
                title=stack_title,
                scale=scale,
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            tooltip=[f"{category}:N", f"{stack}:N", f"sum({value}):Q"],
        )
        .properties(width=width, height=alt.Step(26))
        .configure_axis(labelFontSize=12, titleFontSize=13, labelLimit=260)
        .configure_legend(labelFontSize=12, titleFontSize=13, labelLimit=260)
        .configure_view(strokeWidth=0)
    )
    return str(vlc.vegalite_to_svg(chart.to_dict()))


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
                scale=alt.Scale(domain=list(colours), range=list(colours.values())),
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
    return str(vlc.vegalite_to_svg(chart.to_dict()))
