"""Where surveillance counts and analysis results live: Parquet under one root, read lazily."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency, week_columns

__all__ = [
    "CONSULTATION_KEYS",
    "STRATUM_KEYS",
    "ContactType",
    "PracticeType",
    "StoreError",
    "StoreStatus",
    "SurveillanceStore",
    "TableStatus",
]


class ContactType(StrEnum):
    """How patient and doctor met, derived from the fee code (takst)."""

    IN_PERSON = "in_person"
    TELEPHONE = "telephone"
    E_CONSULTATION = "e_consultation"


class PracticeType(StrEnum):
    """GP office (legekontor) or out-of-hours clinic (legevakt)."""

    GP = "gp"
    OUT_OF_HOURS = "out_of_hours"


class StoreError(Exception):
    """A frame handed to the store does not have the shape the store keeps."""


class _Table(StrEnum):
    CONSULTATIONS = "consultations"
    CASES = "cases"
    LAB_TESTS = "lab_tests"
    RESULTS = "results"


CONSULTATION_KEYS = ("location_code", "age", "syndrome", "contact_type", "practice_type", "date")
STRATUM_KEYS = ("location_code", "age", "contact_type", "practice_type", "date")
_CONSULTATION_SCHEMA = {
    "location_code": pl.String,
    "age": pl.String,
    "syndrome": pl.String,
    "contact_type": pl.String,
    "practice_type": pl.String,
    "date": pl.Date,
    "n": pl.Int64,
    "denominator": pl.Int64,
}
_CASE_SCHEMA = {"location_code": pl.String, "date": pl.Date, "n": pl.Int64}
_LAB_SCHEMA = {"location_code": pl.String, "date": pl.Date, "n_pos": pl.Int64, "n_neg": pl.Int64}
_WEEK_COLUMNS = ("iso_year", "iso_week", "week")


@dataclass(frozen=True)
class TableStatus:
    """What one stored table holds."""

    table: str
    frequency: str
    rows: int
    locations: int
    first_date: dt.date | None
    last_date: dt.date | None
    last_ingest_at: dt.datetime | None


@dataclass(frozen=True)
class StoreStatus:
    """Per-table summary of the store, for the CLI and the web app."""

    root: Path
    tables: list[TableStatus] = field(default_factory=list)


def _atomic_write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write a Parquet file so readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        frame.write_parquet(temp_name, compression="zstd", statistics=True)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _atomic_write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temp_name, path)


def _conform(frame: pl.DataFrame, schema: dict[str, type[pl.DataType]], what: str) -> pl.DataFrame:
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise StoreError(f"{what} frame lacks columns: {', '.join(missing)}")
    try:
        return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
    except pl.exceptions.PolarsError as error:
        raise StoreError(f"{what} frame has columns of the wrong type: {error}") from error


def _wide_name(value: str, syndrome: str) -> str:
    """Return the stored column of a syndrome's count or denominator (wide layout)."""
    return f"{value}__{syndrome}"


def _sunday(date: pl.Expr) -> pl.Expr:
    return date + pl.duration(days=7 - date.dt.weekday())


class SurveillanceStore:
    """Counts (consultations, cases, lab tests) and analysis results as Parquet under ``root``.

    Layout: ``consultations/{daily,weekly}/year=YYYY.parquet`` (sparse and wide: one row per
    stratum with at least one consultation, columns ``n__<syndrome>`` and
    ``denominator__<syndrome>``), ``consultations/dimensions.json`` (locations, ages and
    syndromes of the zero-filled grid), ``cases/{daily,weekly}.parquet``,
    ``lab_tests/{daily,weekly}.parquet``,
    ``results/<method>/<frequency>/year=YYYY.parquet`` and ``ingest_log.json``.
    Every file is replaced atomically (temporary file + ``os.replace``).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # consultations -------------------------------------------------------------------------

    def _consultation_dir(self, frequency: Frequency) -> Path:
        return self.root / _Table.CONSULTATIONS / frequency.value

    def _dimensions_path(self) -> Path:
        return self.root / _Table.CONSULTATIONS / "dimensions.json"

    def _dimensions(self) -> dict[str, list[str]]:
        path = self._dimensions_path()
        if not path.exists():
            return {"locations": [], "ages": [], "syndromes": []}
        loaded: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def write_consultations(self, daily: pl.DataFrame, *, locations: Iterable[str] = ()) -> None:
        """Store daily consultation counts, replacing the dates they cover; rebuild those weeks.

        ``daily`` has the consultation columns (``denominator`` raw: before the floor at 1) and
        may be sparse; missing strata read back as zeros. ``locations`` adds location codes to
        the zero-filled grid even when they have no rows (e.g. all 356 municipalities).
        """
        frame = _conform(daily, _CONSULTATION_SCHEMA, "consultation")
        syndromes = sorted(frame.get_column("syndrome").unique().drop_nulls().to_list())
        wide = frame.pivot(
            on="syndrome",
            index=list(STRATUM_KEYS),
            values=["n", "denominator"],
            aggregate_function="sum",
        )
        wide = wide.rename(
            {
                f"{value}_{s}": _wide_name(value, s)
                for value in ("n", "denominator")
                for s in syndromes
            }
        )
        self.write_consultation_strata(wide, syndromes, locations=locations)

    def write_consultation_strata(
        self, wide: pl.DataFrame, syndromes: Sequence[str], *, locations: Iterable[str] = ()
    ) -> None:
        """Store consultation counts in the store's own wide layout (the fast path of ingest).

        ``wide`` has the stratum keys (location_code, age, contact_type, practice_type, date) and
        for every syndrome ``n__<syndrome>`` and ``denominator__<syndrome>`` (raw counts).
        Replaces the dates it covers and rebuilds the weeks they touch.
        """
        value_columns = [_wide_name(v, s) for s in syndromes for v in ("n", "denominator")]
        missing = [c for c in (*STRATUM_KEYS, *value_columns) if c not in wide.columns]
        if missing:
            raise StoreError(f"consultation strata lack columns: {', '.join(missing)}")
        schema = wide.schema
        frame = wide.select(
            *(pl.col(k).cast(_CONSULTATION_SCHEMA[k]) for k in STRATUM_KEYS),
            *(
                pl.col(c).fill_null(0)
                if schema[c].is_integer()
                else pl.col(c).fill_null(0).cast(pl.Int64)
                for c in value_columns
            ),
        )
        # Counts are stored as Int32 when they fit (half the memory and disk); reads give Int64.
        if frame.height and frame.select(pl.max_horizontal(value_columns).max()).item() < 2**31:
            frame = frame.with_columns(pl.col(value_columns).cast(pl.Int32))
        if frame.select(pl.col("date").is_null().any()).item():
            raise StoreError("consultation frame has rows without a date")
        dates = frame.get_column("date").unique()
        self._replace_dates(self._consultation_dir(Frequency.DAILY), frame, dates)
        self._rebuild_weeks(frame, dates)
        dimensions = self._dimensions()
        for key, column, extra in (
            ("locations", "location_code", list(locations)),
            ("ages", "age", []),
        ):
            seen = set(frame.get_column(column).unique().to_list())
            dimensions[key] = sorted(set(dimensions[key]) | seen | set(extra))
        dimensions["syndromes"] = [
            *dimensions["syndromes"],
            *(s for s in syndromes if s not in dimensions["syndromes"]),
        ]
        _atomic_write_text(json.dumps(dimensions, indent=1), self._dimensions_path())
        self._log_ingest(_Table.CONSULTATIONS)

    def _partitions(self, directory: Path) -> dict[int, Path]:
        if not directory.exists():
            return {}
        return {int(p.stem.split("=")[1]): p for p in sorted(directory.glob("year=*.parquet"))}

    def _replace_dates(self, directory: Path, frame: pl.DataFrame, dates: pl.Series) -> None:
        years = set(dates.dt.year().unique().to_list())
        partitions = self._partitions(directory)
        for year in sorted(years):
            new_rows = frame if len(years) == 1 else frame.filter(pl.col("date").dt.year() == year)
            path = directory / f"year={year}.parquet"
            if year in partitions:
                kept = pl.read_parquet(path).filter(~pl.col("date").is_in(dates.implode()))
                new_rows = pl.concat([kept, new_rows], how="diagonal_relaxed").fill_null(0)
            # Sorted by date so Parquet row-group statistics let date filters skip data.
            if not new_rows.get_column("date").is_sorted():
                new_rows = new_rows.sort("date")
            _atomic_write_parquet(new_rows, path)

    def _rebuild_weeks(self, frame: pl.DataFrame, dates: pl.Series) -> None:
        """Recompute the weeks touched by ``dates``: the new rows plus stored rows of the other
        days of those weeks (only the edge weeks of a write need reading back)."""
        sundays = dates.to_frame("date").select(_sunday(pl.col("date")).unique()).to_series()
        covered = set(dates.to_list())
        other_days = sorted(
            sunday - dt.timedelta(days=offset)
            for sunday in sundays.to_list()
            for offset in range(7)
            if sunday - dt.timedelta(days=offset) not in covered
        )
        parts = [frame.lazy()]
        years = {day.year for day in other_days}
        daily = self._partitions(self._consultation_dir(Frequency.DAILY))
        for year in sorted(years & set(daily)):
            parts.append(
                pl.scan_parquet(daily[year]).filter(
                    pl.col("date").is_in(pl.Series(other_days, dtype=pl.Date).implode())
                )
            )
        combined = pl.concat(parts, how="diagonal_relaxed")
        values = [c for c in combined.collect_schema().names() if c not in STRATUM_KEYS]
        weekly = (
            combined.with_columns(_sunday(pl.col("date")).alias("date"))
            .group_by(STRATUM_KEYS)
            .agg(pl.col(values).fill_null(0).sum())
            .with_columns(pl.col(values).cast(pl.Int64))
            .collect()
        )
        self._replace_dates(self._consultation_dir(Frequency.WEEKLY), weekly, sundays)

    def consultations(self, frequency: Frequency) -> pl.LazyFrame:
        """Return zero-filled consultation counts: every location × age × syndrome × contact type ×
        practice type × date (weekly: every Sunday) between the first and last stored date.

        ``denominator`` is floored at 1 (spec §1); weekly frames also carry ``iso_year``,
        ``iso_week`` and ``week``. The frame is lazy: filter before collecting, a national
        daily year is about 45 million rows.
        """
        paths = list(self._partitions(self._consultation_dir(frequency)).values())
        columns = list(_CONSULTATION_SCHEMA)
        if frequency is Frequency.WEEKLY:
            columns = [*columns[:6], *_WEEK_COLUMNS, "n", "denominator"]
        if not paths:
            empty = pl.DataFrame(schema=_CONSULTATION_SCHEMA).lazy()
            if frequency is Frequency.WEEKLY:
                empty = empty.with_columns(week_columns("date"))
            return empty.select(columns)
        wide = pl.concat([pl.scan_parquet(p) for p in paths], how="diagonal_relaxed")
        dims = self._dimensions()
        available = set(wide.collect_schema().names())
        lo, hi = (
            wide.select(pl.col("date").min(), pl.col("date").max().alias("hi")).collect().row(0)
        )
        step = "1d" if frequency is Frequency.DAILY else "1w"
        grid = (
            pl.LazyFrame({"location_code": dims["locations"]}, schema={"location_code": pl.String})
            .join(pl.LazyFrame({"age": dims["ages"]}, schema={"age": pl.String}), how="cross")
            .join(pl.LazyFrame({"contact_type": [c.value for c in ContactType]}), how="cross")
            .join(pl.LazyFrame({"practice_type": [p.value for p in PracticeType]}), how="cross")
            .join(
                pl.LazyFrame({"date": pl.date_range(lo, hi, interval=step, eager=True)}),
                how="cross",
            )
        )
        # Zero-fill the wide strata first (one join), then give each syndrome its rows.
        joined = grid.join(wide, on=list(STRATUM_KEYS), how="left")
        zero = pl.lit(0, pl.Int64)
        filled = pl.concat(
            [
                joined.select(
                    *STRATUM_KEYS,
                    pl.lit(syndrome, pl.String).alias("syndrome"),
                    pl.col(_wide_name("n", syndrome)).cast(pl.Int64).fill_null(0).alias("n"),
                    pl.max_horizontal(
                        pl.col(_wide_name("denominator", syndrome)).cast(pl.Int64).fill_null(0),
                        pl.lit(1, pl.Int64),
                    ).alias("denominator"),
                )
                if _wide_name("n", syndrome) in available
                else joined.select(
                    *STRATUM_KEYS,
                    pl.lit(syndrome, pl.String).alias("syndrome"),
                    zero.alias("n"),
                    pl.lit(1, pl.Int64).alias("denominator"),
                )
                for syndrome in dims["syndromes"]
            ]
        )
        if frequency is Frequency.WEEKLY:
            filled = filled.with_columns(week_columns("date"))
        return filled.select(columns)

    def syndrome_series(
        self,
        frequency: Frequency,
        contact_types: Mapping[str, Collection[str]],
        *,
        first: dt.date,
        last: dt.date,
        locations: pl.Expr | None = None,
    ) -> pl.DataFrame:
        """Return location × age × syndrome × date counts summed over each syndrome's contact
        types and both practice types, zero-filled on the location × age × date grid.

        The result equals summing :meth:`consultations` over those strata — each stratum's
        denominator floored at 1 first, a missing stratum counting 1 — but aggregates the
        stored (sparse) strata before zero-filling, which is several times faster than
        expanding every contact type × practice type first.

        Parameters: ``contact_types`` maps a syndrome to the contact types its signal uses
        (syndromes not in it are left out); ``first``/``last`` bound the dates (inclusive);
        ``locations`` is an optional filter on ``location_code``.
        """
        columns = {
            "location_code": pl.String,
            "age": pl.String,
            "syndrome": pl.String,
            "date": pl.Date,
            "n": pl.Int64,
            "denominator": pl.Int64,
        }
        paths = list(self._partitions(self._consultation_dir(frequency)).values())
        if not paths:
            return pl.DataFrame(schema=columns)
        wide = pl.concat([pl.scan_parquet(p) for p in paths], how="diagonal_relaxed").filter(
            pl.col("date").is_between(first, last)
        )
        dims = self._dimensions()
        site = pl.LazyFrame(
            {"location_code": dims["locations"]}, schema={"location_code": pl.String}
        )
        if locations is not None:
            wide, site = wide.filter(locations), site.filter(locations)
        lo, hi = (
            wide.select(pl.col("date").min(), pl.col("date").max().alias("hi")).collect().row(0)
        )
        if lo is None:
            return pl.DataFrame(schema=columns)
        available = set(wide.collect_schema().names())
        step = "1d" if frequency is Frequency.DAILY else "1w"
        grid = site.join(
            pl.LazyFrame({"age": dims["ages"]}, schema={"age": pl.String}), how="cross"
        ).join(
            pl.LazyFrame({"date": pl.date_range(lo, hi, interval=step, eager=True)}), how="cross"
        )
        cell = ["location_code", "age", "date"]
        parts = []
        for syndrome in dims["syndromes"]:
            allowed = sorted(contact_types.get(syndrome, ()))
            if not allowed:
                continue
            strata = len(allowed) * len(PracticeType)
            n_name, den_name = _wide_name("n", syndrome), _wide_name("denominator", syndrome)
            if n_name in available:
                present = (
                    wide.filter(pl.col("contact_type").is_in(allowed))
                    .group_by(cell)
                    .agg(
                        pl.col(n_name).cast(pl.Int64).fill_null(0).sum().alias("n"),
                        pl.max_horizontal(
                            pl.col(den_name).cast(pl.Int64).fill_null(0), pl.lit(1, pl.Int64)
                        )
                        .sum()
                        .alias("floored"),
                        pl.len().cast(pl.Int64).alias("present"),
                    )
                )
                filled = grid.join(present, on=cell, how="left").select(
                    pl.col("n").fill_null(0),
                    (
                        pl.col("floored").fill_null(0) + strata - pl.col("present").fill_null(0)
                    ).alias("denominator"),
                    *cell,
                )
            else:
                filled = grid.select(
                    pl.lit(0, pl.Int64).alias("n"),
                    pl.lit(strata, pl.Int64).alias("denominator"),
                    *cell,
                )
            parts.append(filled.with_columns(pl.lit(syndrome, pl.String).alias("syndrome")))
        if not parts:
            return pl.DataFrame(schema=columns)
        return pl.concat(parts).select(list(columns)).collect(engine="streaming")

    # cases and lab tests -------------------------------------------------------------------

    def _upsert(self, table: _Table, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Replace stored rows with the same (location_code, date) and add the rest."""
        path = self.root / table / f"{frequency.value}.parquet"
        if frequency is Frequency.WEEKLY:
            frame = frame.with_columns(_sunday(pl.col("date")).alias("date"))
        if path.exists():
            old = pl.read_parquet(path).join(frame, on=["location_code", "date"], how="anti")
            frame = pl.concat([old, frame], how="vertical_relaxed")
        _atomic_write_parquet(frame.sort("location_code", "date"), path)
        self._log_ingest(table)

    def _scan(self, table: _Table, schema: dict[str, type[pl.DataType]], frequency: Frequency):
        path = self.root / table / f"{frequency.value}.parquet"
        frame = pl.scan_parquet(path) if path.exists() else pl.DataFrame(schema=schema).lazy()
        if frequency is Frequency.WEEKLY:
            frame = frame.with_columns(week_columns("date"))
            names = list(schema)
            return frame.select(names[:2] + list(_WEEK_COLUMNS) + names[2:])
        return frame

    def write_cases(self, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Store case counts (MSIS) per location × date; weekly dates are moved to the Sunday."""
        self._upsert(_Table.CASES, _conform(frame, _CASE_SCHEMA, "cases"), frequency)

    def cases(self, frequency: Frequency) -> pl.LazyFrame:
        """Return stored case counts: location_code, date (weekly: + week columns), n."""
        return self._scan(_Table.CASES, _CASE_SCHEMA, frequency)

    def write_lab_tests(self, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Store positive and negative test counts per location × date."""
        self._upsert(_Table.LAB_TESTS, _conform(frame, _LAB_SCHEMA, "lab test"), frequency)

    def lab_tests(self, frequency: Frequency) -> pl.LazyFrame:
        """Return stored lab tests: location_code, date (weekly: + week columns), n_pos, n_neg."""
        return self._scan(_Table.LAB_TESTS, _LAB_SCHEMA, frequency)

    # analysis results ----------------------------------------------------------------------

    def _results_dir(self, method: str, frequency: Frequency) -> Path:
        if not method.isidentifier():
            raise StoreError(f"method name must be an identifier, got {method!r}")
        return self.root / _Table.RESULTS / method / frequency.value

    def write_results(
        self, method: str, frequency: Frequency, results: pl.DataFrame, years: Sequence[int]
    ) -> None:
        """Replace the results of the given prediction years with ``results``.

        A row's prediction year is its ``prediction_year`` column if present, else the calendar
        year of ``date`` (a weekly point belongs to the year of its Sunday, spec §2). Each year is
        one file swapped atomically; a year without rows in ``results`` is cleared.
        """
        if "prediction_year" in results.columns:
            year = pl.col("prediction_year")
        elif "date" in results.columns:
            year = pl.col("date").dt.year()
        else:
            raise StoreError("results need a 'date' or 'prediction_year' column")
        directory = self._results_dir(method, frequency)
        outside = results.filter(~year.is_in(list(years)))
        if outside.height:
            raise StoreError(f"{outside.height} result rows fall outside the years {list(years)}")
        for each in sorted(set(years)):
            rows = results.filter(year == each)
            path = directory / f"year={each}.parquet"
            if rows.height:
                _atomic_write_parquet(rows, path)
            else:
                path.unlink(missing_ok=True)
        self._log_ingest(_Table.RESULTS)

    def results(self, method: str, frequency: Frequency) -> pl.LazyFrame:
        """Return all stored results of a method at a frequency (empty frame if none)."""
        paths = sorted(self._results_dir(method, frequency).glob("year=*.parquet"))
        if not paths:
            return pl.LazyFrame()
        return pl.scan_parquet(paths, missing_columns="insert")

    # status --------------------------------------------------------------------------------

    def _log_path(self) -> Path:
        return self.root / "ingest_log.json"

    def _ingest_log(self) -> dict[str, str]:
        path = self._log_path()
        if not path.exists():
            return {}
        loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def _log_ingest(self, table: _Table) -> None:
        log = self._ingest_log()
        log[table.value] = dt.datetime.now(dt.UTC).isoformat()
        _atomic_write_text(json.dumps(log, indent=1), self._log_path())

    def status(self) -> StoreStatus:
        """Summarise each stored table: rows, locations, first and last date, last write time."""
        log = self._ingest_log()
        tables: list[TableStatus] = []
        sources: list[tuple[_Table, Frequency, list[Path]]] = []
        for frequency in Frequency:
            sources.append(
                (
                    _Table.CONSULTATIONS,
                    frequency,
                    list(self._partitions(self._consultation_dir(frequency)).values()),
                )
            )
            for table in (_Table.CASES, _Table.LAB_TESTS):
                path = self.root / table / f"{frequency.value}.parquet"
                sources.append((table, frequency, [path] if path.exists() else []))
        for table, frequency, paths in sources:
            stamp = log.get(table.value)
            if not paths:
                tables.append(TableStatus(table.value, frequency.value, 0, 0, None, None, None))
                continue
            rows, locations, first, last = (
                pl.scan_parquet(paths)
                .select(
                    pl.len().alias("rows"),
                    pl.col("location_code").n_unique().alias("locations"),
                    pl.col("date").min().alias("first"),
                    pl.col("date").max().alias("last"),
                )
                .collect()
                .row(0)
            )
            tables.append(
                TableStatus(
                    table.value,
                    frequency.value,
                    rows,
                    locations,
                    first,
                    last,
                    dt.datetime.fromisoformat(stamp) if stamp else None,
                )
            )
        return StoreStatus(root=self.root, tables=tables)
