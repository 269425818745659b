"""Outbreak detection: one Detector interface and one module per method."""

from korona.surveillance.detect.base import (
    Detection,
    DetectionError,
    Detector,
    Method,
    ParameterError,
    parameters_from_strings,
)
from korona.surveillance.detect.covid19 import Covid19Detector, Covid19Source
from korona.surveillance.detect.farrington import (
    FarringtonDetector,
    PowerTransform,
    ThresholdMethod,
)
from korona.surveillance.detect.sykdomspulsen import SykdomspulsenDetector

#: The detector class of each method.
DETECTORS: dict[Method, type[Detector]] = {
    Method.SYKDOMSPULSEN: SykdomspulsenDetector,
    Method.FARRINGTON: FarringtonDetector,
    Method.COVID19: Covid19Detector,
}

__all__ = [
    "DETECTORS",
    "Covid19Detector",
    "Covid19Source",
    "Detection",
    "DetectionError",
    "Detector",
    "FarringtonDetector",
    "Method",
    "ParameterError",
    "PowerTransform",
    "SykdomspulsenDetector",
    "ThresholdMethod",
    "parameters_from_strings",
]
