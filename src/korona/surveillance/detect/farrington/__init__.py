"""Farrington flexible / Noufaily outbreak detection (spec §3), as R ``farringtonFlexible``.

``windows`` picks each week's reference points, ``fitting`` fits the quasi-Poisson GLMs,
``bounds`` turns a fit into the upper bound, and ``detector`` runs them over a SeriesSet.
"""

from korona.surveillance.detect.farrington.bounds import (
    PowerTransform,
    ThresholdMethod,
    assign_weights,
    threshold_delta,
    threshold_noufaily,
)
from korona.surveillance.detect.farrington.detector import FarringtonDetector, FarringtonResult
from korona.surveillance.detect.farrington.windows import reference_window

__all__ = [
    "FarringtonDetector",
    "FarringtonResult",
    "PowerTransform",
    "ThresholdMethod",
    "assign_weights",
    "reference_window",
    "threshold_delta",
    "threshold_noufaily",
]
