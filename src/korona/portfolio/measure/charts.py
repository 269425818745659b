"""Progress charts (milestone timeline, RAG history) drawn with Altair, rendered to SVG or PNG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import vl_convert as vlc

from korona.portfolio.measure.models import Measure, Milestone, ProgressReport, Rag

#: RAG colours with at least 3:1 contrast against white (WCAG non-text contrast).
RAG_COLOURS = {Rag.GREEN: "#1e7a46", Rag.AMBER: "#a15c00", Rag.RED: "#b3253a"}
PLANNED_COLOUR = "#3d4a57"
DONE_COLOUR = "#0062ba"
LABEL_LIMIT = 220


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Return a chart as SVG (web pages)."""
    return str(vlc.vegalite_to_svg(chart.to_dict()))


def to_png(chart: alt.TopLevelMixin) -> bytes:
    """Return a chart as PNG at twice the size (PDF documents)."""
    return bytes(vlc.vegalite_to_png(chart.to_dict(), scale=2))


def _configured(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure_axis(labelFontSize=11, titleFontSize=12, labelLimit=LABEL_LIMIT)
        .configure_legend(labelFontSize=11, titleFontSize=12, orient="bottom")
        .configure_view(strokeWidth=0)
    )


def _timeline_axes(date_title: str, measure_title: str) -> dict[str, Any]:
    """Return the x (date) and y (one row per measure) encodings both timelines share."""
    return {
        "x": alt.X("date:T", title=date_title, axis=alt.Axis(format="%d.%m.%y", labelAngle=0)),
        "y": alt.Y("measure:N", title=measure_title, sort=None),
    }


def milestone_timeline(
    milestones: Sequence[tuple[Measure, Milestone]],
    *,
    planned_label: str,
    done_label: str,
    measure_title: str,
    date_title: str,
    kind_title: str,
    width: int = 560,
) -> alt.TopLevelMixin:
    """Return the milestone timeline: planned dates (hollow) beside done dates (filled)."""
    rows = [
        {
            "measure": measure.title,
            "milestone": milestone.title,
            "date": day.isoformat(),
            "kind": kind,
        }
        for measure, milestone in milestones
        for day, kind in (
            (milestone.planned_date, planned_label),
            (milestone.done_date, done_label),
        )
        if day is not None
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(
        **_timeline_axes(date_title, measure_title),
        color=alt.Color(
            "kind:N",
            title=kind_title,
            scale=alt.Scale(
                domain=[planned_label, done_label], range=[PLANNED_COLOUR, DONE_COLOUR]
            ),
        ),
        shape=alt.Shape(
            "kind:N",
            title=kind_title,
            scale=alt.Scale(domain=[planned_label, done_label], range=["circle", "diamond"]),
        ),
        tooltip=["measure:N", "milestone:N", "kind:N", "date:T"],
    )
    # Planned dates hollow, done dates filled: the difference does not rest on colour alone.
    planned = base.transform_filter(alt.datum.kind == planned_label).mark_point(
        size=70, strokeWidth=2, filled=False
    )
    done = base.transform_filter(alt.datum.kind == done_label).mark_point(size=90, filled=True)
    chart = alt.layer(planned, done).properties(width=width, height=alt.Step(22))
    return _configured(chart)


def rag_history(
    reports: Sequence[tuple[Measure, ProgressReport]],
    *,
    rag_labels: dict[Rag, str],
    measure_title: str,
    date_title: str,
    rag_title: str,
    width: int = 560,
) -> alt.TopLevelMixin:
    """Return the RAG history: one square per progress report, coloured green/amber/red."""
    rows = [
        {
            "measure": measure.title,
            "date": report.reported_at.date().isoformat(),
            "rag": rag_labels[report.rag],
        }
        for measure, report in reports
    ]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_square(size=120)
        .encode(
            **_timeline_axes(date_title, measure_title),
            color=alt.Color(
                "rag:N",
                title=rag_title,
                scale=alt.Scale(
                    domain=[rag_labels[rag] for rag in Rag], range=list(RAG_COLOURS.values())
                ),
            ),
            tooltip=["measure:N", "date:T", "rag:N"],
        )
        .properties(width=width, height=alt.Step(22))
    )
    return _configured(chart)
