"""Colour scales for maps and charts: five sequential bins and the signal status colours."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from korona.surveillance.series import Status

__all__ = [
    "INCIDENCE_14D_BREAKS",
    "SEQUENTIAL_COLOURS",
    "STATUS_COLOURS",
    "ColourScale",
    "LegendEntry",
    "contrast_ratio",
    "quantile_scale",
]

#: ColorBrewer's 5-class BuPu (Brewer 2003; marked colour-blind safe and print friendly).
#: Purple keeps a share or incidence map apart from the blue/yellow/red signal colours.
SEQUENTIAL_COLOURS: tuple[str, ...] = ("#edf8fb", "#b3cde3", "#8c96c6", "#8856a7", "#810f7c")
#: ECDC's 14-day notification rate thresholds per 100 000 (25, 50, 150 and, from December
#: 2020, 500), so five bins: below 25, 25–50, 50–150, 150–500, 500 and above.
INCIDENCE_14D_BREAKS: tuple[float, ...] = (25.0, 50.0, 150.0, 500.0)
#: Signal colours from ColorBrewer's RdYlBu (colour-blind safe): blue normal, yellow medium,
#: red high. Yellow stands over 3:1 against both blue and red, so neighbouring statuses
#: differ in lightness as well as hue.
STATUS_COLOURS: Mapping[Status, str] = MappingProxyType(
    {Status.NORMAL: "#4575b4", Status.MEDIUM: "#fee090", Status.HIGH: "#d73027"}
)


@dataclass(frozen=True, slots=True)
class LegendEntry:
    """One bin of a legend: its colour and its half-open range [lower, upper)."""

    colour: str
    lower: float | None
    upper: float | None


@dataclass(frozen=True, slots=True)
class ColourScale:
    """Sequential colour bins: bin i holds values in [breaks[i-1], breaks[i])."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...] = SEQUENTIAL_COLOURS

    def __post_init__(self) -> None:
        if len(self.colours) != len(self.breaks) + 1:
            raise ValueError("a colour scale needs one colour more than it has breaks")
        if not all(math.isfinite(b) for b in self.breaks) or any(
            lower >= upper for lower, upper in zip(self.breaks, self.breaks[1:], strict=False)
        ):
            raise ValueError("colour scale breaks must be finite and strictly increasing")

    def bins(self, values: np.ndarray) -> np.ndarray:
        """Return each value's bin index (0 = lowest), or -1 where the value is NaN."""
        values = np.asarray(values, dtype=np.float64)
        index = np.searchsorted(np.asarray(self.breaks, dtype=np.float64), values, side="right")
        return np.where(np.isnan(values), -1, index)

    def colour(self, value: float | None) -> str | None:
        """Return the colour of one value, or None when the value is missing."""
        if value is None or math.isnan(value):
            return None
        return self.colours[int(self.bins(np.array([value]))[0])]

    def legend(self) -> tuple[LegendEntry, ...]:
        """Return the bins from lowest to highest, open-ended at both ends."""
        edges: list[float | None] = [None, *self.breaks, None]
        return tuple(
            LegendEntry(colour, lower, upper)
            for colour, lower, upper in zip(self.colours, edges, edges[1:], strict=False)
        )


def quantile_scale(
    values: np.ndarray, colours: tuple[str, ...] = SEQUENTIAL_COLOURS
) -> ColourScale:
    """Return a scale whose breaks are the values' quantiles, rounded to two significant digits.

    Quantile bins put about as many municipalities in each colour; rounding keeps the legend
    readable. When rounding makes breaks coincide (few distinct values), the scale keeps fewer
    bins and spreads them over the palette, lightest and darkest kept; one bin is the lightest.

    Parameters
    ----------
    values:
        The mapped figures (NaN ignored), e.g. share infected in per cent.
    colours:
        The palette, lightest first.

    Returns
    -------
    A :class:`ColourScale` with at most ``len(colours)`` bins.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    bins = len(colours)
    if finite.size == 0:
        return ColourScale((), (colours[0],))
    cuts = np.quantile(finite, np.arange(1, bins) / bins)
    breaks = sorted({_round_significant(float(cut), 2) for cut in cuts})
    breaks = [b for b in breaks if finite.min() < b <= finite.max()]
    picks = np.rint(np.linspace(0, bins - 1, len(breaks) + 1)).astype(int)
    return ColourScale(tuple(breaks), tuple(colours[i] for i in picks))


def _round_significant(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2.1 contrast ratio of two ``#rrggbb`` colours (1 to 21).

    References
    ----------
    W3C (2018). Web Content Accessibility Guidelines 2.1, definitions of contrast ratio and
    relative luminance.
    """
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
