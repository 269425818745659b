"""SurveillanceStore: counts and analysis results as Parquet under one root, one commit a write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence

import polars as pl

import korona.surveillance.store.grid as grid
from korona.surveillance.calendar import Frequency, week_columns
from korona.surveillance.store.commits import CommittedFiles
from korona.surveillance.store.files import StoreError, crash_point
from korona.surveillance.store.layout import (
    CASE_SCHEMA,
    CONSULTATION_SCHEMA,
    DAYS_COLUMN,
    LAB_SCHEMA,
    STRATUM_KEYS,
    WEEK_COLUMNS,
    Table,
    conform,
    count_column,
    denominator_column,
    extend_dimensions,
    partition_name,
    sunday,
    table_name,
    week_sums,
    wide_strata,
)

__all__ = ["SurveillanceStore"]


def _split_years(results: pl.DataFrame) -> dict[int, pl.DataFrame]:
    """Return the rows of each prediction year of a result frame."""
    if "prediction_year" in results.columns:
        year = pl.col("prediction_year")
    elif "date" in results.columns:
        year = pl.col("date").dt.year()
    else:
        raise StoreError("results need a 'date' or 'prediction_year' column")
    parts = results.with_columns(year.alias("_year")).partition_by(
        "_year", as_dict=True, include_key=False, maintain_order=True
    )
    # A row without a year belongs to no prediction year and is not stored.
    return {int(key[0]): frame for key, frame in parts.items() if key[0] is not None}


class SurveillanceStore(CommittedFiles):
    """Counts (consultations, cases, lab tests) and analysis results as Parquet under ``root``.

    Every write is one commit (:class:`~korona.surveillance.store.commits.CommittedFiles`:
    new files beside the old ones, then ``manifest.json`` switched with one ``os.replace``);
    writes inside :meth:`transaction` commit together (one ingest of one file is one
    transaction).
    Layout and column naming: :mod:`korona.surveillance.store.layout`; ``docs/data.md``.
    """

    # consultations -------------------------------------------------------------------------

    def dimensions(self) -> dict[str, list[str]]:
        """Return the locations, ages and syndromes of the zero-filled consultation grid."""
        return {k: list(v) for k, v in self._manifest().dimensions.items()}

    def syndrome_table(self) -> list[dict[str, str]]:
        """Return the syndrome definitions the ingests used (rows of the syndrome table, the
        latest definition of each syndrome), in the order they were first stored."""
        return [dict(row) for row in self._manifest().syndromes.values()]

    def write_consultations(self, daily: pl.DataFrame, *, locations: Iterable[str] = ()) -> None:
        """Store daily consultation counts (long layout), replacing the dates they cover.

        ``daily`` has the consultation columns (``denominator`` raw: before the floor at 1) and
        may be sparse; missing strata read back as zeros. ``locations`` adds location codes to
        the zero-filled grid even when they have no rows (e.g. all 356 municipalities).
        """
        wide, syndromes = wide_strata(conform(daily, CONSULTATION_SCHEMA, "consultation"))
        self.write_consultation_strata(wide, syndromes, locations=locations)

    def write_consultation_strata(
        self,
        wide: pl.DataFrame,
        syndromes: Sequence[str],
        *,
        locations: Iterable[str] = (),
        definitions: Mapping[str, Mapping[str, str]] | None = None,
        simulated: bool = False,
    ) -> None:
        """Store consultation counts in the store's own wide layout (the fast path of ingest).

        ``wide`` has the stratum keys and, per syndrome, :func:`count_column` and
        :func:`denominator_column` (raw counts). Replaces the dates it covers and rebuilds the
        weeks they touch. ``definitions`` (syndrome → its row of the syndrome table) is
        recorded so the analysis uses the table the counts were made with; ``simulated`` that
        the counts come from simulated records.
        """
        value_columns = [c for s in syndromes for c in (count_column(s), denominator_column(s))]
        missing = [c for c in (*STRATUM_KEYS, *value_columns) if c not in wide.columns]
        if missing:
            raise StoreError(f"consultation strata lack columns: {', '.join(missing)}")
        frame = wide.select(
            *(pl.col(k).cast(CONSULTATION_SCHEMA[k]) for k in STRATUM_KEYS),
            *(pl.col(c).fill_null(0).cast(pl.Int64) for c in value_columns),
        )
        # Counts are stored as Int32 when they fit (half the memory and disk); reads give Int64.
        if frame.height and frame.select(pl.max_horizontal(value_columns).max()).item() < 2**31:
            frame = frame.with_columns(pl.col(value_columns).cast(pl.Int32))
        if frame.select(pl.col("date").is_null().any()).item():
            raise StoreError("consultation frame has rows without a date")
        dates = frame.get_column("date").unique()
        with self.transaction():
            self._replace_dates(Frequency.DAILY, frame, dates)
            crash_point("staged-daily")
            self._rebuild_weeks(frame, dates)
            crash_point("staged-weekly")
            staged = self._manifest()
            extend_dimensions(staged.dimensions, frame, syndromes, locations)
            for name, row in (definitions or {}).items():
                staged.syndromes[name] = dict(row)
            if simulated and Table.CONSULTATIONS.value not in staged.simulated:
                staged.simulated.append(Table.CONSULTATIONS.value)
            staged.stamp(Table.CONSULTATIONS)

    def _replace_dates(self, frequency: Frequency, frame: pl.DataFrame, dates: pl.Series) -> None:
        years = set(dates.dt.year().unique().to_list())
        partitions = self._partitions(Table.CONSULTATIONS, frequency)
        for year in sorted(years):
            new_rows = frame if len(years) == 1 else frame.filter(pl.col("date").dt.year() == year)
            if year in partitions:
                kept = pl.read_parquet(partitions[year]).filter(
                    ~pl.col("date").is_in(dates.implode())
                )
                new_rows = pl.concat([kept, new_rows], how="diagonal_relaxed").fill_null(0)
            # Sorted by date so Parquet row-group statistics let date filters skip data.
            if not new_rows.get_column("date").is_sorted():
                new_rows = new_rows.sort("date")
            self._put(partition_name(Table.CONSULTATIONS, frequency, year), new_rows)

    def _rebuild_weeks(self, frame: pl.DataFrame, dates: pl.Series) -> None:
        """Recompute the weeks touched by ``dates``: the new rows plus stored rows of the other
        days of those weeks (only the edge weeks of a write need reading back)."""
        sundays = dates.to_frame("date").select(sunday(pl.col("date")).unique()).to_series()
        covered = set(dates.to_list())
        other_days = sorted(
            day
            for end in sundays.to_list()
            for day in (end - dt.timedelta(days=offset) for offset in range(7))
            if day not in covered
        )
        parts = [frame.lazy()]
        daily = self._partitions(Table.CONSULTATIONS, Frequency.DAILY)
        for year in sorted({day.year for day in other_days} & set(daily)):
            parts.append(
                pl.scan_parquet(daily[year]).filter(
                    pl.col("date").is_in(pl.Series(other_days, dtype=pl.Date).implode())
                )
            )
        weekly = week_sums(pl.concat(parts, how="diagonal_relaxed"), list(STRATUM_KEYS))
        self._replace_dates(Frequency.WEEKLY, weekly, sundays)

    def _wide(self, frequency: Frequency) -> pl.LazyFrame | None:
        paths = list(self._partitions(Table.CONSULTATIONS, frequency).values())
        if not paths:
            return None
        return pl.concat([pl.scan_parquet(p) for p in paths], how="diagonal_relaxed")

    def consultations(self, frequency: Frequency) -> pl.LazyFrame:
        """Return zero-filled counts: every location × age × syndrome × contact type × practice
        type × date (weekly: Sundays) of the stored period, ``denominator`` floored at 1 (spec
        §1), weekly with ISO week columns. Lazy: filter first (45 million rows a national year).
        """
        wide = self._wide(frequency)
        if wide is None:
            return grid.empty_consultations(frequency)
        return grid.strata(wide, self.dimensions(), frequency)

    def syndrome_series(
        self,
        frequency: Frequency,
        contact_types: Mapping[str, Collection[str]],
        *,
        first: dt.date,
        last: dt.date,
        locations: pl.Expr | None = None,
    ) -> pl.DataFrame:
        """Return :meth:`syndrome_cells` zero-filled: one row per location × age × syndrome ×
        date, equal to summing :meth:`consultations` over each syndrome's contact types."""
        read = self.syndrome_cells(
            frequency, contact_types, first=first, last=last, locations=locations
        )
        return grid.summed(read, frequency)

    def syndrome_cells(
        self,
        frequency: Frequency,
        contact_types: Mapping[str, Collection[str]],
        *,
        first: dt.date,
        last: dt.date,
        locations: pl.Expr | None = None,
    ) -> grid.Cells | None:
        """Return location × age × syndrome × date counts summed over each syndrome's contact
        types and both practice types: the stored cells and what every other cell holds (None
        when nothing is stored). ``contact_types`` maps a syndrome to its signal contact types
        (others are left out); ``first``/``last`` bound the dates; ``locations`` filters."""
        wide = self._wide(frequency)
        if wide is None:
            return None
        wide = wide.filter(pl.col("date").is_between(first, last))
        return grid.cells(wide, self.dimensions(), contact_types, locations)

    # cases and lab tests -------------------------------------------------------------------

    def _replace_rows(self, table: Table, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Replace the stored rows of the locations in ``frame`` on the dates it covers; a daily
        write also recomputes those locations' weeks from the stored days.

        Weekly rows remember how many days they sum (``DAYS_COLUMN``; a weekly file's rows are
        whole weeks). A week summed from fewer stored days than the stored weekly row covers is
        left alone, so a partial week never replaces a full one whatever the order of ingest:
        FHI's daily HISTORIC file ends on Saturday 2020-08-15, and its six days of 2020-W33
        must not replace the whole week from the weekly file.
        """
        weekly_name = table_name(table, Frequency.WEEKLY)
        if frequency is Frequency.WEEKLY:
            frame = frame.with_columns(
                sunday(pl.col("date")).alias("date"), pl.lit(7, pl.Int8).alias(DAYS_COLUMN)
            )
        locations = frame["location_code"].unique()
        with self.transaction():
            stored = self._replace(table_name(table, frequency), frame, locations, frame["date"])
            crash_point(f"staged-{frequency.value}")
            if frequency is Frequency.DAILY:
                weeks = frame.select(sunday(pl.col("date")).unique()).to_series()
                touched = stored.lazy().filter(
                    pl.col("location_code").is_in(locations.implode()),
                    sunday(pl.col("date")).is_in(weeks.implode()),
                )
                weekly = week_sums(
                    touched.with_columns(pl.lit(1, pl.Int8).alias(DAYS_COLUMN)),
                    ["location_code", "date"],
                ).with_columns(pl.col(DAYS_COLUMN).cast(pl.Int8))
                weekly = self._without_shorter_weeks(weekly_name, weekly)
                self._replace(weekly_name, weekly, locations, weeks)
                crash_point("staged-weekly")
            self._manifest().stamp(table)

    def _without_shorter_weeks(self, name: str, weekly: pl.DataFrame) -> pl.DataFrame:
        """Return the recomputed weeks, but the stored row where it sums more days."""
        path = self._path(name)
        if path is None:
            return weekly
        stored = pl.read_parquet(path)
        # Rows stored before weeks counted their days came from whole weekly sums or files.
        if DAYS_COLUMN not in stored.columns:
            stored = stored.with_columns(pl.lit(7, pl.Int8).alias(DAYS_COLUMN))
        keys = ["location_code", "date"]
        values = [c for c in weekly.columns if c not in keys]
        joined = weekly.join(
            stored.select(*keys, *values).with_columns(pl.col(DAYS_COLUMN).fill_null(7)),
            on=keys,
            how="left",
            suffix="_stored",
        )
        keep_stored = pl.col(f"{DAYS_COLUMN}_stored").fill_null(0) > pl.col(DAYS_COLUMN)
        return joined.select(
            *keys,
            *(
                pl.when(keep_stored).then(pl.col(f"{c}_stored")).otherwise(pl.col(c)).alias(c)
                for c in values
            ),
        )

    def _replace(
        self, name: str, frame: pl.DataFrame, locations: pl.Series, dates: pl.Series
    ) -> pl.DataFrame:
        """Store ``frame`` in place of the stored rows of ``locations`` × ``dates``."""
        path = self._path(name)
        if path is not None:
            kept = pl.read_parquet(path).filter(
                ~pl.col("date").is_in(dates.unique().implode())
                | ~pl.col("location_code").is_in(locations.implode())
            )
            frame = pl.concat([kept, frame], how="diagonal_relaxed")
        frame = frame.sort("location_code", "date")
        self._put(name, frame)
        return frame

    def _scan(self, table: Table, schema: dict[str, type[pl.DataType]], frequency: Frequency):
        path = self._path(table_name(table, frequency))
        frame = pl.scan_parquet(path) if path else pl.DataFrame(schema=schema).lazy()
        if frequency is Frequency.WEEKLY:
            frame = frame.with_columns(week_columns("date"))
            names = list(schema)
            return frame.select(names[:2] + list(WEEK_COLUMNS) + names[2:])
        return frame

    def write_cases(self, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Store case counts (MSIS) per location × date, replacing the dates the frame covers
        for its locations. Daily counts also give the weekly sums of the weeks they touch;
        weekly counts (files with weeks only) are dated by the week's Sunday."""
        self._replace_rows(Table.CASES, conform(frame, CASE_SCHEMA, "cases"), frequency)

    def cases(self, frequency: Frequency) -> pl.LazyFrame:
        """Return stored case counts: location_code, date (weekly: + week columns), n."""
        return self._scan(Table.CASES, CASE_SCHEMA, frequency)

    def write_lab_tests(self, frame: pl.DataFrame, frequency: Frequency) -> None:
        """Store positive and negative test counts per location × date (as :meth:`write_cases`)."""
        self._replace_rows(Table.LAB_TESTS, conform(frame, LAB_SCHEMA, "lab test"), frequency)

    def lab_tests(self, frequency: Frequency) -> pl.LazyFrame:
        """Return stored lab tests: location_code, date (weekly: + week columns), n_pos, n_neg."""
        return self._scan(Table.LAB_TESTS, LAB_SCHEMA, frequency)

    # analysis results ----------------------------------------------------------------------

    def _results_table(self, method: str) -> str:
        if not method.isidentifier():
            raise StoreError(f"method name must be an identifier, got {method!r}")
        return f"{Table.RESULTS}/{method}"

    def write_results(
        self,
        method: str,
        frequency: Frequency,
        results: pl.DataFrame | Mapping[int, pl.DataFrame],
        years: Sequence[int],
    ) -> None:
        """Replace the results of the given prediction years with ``results`` (one commit).

        ``results`` is one frame, or the rows of each prediction year (year → frame, as
        ``run`` builds them, so nothing is split again). In one frame a row's prediction year
        is its ``prediction_year`` column if present, else the calendar year of ``date`` (a
        weekly point belongs to the year of its Sunday, spec §2). A year without rows is
        cleared.
        """
        table = self._results_table(method)
        by_year = results if not isinstance(results, pl.DataFrame) else _split_years(results)
        outside = sum(by_year[year].height for year in by_year if year not in years)
        if outside:
            raise StoreError(f"{outside} result rows fall outside the years {list(years)}")
        with self.transaction():
            for each in sorted(set(years)):
                # One year's rows at a time: a mapping may build them only when asked.
                rows = by_year.get(each)
                name = partition_name(table, frequency, each)
                if rows is not None and rows.height:
                    self._put(name, rows)
                else:
                    self._drop(name)
            self._manifest().stamp(Table.RESULTS)

    def results(self, method: str, frequency: Frequency) -> pl.LazyFrame:
        """Return all stored results of a method at a frequency (empty frame if none)."""
        paths = list(self._partitions(self._results_table(method), frequency).values())
        if not paths:
            return pl.LazyFrame()
        return pl.scan_parquet(paths, missing_columns="insert")
