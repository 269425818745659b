"""Server-drawn SVG charts of the location page: signal bands, age × week tiles, comparison."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from korona.surveillance.colours import STATUS_COLOURS
from korona.surveillance.series import Status

__all__ = ["BAND_COLOURS", "LINE_COLOURS", "comparison_chart", "signal_chart", "tile_chart"]

#: Light tints of the signal colours for the bands behind the count (the strong colours mark
#: the flagged weeks, drawn with a dark outline and a shape of their own).
BAND_COLOURS = {Status.NORMAL: "#dbe6f4", Status.MEDIUM: "#fff1bf", Status.HIGH: "#f7d3cf"}
#: Lines of the comparison chart: the location dark, its county dashed, neighbours in turn.
LINE_COLOURS = ("#0062ba", "#b3253a", "#1e7a46", "#a15c00", "#6c3fb5", "#0b7c86", "#9c2f6d")
_INK = "#1e2b3c"
_GRID = "#c9d1da"
_INCOMPLETE = "#6b7785"
_MISSING = "#d9d9d9"
_WIDTH, _HEIGHT = 720, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 12, 40
#: The plot area inside the axes of the line charts.
_INNER_W, _INNER_H = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _nice_top(value: float) -> float:
    """Return a round axis maximum at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _scales(top: float, weeks: int) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Return where week ``i`` stands across the plot area (the middle of its slot) and where
    a value stands up it (capped at ``top``), for a line chart of ``weeks`` weeks."""
    count = max(weeks, 1)

    def scale_x(i: float) -> float:
        return _LEFT + _INNER_W * (i + 0.5) / count

    def scale_y(value: float) -> float:
        return _TOP + _INNER_H * (1 - min(value, top) / top)

    return scale_x, scale_y


def _frame(title: str, description: str, body: list[str], *, height: int = _HEIGHT) -> str:
    """Wrap chart parts in an accessible, scalable <svg> (title and description named)."""
    # A name for the title and description ids, not a secret: any stable digest does.
    ident = hashlib.blake2s(f"{title}\x1f{description}".encode(), digest_size=4).hexdigest()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'class="k-svg" role="img" aria-labelledby="t{ident} d{ident}" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="t{ident}">{escape(title)}</title><desc id="d{ident}">{escape(description)}'
        f"</desc>{''.join(body)}</svg>"
    )


def _y_axis(top: float, scale_y: Any, label: str) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = scale_y(value)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="0.5"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{_INK}">'
            f"{value:g}</text>"
        )
    parts.append(
        f'<text x="12" y="{_TOP + (_HEIGHT - _TOP - _BOTTOM) / 2:.0f}" fill="{_INK}" '
        f'transform="rotate(-90 12 {_TOP + (_HEIGHT - _TOP - _BOTTOM) / 2:.0f})" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return parts


def _x_labels(weeks: Sequence[str], scale_x: Any, height: int = _HEIGHT) -> list[str]:
    step = max(1, math.ceil(len(weeks) / 8))
    return [
        f'<text x="{scale_x(i):.1f}" y="{height - _BOTTOM + 16}" text-anchor="middle" '
        f'fill="{_INK}">{escape(week)}</text>'
        for i, week in enumerate(weeks)
        if i % step == 0 or (i == len(weeks) - 1 and len(weeks) < 4)
    ]


def _points(values: Sequence[float | None], scale_x: Any, scale_y: Any) -> list[str]:
    """Return polyline point lists, broken where a value is missing (hidden or absent)."""
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{scale_x(i):.1f},{scale_y(value):.1f}")
    return [" ".join(run) for run in runs if run]


def signal_chart(
    rows: Sequence[Mapping[str, Any]], *, title: str, labels: Mapping[str, str]
) -> str:
    """Draw weekly counts over blue/yellow/red bands (below threshold 2, between, above
    threshold 4), the expected count as a dashed line, and markers on flagged weeks.

    ``rows`` oldest first, each with week, n, expected, threshold2, threshold4, status,
    possibly_incomplete. ``labels`` gives the translated words: count, expected, axis,
    description, incomplete.
    """
    weeks = [str(row["week"]) for row in rows]
    n = [_number(row.get("n")) for row in rows]
    expected = [_number(row.get("expected")) for row in rows]
    low = [_number(row.get("threshold2")) for row in rows]
    high = [_number(row.get("threshold4")) for row in rows]
    top = _nice_top(max([v for v in (*n, *high, *expected) if v is not None] or [1]) * 1.1)
    scale_x, scale_y = _scales(top, len(rows))
    red = BAND_COLOURS[Status.HIGH]
    body = [f'<rect x="{_LEFT}" y="{_TOP}" width="{_INNER_W}" height="{_INNER_H}" fill="{red}"/>']
    half = _INNER_W / max(len(rows), 1) / 2
    for i in range(len(rows)):
        x0, x1 = scale_x(i) - half, scale_x(i) + half
        if low[i] is None or high[i] is None:
            body.append(
                f'<rect x="{x0:.1f}" y="{_TOP}" width="{x1 - x0:.1f}" height="{_INNER_H}" '
                'fill="#fff"/>'
            )
            continue
        top_band, low_band = high[i], low[i]
        assert top_band is not None and low_band is not None  # checked just above
        y4, y2, y0 = scale_y(top_band), scale_y(low_band), scale_y(0)
        body.append(
            f'<rect x="{x0:.1f}" y="{y4:.1f}" width="{x1 - x0:.2f}" height="{y2 - y4:.1f}" '
            f'fill="{BAND_COLOURS[Status.MEDIUM]}"/>'
            f'<rect x="{x0:.1f}" y="{y2:.1f}" width="{x1 - x0:.2f}" height="{y0 - y2:.1f}" '
            f'fill="{BAND_COLOURS[Status.NORMAL]}"/>'
        )
    for i, row in enumerate(rows):
        if row.get("possibly_incomplete"):
            x0 = scale_x(i) - half
            body.append(
                f'<rect x="{x0:.1f}" y="{_TOP}" width="{2 * half:.1f}" height="{_INNER_H}" '
                f'fill="none" stroke="{_INCOMPLETE}" stroke-dasharray="3 2"/>'
                f'<text x="{scale_x(i):.1f}" y="{_TOP + 12}" text-anchor="middle" '
                f'fill="{_INK}">?</text>'
            )
    body += _y_axis(top, scale_y, labels["axis"])
    for run in _points(expected, scale_x, scale_y):
        body.append(
            f'<polyline points="{run}" fill="none" stroke="{_INK}" stroke-width="1.5" '
            f'stroke-dasharray="5 3"/>'
        )
    for run in _points(n, scale_x, scale_y):
        body.append(f'<polyline points="{run}" fill="none" stroke="{_INK}" stroke-width="2"/>')
    for i, row in enumerate(rows):
        value = n[i]
        if value is None:
            continue
        x, y = scale_x(i), scale_y(value)
        status = row.get("status")
        if status == Status.HIGH:
            body.append(
                f'<path d="M{x:.1f},{y - 7:.1f} l6,11 h-12 z" fill="{STATUS_COLOURS[Status.HIGH]}" '
                f'stroke="{_INK}"/>'
            )
        elif status == Status.MEDIUM:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{STATUS_COLOURS[Status.MEDIUM]}" '
                f'stroke="{_INK}"/>'
            )
        else:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{_INK}"/>')
    body += _x_labels(weeks, scale_x)
    return _frame(title, labels["description"], body)


def tile_chart(
    ages: Sequence[tuple[str, str]],
    weeks: Sequence[str],
    status: Mapping[tuple[str, str], str | None],
    *,
    title: str,
    description: str,
) -> str:
    """Draw an age × week grid of tiles coloured by signal status (grey where none).

    ``ages`` (value, label) top to bottom; ``weeks`` oldest first; ``status`` by (age, week).
    Flagged tiles also carry a mark (• medium, ▲ high) so colour is not the only cue.
    """
    row_h = 22
    height = _TOP + row_h * len(ages) + _BOTTOM
    left = 70
    inner_w = _WIDTH - left - _RIGHT
    width = inner_w / max(len(weeks), 1)
    body = []
    for r, (age, age_label) in enumerate(ages):
        y = _TOP + r * row_h
        body.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" fill="{_INK}">'
            f"{escape(age_label)}</text>"
        )
        for c, week in enumerate(weeks):
            value = status.get((age, week))
            colour = STATUS_COLOURS.get(Status(value), _MISSING) if value else _MISSING
            x = left + c * width
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(width - 1, 0.5):.1f}" height="{row_h - 2}" '
                f'fill="{colour}"/>'
            )
            mark = {"medium": "•", "high": "▲"}.get(value or "")
            if mark:
                body.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + 15}" text-anchor="middle" '
                    f'fill="{_INK}" font-size="10">{mark}</text>'
                )

    def scale_x(i: float) -> float:
        return left + width * (i + 0.5)

    body += _x_labels(weeks, scale_x, height)
    return _frame(title, description, body, height=height)


def comparison_chart(
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    weeks: Sequence[str],
    *,
    title: str,
    description: str,
    axis: str,
) -> str:
    """Draw one line per location (name, role, values per week): the location first and
    thick, the county dashed, neighbours thin. Missing values break a line."""
    values = [v for _, _, line in series for v in line if v is not None]
    top = _nice_top(max(values or [1]) * 1.05)
    scale_x, scale_y = _scales(top, len(weeks))
    body = _y_axis(top, scale_y, axis)
    # The location itself is drawn last, on top of the others.
    for index, (_, role, line) in sorted(enumerate(series), key=lambda item: item[1][1] == "self"):
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        width = 3 if role == "self" else 1.5
        dash = ' stroke-dasharray="6 3"' if role == "county" else ""
        for run in _points(list(line), scale_x, scale_y):
            body.append(
                f'<polyline points="{run}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}"{dash}/>'
            )
    body += _x_labels(weeks, scale_x)
    return _frame(title, description, body)
