"""SeriesSet: the one validated container of count series that crosses every analytics boundary."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from korona.surveillance.calendar import Frequency, week_columns

__all__ = ["RESULT_FIELDS", "SeriesSet", "SeriesSetError", "Status"]


class SeriesSetError(ValueError):
    """Raised when count series do not fit the SeriesSet contract; the message is plain English."""


class Status(StrEnum):
    """Signal status of one predicted point (Norwegian labels in :attr:`label_nb`)."""

    NORMAL = "normal"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def code(self) -> int:
        """Return the small integer stored in :attr:`SeriesSet.status` (0, 1, 2)."""
        return _STATUS_CODES[self]

    @property
    def label_nb(self) -> str:
        """Return the bokmål label shown to municipal doctors."""
        return _STATUS_NB[self]


_STATUS_CODES = {Status.NORMAL: 0, Status.MEDIUM: 1, Status.HIGH: 2}
_STATUS_TEXT = pl.Series("status", [s.value for s in Status], dtype=pl.String)
_STATUS_NB = {
    Status.NORMAL: "forventet",
    Status.MEDIUM: "høyere enn forventet",
    Status.HIGH: "betydelig høyere enn forventet",
}

#: Result arrays a detector fills in, each (n_series, n_time) and aligned with ``observed``.
RESULT_FIELDS: tuple[str, ...] = (
    "expected",
    "threshold2",
    "threshold4",
    "threshold6",
    "zscore",
    "status",
    "excess",
    "failed",
)
_FLOAT_RESULTS = ("expected", "threshold2", "threshold4", "threshold6", "zscore")


def _frozen(array: Any, dtype: Any = None) -> np.ndarray:
    """Return a read-only copy so neither the caller nor later code can change the set.

    An array that is already read-only and owns its memory (one this module froze, or one a
    detector handed over with ``setflags(write=False)``) cannot change any more, so it is
    kept as it is: results and counts are not copied again on every ``with_results``.
    """
    value = np.asarray(array)
    if dtype is not None and value.dtype != dtype:
        value = value.astype(dtype)
    elif not value.flags.writeable and value.base is None:
        return value
    else:
        value = np.array(value, copy=True)
    value.setflags(write=False)
    return value


@dataclass(frozen=True, eq=False)
class SeriesSet:
    """Count series on one shared time axis, with optional detection results (like R ``sts``).

    Every array is ``(n_series, n_time)``: row ``i`` belongs to ``keys`` row ``i``, column ``j``
    to ``dates[j]``. Arrays are copied and made read-only at construction, so a SeriesSet never
    changes and never aliases its inputs.

    Attributes:
        keys: one row per series; any identifying columns (e.g. ``series`` or
            ``location_code, age, syndrome``), unique rows.
        frequency: daily or weekly.
        dates: ``datetime64[D]`` time axis, strictly increasing; weekly points are dated by
            the ISO week's Sunday and must be consecutive weeks; daily points consecutive days.
        observed: counts n ≥ 0 (int64).
        denominator: all consultations in the stratum (float64, ≥ 0), or None.
        predicted: True where a detector produced a result; None before detection.
        expected .. failed: detector results (see :data:`RESULT_FIELDS`); NaN / 0 where
            ``predicted`` is False. ``status`` holds :attr:`Status.code` values.
    """

    keys: pl.DataFrame
    frequency: Frequency
    dates: np.ndarray
    observed: np.ndarray
    denominator: np.ndarray | None = None
    predicted: np.ndarray | None = None
    expected: np.ndarray | None = None
    threshold2: np.ndarray | None = None
    threshold4: np.ndarray | None = None
    threshold6: np.ndarray | None = None
    zscore: np.ndarray | None = None
    status: np.ndarray | None = None
    excess: np.ndarray | None = None
    failed: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.keys, pl.DataFrame):
            raise SeriesSetError("keys must be a polars DataFrame with one row per series")
        if self.keys.width == 0:
            raise SeriesSetError("keys needs at least one identifying column")
        if self.keys.height != self.keys.unique().height:
            raise SeriesSetError("keys contain duplicate series")
        set_(self, "frequency", Frequency(self.frequency))
        dates = np.asarray(self.dates).astype("datetime64[D]")
        if dates.ndim != 1:
            raise SeriesSetError("dates must be one-dimensional")
        step = 7 if self.frequency is Frequency.WEEKLY else 1
        if dates.size > 1 and not np.all(np.diff(dates).astype(np.int64) == step):
            raise SeriesSetError(
                f"dates must be consecutive {'weeks' if step == 7 else 'days'} with no gaps"
            )
        # datetime64 day 0 (1970-01-01) is a Thursday, so Sundays are ≡ 3 (mod 7)
        if (
            self.frequency is Frequency.WEEKLY
            and dates.size
            and int(dates[0].astype(np.int64)) % 7 != 3
        ):
            raise SeriesSetError("weekly dates must be the Sunday of each ISO week")
        set_(self, "dates", _frozen(dates))
        shape = (self.keys.height, dates.size)

        observed = np.asarray(self.observed)
        if observed.shape != shape:
            raise SeriesSetError(f"observed has shape {observed.shape}, expected {shape}")
        if observed.size and not np.all(np.isfinite(observed)):
            raise SeriesSetError("observed counts must be finite (no missing values)")
        if observed.size and (observed < 0).any():
            raise SeriesSetError("observed counts must not be negative")
        if observed.size and not np.array_equal(observed, np.round(observed)):
            raise SeriesSetError("observed counts must be whole numbers")
        set_(self, "observed", _frozen(observed, np.int64))

        if self.denominator is not None:
            den = _frozen(self.denominator, np.float64)
            if den.shape != shape:
                raise SeriesSetError(f"denominator has shape {den.shape}, expected {shape}")
            if den.size and (~np.isfinite(den) | (den < 0)).any():
                raise SeriesSetError("denominators must be finite and not negative")
            set_(self, "denominator", den)
        self._check_results()

    def _check_results(self) -> None:
        """Validate the result arrays present and store them read-only in their dtypes."""
        set_ = object.__setattr__
        shape = (self.keys.height, self.dates.size)
        present = [f for f in ("predicted", *RESULT_FIELDS) if getattr(self, f) is not None]
        if present and "predicted" not in present:
            raise SeriesSetError("results need the predicted mask")
        dtypes: dict[str, Any] = {f: np.float64 for f in _FLOAT_RESULTS}
        dtypes |= {"status": np.int8, "excess": np.int64, "failed": np.bool_, "predicted": np.bool_}
        for name in present:
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise SeriesSetError(f"{name} has shape {value.shape}, expected {shape}")
            set_(self, name, _frozen(value, dtypes[name]))

    # ------------------------------------------------------------------ properties
    @property
    def n_series(self) -> int:
        """Return the number of series."""
        return self.keys.height

    @property
    def n_time(self) -> int:
        """Return the number of time points."""
        return int(self.dates.size)

    @property
    def time_column(self) -> str:
        """Return the long-format time column: ``week`` (weekly) or ``date`` (daily)."""
        return "week" if self.frequency is Frequency.WEEKLY else "date"

    def years(self) -> np.ndarray:
        """Return the calendar year of every time point (weekly: the year of the week's Sunday)."""
        return self.dates.astype("datetime64[Y]").astype(np.int64) + 1970

    def with_results(self, **results: Any) -> SeriesSet:
        """Return a copy carrying detector results (validated like every SeriesSet)."""
        unknown = set(results) - {"predicted", *RESULT_FIELDS}
        if unknown:
            raise SeriesSetError(f"unknown result fields: {sorted(unknown)}")
        # The keys, dates and counts are this set's, validated already: check only the results.
        out = copy.copy(self)
        for name, value in results.items():
            object.__setattr__(out, name, value)
        out._check_results()
        return out

    def subset(self, rows: Sequence[int] | np.ndarray) -> SeriesSet:
        """Return the series at ``rows`` (in that order), with their results."""
        index = np.asarray(rows, dtype=np.int64)
        arrays: dict[str, Any] = {
            f: getattr(self, f)[index]
            for f in ("observed", "denominator", "predicted", *RESULT_FIELDS)
            if getattr(self, f) is not None
        }
        return dataclasses.replace(self, keys=self.keys[index], **arrays)

    # ------------------------------------------------------------------ polars
    @classmethod
    def from_long(
        cls,
        frame: pl.DataFrame,
        *,
        frequency: Frequency,
        key_columns: Sequence[str],
        date_column: str = "date",
        count_column: str = "n",
        denominator_column: str | None = "denominator",
        fill_zero: bool = True,
    ) -> SeriesSet:
        """Build a SeriesSet from a long frame with one row per series and time point.

        Parameters:
            frame: columns ``key_columns``, ``date_column`` (Date; weekly: the Sunday),
                ``count_column`` and optionally ``denominator_column``.
            fill_zero: when True, points missing from ``frame`` become n = 0, denominator 0
                (the analysis grid is zero-filled, spec §1); when False they are an error.
        Returns:
            The SeriesSet spanning the first to last date in ``frame``.
        """
        keys = list(key_columns)
        needed = [*keys, date_column, count_column]
        if denominator_column is not None:
            needed.append(denominator_column)
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise SeriesSetError(f"missing columns: {', '.join(missing)}")
        if frame.height == 0:
            raise SeriesSetError("no rows to analyse")
        step = 7 if frequency is Frequency.WEEKLY else 1
        day = pl.col(date_column).cast(pl.Date).cast(pl.Int64)
        work = frame.select(
            *[pl.col(k) for k in keys],
            day.alias("_day"),
            pl.col(count_column).alias("_n"),
            (pl.col(denominator_column) if denominator_column else pl.lit(0.0)).alias("_den"),
        )
        first, last = work["_day"].min(), work["_day"].max()
        assert isinstance(first, int) and isinstance(last, int)
        if ((work["_day"] - first) % step != 0).any():
            raise SeriesSetError("weekly rows must all be dated by the Sunday of their ISO week")
        n_time = (last - first) // step + 1
        key_frame = work.select(keys).unique().sort(keys)
        key_index = key_frame.with_row_index("_row")
        work = work.join(key_index, on=keys, how="left", nulls_equal=True)
        rows = work["_row"].to_numpy().astype(np.int64)
        cols = ((work["_day"].to_numpy() - first) // step).astype(np.int64)
        if work["_n"].null_count() or work["_den"].null_count():
            raise SeriesSetError("counts and denominators must not be missing")
        # One pass over the cell indices finds repeated (series, time point) rows.
        if (np.bincount(rows * n_time + cols, minlength=key_frame.height * n_time) > 1).any():
            raise SeriesSetError("duplicate rows for the same series and time point")
        observed = np.zeros((key_frame.height, n_time), dtype=np.float64)
        observed[rows, cols] = work["_n"].to_numpy()
        den = np.zeros_like(observed)
        den[rows, cols] = work["_den"].to_numpy()
        if not fill_zero and work.height != observed.size:
            raise SeriesSetError("some series lack some time points and fill_zero is off")
        dates = np.arange(first, last + 1, step).astype("datetime64[D]")
        return cls(
            keys=key_frame,
            frequency=frequency,
            dates=dates,
            observed=observed,
            denominator=den if denominator_column else None,
        )

    def to_long(self, *, predicted_only: bool = True, columns: slice | None = None) -> pl.DataFrame:
        """Return one row per series and time point (only predicted points by default).

        Columns: the key columns, ``date``, ``iso_year``, ``iso_week``, ``week`` (weekly),
        ``n``, ``denominator`` (if any), then the result columns with ``status`` as text.
        ``columns`` keeps only those time points (e.g. one prediction year), without building
        the rows of the others. Rows are ordered by series, then date.
        """
        window = slice(None) if columns is None else columns
        dates_in = self.dates[window]
        n_series, n_time = self.n_series, int(dates_in.size)
        mask = self.predicted[:, window] if predicted_only and self.predicted is not None else None
        if mask is None or mask.all():
            # Every point: the rows are the arrays' rows laid end to end (no fancy indexing).
            rows = np.repeat(np.arange(n_series), n_time)
            cols = np.tile(np.arange(n_time), n_series)

            def pick(array: np.ndarray) -> np.ndarray:
                return array[:, window].reshape(-1)

        else:
            rows, cols = np.nonzero(mask)

            def pick(array: np.ndarray) -> np.ndarray:
                return array[:, window][rows, cols]

        data: dict[str, Any] = {}
        # Per-date values are computed for the few distinct dates, then gathered per row.
        data["date"] = pl.Series("date", dates_in, dtype=pl.Date).gather(cols)
        if self.frequency is Frequency.WEEKLY:
            week = pl.DataFrame({"date": dates_in}).select(week_columns())
            for name in ("iso_year", "iso_week", "week"):
                data[name] = week[name].gather(cols)
        data["n"] = pick(self.observed)
        if self.denominator is not None:
            data["denominator"] = pick(self.denominator)
        if self.predicted is not None:
            for name in _FLOAT_RESULTS:
                data[name] = pick(getattr(self, name))
            assert self.status is not None and self.excess is not None
            assert self.failed is not None
            data["status"] = _STATUS_TEXT.gather(pick(self.status))
            data["excess"] = pick(self.excess)
            data["failed"] = pick(self.failed)
        keys = self.keys[rows] if rows.size else self.keys.clear()
        return keys.hstack(pl.DataFrame(data))
