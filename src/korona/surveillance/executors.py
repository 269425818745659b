"""Where a run's detection happens: in this process, or split by location over a Dask cluster.

Every detector treats each series on its own (the arrays are only batched for speed), so the
series of a run can be cut into parts by location, detected anywhere, and put back together
in the original order with results equal to a single-process run. Only the client reads and
writes the store; the workers receive the parts' arrays and send back their result rows, so
they need korona installed (the same version) but no access to the data directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from korona.surveillance.detect import Detection, DetectionError, Detector
from korona.surveillance.series import SeriesSet, Status

__all__ = ["DaskExecutor", "ExecutorError", "LocalExecutor", "PartResult", "RunExecutor"]


class ExecutorError(DetectionError):
    """Raised when the cluster cannot be reached or a part fails there; plain English."""


@dataclass(frozen=True)
class PartResult:
    """What detection produced for some series: the result rows per prediction year and the
    counts."""

    frames: Mapping[int, pl.DataFrame]
    fits: int
    failed_fits: int
    signals: dict[Status, int]

    @classmethod
    def of(cls, detection: Detection, frames: Mapping[int, pl.DataFrame]) -> PartResult:
        """Return the part result of a detection and its result rows."""
        return cls(frames, detection.fits, detection.failed_fits, detection.signals())

    @classmethod
    def combine(cls, parts: Sequence[PartResult]) -> PartResult:
        """Return the parts as one result, rows in the order of ``parts``."""
        years = sorted({year for part in parts for year in part.frames})
        return cls(
            {
                year: pl.concat([p.frames[year] for p in parts if year in p.frames], how="vertical")
                for year in years
            },
            sum(p.fits for p in parts),
            sum(p.failed_fits for p in parts),
            {s: sum(p.signals.get(s, 0) for p in parts) for s in Status},
        )


class ToFrame(Protocol):
    """Turns a detection into the rows a run stores, per prediction year
    (``analysis.store_frame`` for a method)."""

    def __call__(self, detection: Detection) -> Mapping[int, pl.DataFrame]: ...


class RunExecutor(Protocol):
    """Detects a run's series and returns their result rows in the series' order."""

    def detect(
        self, detector: Detector, series: SeriesSet, years: Sequence[int], to_frame: ToFrame
    ) -> PartResult: ...


def detect_part(
    detector: Detector, series: SeriesSet, years: Sequence[int], to_frame: ToFrame
) -> PartResult:
    """Detect one part and return its rows (what each Dask task runs: the rows are built
    here, on the worker, and sent back)."""
    detection = detector.detect(series, years=years)
    return PartResult.of(detection, dict(to_frame(detection)))


class LocalExecutor:
    """Detect everything in this process (the detectors use every core themselves)."""

    def detect(
        self, detector: Detector, series: SeriesSet, years: Sequence[int], to_frame: ToFrame
    ) -> PartResult:
        """Detect all series at once (each year's rows are built when they are written)."""
        detection = detector.detect(series, years=years)
        return PartResult.of(detection, to_frame(detection))


def location_parts(series: SeriesSet, parts: int) -> list[np.ndarray]:
    """Cut the series into at most ``parts`` runs of whole locations, in row order.

    A location's series stay together (its age groups and syndromes), and rows keep their
    order, so concatenating the parts' results gives the single-process order.
    """
    codes = series.keys["location_code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if np.unique(codes).size != starts.size:
        raise ExecutorError("the series are not grouped by location")
    bounds = np.r_[starts, codes.size]
    groups = np.array_split(np.arange(starts.size), min(parts, starts.size))
    return [np.arange(bounds[g[0]], bounds[g[-1] + 1]) for g in groups if g.size]


@dataclass(frozen=True)
class DaskExecutor:
    """Detect on a ``dask.distributed`` cluster: one task per part of whole locations.

    ``parts_per_worker`` > 1 keeps every worker busy when parts take unequal time.
    """

    scheduler: str
    parts_per_worker: int = 4
    timeout_seconds: float = 30.0

    def detect(
        self, detector: Detector, series: SeriesSet, years: Sequence[int], to_frame: ToFrame
    ) -> PartResult:
        """Scatter the parts, detect them on the workers, gather the rows in order."""
        from distributed import Client  # imported here: only cluster runs need it

        try:
            client = Client(self.scheduler, timeout=self.timeout_seconds)
        except OSError as error:  # distributed raises OSError subclasses on connect failures
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.scheduler}: {error}"
            ) from None
        with client:
            workers = max(1, len(client.scheduler_info()["workers"]))
            rows = location_parts(series, workers * self.parts_per_worker)
            futures = [
                client.submit(detect_part, detector, series.subset(r), list(years), to_frame)
                for r in rows
            ]
            try:
                parts = client.gather(futures)
            except DetectionError:
                raise
            except Exception as error:  # a worker died or a task failed on it
                raise ExecutorError(f"a part failed on the cluster: {error}") from error
        return PartResult.combine(parts)
