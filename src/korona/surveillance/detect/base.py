"""The one Detector interface every outbreak-detection method implements, and its shared rules."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
from pydantic import TypeAdapter, ValidationError

from korona.surveillance.series import SeriesSet, Status

__all__ = [
    "Detection",
    "DetectionError",
    "Detector",
    "Method",
    "ParameterError",
    "classify",
    "parameters_from_strings",
    "single_threaded_blas",
]


class Method(StrEnum):
    """Outbreak-detection method (the ``--method`` of the CLI)."""

    SYKDOMSPULSEN = "sykdomspulsen"
    FARRINGTON = "farrington"
    COVID19 = "covid19"


class DetectionError(ValueError):
    """Raised when a detector cannot run on the given series; the message is plain English."""


class ParameterError(DetectionError):
    """Raised for an unknown detector parameter or a value that does not parse."""


@dataclass(frozen=True)
class Detection:
    """Outcome of one detector run.

    Attributes:
        series: the input series with result arrays filled in.
        fits: number of model fits attempted (series × prediction years for yearly fits,
            series × predicted points for per-point fits).
        failed_fits: fits that failed and fell back to the method's failure values.
        dispersion: (n_series, n_fits_per_series) dispersion φ per fit (NaN where failed or
            where the method has none), in the order of ``fit_labels``.
        fit_labels: what each dispersion column belongs to (prediction year or date).
    """

    series: SeriesSet
    fits: int
    failed_fits: int
    dispersion: np.ndarray
    fit_labels: tuple[str, ...]

    def signals(self) -> dict[Status, int]:
        """Return the number of predicted points by status."""
        s = self.series
        assert s.status is not None and s.predicted is not None
        codes = s.status[s.predicted]
        return {status: int(np.count_nonzero(codes == status.code)) for status in Status}


class Detector(ABC):
    """An outbreak-detection method: a frozen dataclass of its parameters plus :meth:`detect`.

    Subclasses are ``@dataclass(frozen=True)``; every field is a documented parameter with a
    default, so ``Detector()`` is the published configuration of the method.
    """

    method: ClassVar[Method]

    @abstractmethod
    def detect(self, series: SeriesSet, *, years: Sequence[int] | None = None) -> Detection:
        """Return results for every point of the prediction ``years`` (None: every year).

        Implementations never modify ``series`` (SeriesSet arrays are read-only anyway) and
        treat every series independently, so results do not depend on series order.
        """


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS on one thread.

    The batched fits call BLAS on many small matrices; OpenBLAS's own threads then spend more
    time waking each other than computing (2.5× slower on two cores), and the detectors
    parallelise over blocks of series themselves. Without threadpoolctl this does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def classify(
    observed: np.ndarray, threshold2: np.ndarray, threshold4: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (status codes, excess) by the Sykdomspulsen rule (spec §2 step 7).

    high if n ≥ 4 and n > U₄; else medium if n ≥ 3 and n > U₂; else normal.
    Excess ("flere enn normalt") = ceil(max(0, n − U₂)).
    """
    n = observed.astype(np.float64)
    high = (n >= 4) & (n > threshold4)
    medium = ~high & (n >= 3) & (n > threshold2)
    status = np.where(high, Status.HIGH.code, np.where(medium, Status.MEDIUM.code, 0))
    with np.errstate(invalid="ignore"):
        excess = np.ceil(np.maximum(0.0, n - threshold2))
    excess = np.where(np.isfinite(excess), excess, 0).astype(np.int64)
    return status.astype(np.int8), excess


_PHRASES = {
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "date_from_datetime_parsing": "must be a date like 2020-03-09",
    "date_parsing": "must be a date like 2020-03-09",
}


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _convert(name: str, annotation: Any, text: str) -> Any:
    """Parse one ``--set NAME=VALUE`` value into the field's annotated type (pydantic's rules;
    ``none``/``null``/empty sets an optional parameter to None)."""
    if type(None) in typing.get_args(annotation) and text.lower() in ("none", "null", ""):
        return None
    try:
        return _adapter(annotation).validate_strings(text)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "enum":
            phrase = f"must be one of: {first.get('ctx', {}).get('expected', '')}"
        else:
            phrase = _PHRASES.get(first["type"], first["msg"])
        raise ParameterError(f"{name} {phrase} (got {text!r})") from None


def parameters_from_strings(detector_type: type[Detector], values: Mapping[str, str]) -> Detector:
    """Build a detector from text parameters (``--set NAME=VALUE``), validating names and values."""
    fields = {f.name for f in dataclasses.fields(detector_type)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(detector_type)
    kwargs: dict[str, Any] = {}
    for name, text in values.items():
        if name not in fields:
            known = ", ".join(sorted(fields))
            r_names: dict[str, str] = getattr(detector_type, "R_NAMES", {})
            hint = f" (R's {name} is {r_names[name]})" if name in r_names else ""
            raise ParameterError(f"unknown parameter {name!r}{hint}; known parameters: {known}")
        kwargs[name] = _convert(name, hints[name], text)
    try:
        return detector_type(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ParameterError(str(exc)) from None
