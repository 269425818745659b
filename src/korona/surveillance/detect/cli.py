"""Commands ``detect`` (CSV in, CSV out) and ``run`` (the national analysis of the store)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from korona.surveillance.calendar import Frequency, parse_iso_week, week_sunday
from korona.surveillance.cli import DataDir, store_root
from korona.surveillance.detect import DETECTORS, Covid19Detector, Covid19Source
from korona.surveillance.detect.base import (
    Detection,
    DetectionError,
    Detector,
    Method,
    parameters_from_strings,
)
from korona.surveillance.series import SeriesSet, SeriesSetError, Status
from korona.surveillance.store import StoreError, SurveillanceStore

__all__ = [
    "CsvInputError",
    "detect_frame",
    "read_detect_csv",
    "register",
    "result_frame",
    "run_store",
    "store_frame",
    "write_csv_atomically",
]

EXIT_FAILED = 2
console = Console()
error_console = Console(stderr=True)


class CsvInputError(ValueError):
    """The input CSV cannot be analysed; the message says what is wrong in plain English."""


# ---------------------------------------------------------------------------- CSV interface
def _row_list(rows: pl.Series, limit: int = 5) -> str:
    """Format 1-based data-row numbers (header excluded) for an error message."""
    numbers = [str(int(r) + 2) for r in rows.head(limit).to_list()]  # +1 header, +1 one-based
    more = "" if rows.len() <= limit else f" and {rows.len() - limit} more"
    return ", ".join(numbers) + more


def read_detect_csv(path: Path, frequency: Frequency) -> SeriesSet:
    """Read and validate the ``detect`` input CSV into a SeriesSet.

    Columns: ``series``, ``week`` (weekly, ``2019-W05``) or ``date`` (daily, ``2019-01-31``),
    ``n`` (whole number ≥ 0) and optionally ``denominator`` (number ≥ 0). Weeks or days
    missing inside the covered period count as zero (the analysis grid is zero-filled).
    Raises:
        CsvInputError: missing columns, negative or non-integer counts, duplicate rows,
            unparseable weeks or dates.
    """
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise CsvInputError(f"cannot read {path}: {error}") from None
    time_column = "week" if frequency is Frequency.WEEKLY else "date"
    missing = [c for c in ("series", time_column, "n") if c not in frame.columns]
    if missing:
        raise CsvInputError(
            f"{path.name} lacks the column(s) {', '.join(missing)}; expected "
            f"series,{time_column},n,denominator (found: {', '.join(frame.columns)})"
        )
    if frame.height == 0:
        raise CsvInputError(f"{path.name} has no data rows")
    frame = frame.with_row_index("_row")
    if frame["series"].null_count():
        rows = frame.filter(pl.col("series").is_null())["_row"]
        raise CsvInputError(f"empty series name in row(s) {_row_list(rows)}")

    n = pl.col("n").str.strip_chars().cast(pl.Int64, strict=False)
    bad = frame.filter(n.is_null())
    if bad.height:
        raise CsvInputError(
            f"column n must hold whole numbers; row(s) {_row_list(bad['_row'])} "
            f"hold {bad['n'][0]!r}"
        )
    frame = frame.with_columns(n.alias("n"))
    negative = frame.filter(pl.col("n") < 0)
    if negative.height:
        raise CsvInputError(f"negative counts in row(s) {_row_list(negative['_row'])}")

    has_denominator = "denominator" in frame.columns
    if has_denominator:
        den = pl.col("denominator").str.strip_chars().cast(pl.Float64, strict=False)
        bad = frame.filter(den.is_null() | den.is_nan() | den.is_infinite())
        if bad.height:
            raise CsvInputError(
                f"column denominator must hold numbers; row(s) {_row_list(bad['_row'])} "
                f"hold {bad['denominator'][0]!r}"
            )
        frame = frame.with_columns(den.alias("denominator"))
        negative = frame.filter(pl.col("denominator") < 0)
        if negative.height:
            raise CsvInputError(f"negative denominators in row(s) {_row_list(negative['_row'])}")

    if frequency is Frequency.WEEKLY:
        sundays: dict[str, object] = {}
        for label in frame["week"].unique().to_list():
            try:
                sundays[label] = week_sunday(*parse_iso_week(str(label).strip()))
            except (ValueError, TypeError):
                rows = frame.filter(pl.col("week") == label)["_row"]
                raise CsvInputError(
                    f"unparseable week {label!r} in row(s) {_row_list(rows)}; "
                    "write ISO weeks as 2019-W05"
                ) from None
        frame = frame.with_columns(
            pl.col("week").replace_strict(sundays, return_dtype=pl.Date).alias("_date")
        )
    else:
        parsed = pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
        bad = frame.filter(parsed.is_null())
        if bad.height:
            raise CsvInputError(
                f"unparseable date {bad['date'][0]!r} in row(s) {_row_list(bad['_row'])}; "
                "write dates as 2019-01-31"
            )
        frame = frame.with_columns(parsed.alias("_date"))

    duplicated = frame.filter(pl.struct("series", "_date").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise CsvInputError(
            f"duplicate rows for series {first['series']!r} at {first[time_column]!r} "
            f"(row(s) {_row_list(duplicated['_row'])})"
        )
    try:
        return SeriesSet.from_long(
            frame,
            frequency=frequency,
            key_columns=["series"],
            date_column="_date",
            denominator_column="denominator" if has_denominator else None,
        )
    except SeriesSetError as error:
        raise CsvInputError(str(error)) from None


#: Result columns each method has (the others are left out of its output).
_METHOD_COLUMNS: dict[Method, tuple[str, ...]] = {
    Method.SYKDOMSPULSEN: ("threshold2", "threshold4", "threshold6", "zscore"),
    Method.FARRINGTON: ("threshold4", "zscore"),
    Method.COVID19: ("threshold4",),
}


def result_frame(detection: Detection, method: Method) -> pl.DataFrame:
    """Return one row per predicted point with the columns of the CSV/store output."""
    series = detection.series
    frame = series.to_long()
    time_column = series.time_column
    columns = [
        *series.keys.columns,
        time_column,
        "n",
        "expected",
        *_METHOD_COLUMNS[method],
        "status",
        "excess",
        "failed",
    ]
    return frame.select(columns)


def store_frame(detection: Detection, method: Method) -> pl.DataFrame:
    """Return the rows ``run`` stores: keys, date (weekly: and ISO week columns), n,
    denominator and the method's result columns."""
    series = detection.series
    frame = series.to_long()
    keep = [c for c in frame.columns if c not in _RESULT_COLUMNS or c in _METHOD_COLUMNS[method]]
    return frame.select(keep)


_RESULT_COLUMNS = ("threshold2", "threshold4", "threshold6", "zscore")


def write_csv_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        frame.write_csv(temporary, float_precision=6)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _parse_settings(settings: Sequence[str]) -> dict[str, str]:
    """Split ``NAME=VALUE`` options; raise a clear error for anything else."""
    values: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DetectionError(f"--set takes NAME=VALUE, got {item!r}")
        values[name.strip()] = value.strip()
    return values


def detect_frame(
    series: SeriesSet, method: Method, settings: dict[str, str]
) -> tuple[Detection, Detector]:
    """Build the method's detector from text settings and run it on ``series``."""
    detector = parameters_from_strings(DETECTORS[method], settings)
    return detector.detect(series), detector


def _summary_table(title: str, rows: list[tuple[str, int, int, int, dict[Status, int]]]) -> Table:
    table = Table(title=title)
    for column in ("analysis", "series", "fits", "failed fits", *[s.value for s in Status]):
        table.add_column(column, justify="right")
    for name, n_series, fits, failed, signals in rows:
        table.add_row(
            name,
            f"{n_series:,}",
            f"{fits:,}",
            f"{failed:,}",
            *[f"{signals.get(s, 0):,}" for s in Status],
        )
    return table


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    """Print domain errors as one red English line and exit 2, never a traceback."""
    try:
        yield
    except (CsvInputError, DetectionError, SeriesSetError, StoreError) as error:
        error_console.print(f"[red]Error:[/red] {error}")
        raise typer.Exit(EXIT_FAILED) from None


# ---------------------------------------------------------------------------- national run
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


def parse_years(text: str) -> list[int]:
    """Parse ``2015-2020`` or ``2020`` into a list of years."""
    match = _YEARS.match(text)
    if match is None:
        raise DetectionError(f"--years takes YEAR or FIRST-LAST, e.g. 2015-2020 (got {text!r})")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise DetectionError(f"--years range runs backwards: {text!r}")
    return list(range(first, last + 1))


@dataclass(frozen=True)
class RunSummary:
    """What one ``run`` analysed and found, per frequency."""

    method: Method
    years: tuple[int, ...]
    analyses: tuple[tuple[str, int, int, int, dict[Status, int]], ...]
    seconds: float


def _is_daily_location(code: pl.Expr) -> pl.Expr:
    """Daily analyses cover the nation and the counties only (spec §2)."""
    return (code == "norge") | code.str.starts_with("county")


def load_store_series(
    store: SurveillanceStore, frequency: Frequency, years: Sequence[int], years_back: int = 5
) -> SeriesSet | None:
    """Return location × age × syndrome series from the store, summed over contact types
    (each syndrome's signal contact types, spec §1) and both practice types.

    Returns None when the store has no consultations for the period.
    """
    from korona.surveillance.sources.kuhr import load_syndromes

    contact_types = {
        syndrome.name: [contact.value for contact in syndrome.signal_contact_types]
        for syndrome in load_syndromes()
    }
    frame = store.syndrome_series(
        frequency,
        contact_types,
        first=dt.date(min(years) - years_back, 1, 1),
        last=dt.date(max(years), 12, 31),
        locations=_is_daily_location(pl.col("location_code"))
        if frequency is Frequency.DAILY
        else None,
    ).with_columns(pl.col("denominator").cast(pl.Float64))
    if frame.height == 0:
        return None
    return SeriesSet.from_long(
        frame, frequency=frequency, key_columns=["location_code", "age", "syndrome"]
    )


#: The covid-19 consultation syndrome (R991 + R992) in the syndrome table.
COVID19_SYNDROME = "covid19"


def load_store_cases(store: SurveillanceStore, years: Sequence[int]) -> SeriesSet | None:
    """Return weekly MSIS case series per location from the store (None when there are none)."""
    frame = (
        store.cases(Frequency.WEEKLY)
        .filter(
            pl.col("date").is_between(pl.date(min(years) - 1, 1, 1), pl.date(max(years), 12, 31))
        )
        .select("location_code", "date", "n")
        .collect()
    )
    if frame.height == 0:
        return None
    return SeriesSet.from_long(
        frame, frequency=Frequency.WEEKLY, key_columns=["location_code"], denominator_column=None
    )


@dataclass(frozen=True)
class _Analysis:
    """One part of a run: what to read, which detector, under which result name."""

    label: str
    frequency: Frequency
    result_name: str
    detector: Detector
    load: Callable[[], SeriesSet | None]


def _analyses(
    store: SurveillanceStore, method: Method, years: Sequence[int], settings: dict[str, str]
) -> list[_Analysis]:
    """Return the analyses of a national run for ``method`` (spec §2–§4)."""
    detector = parameters_from_strings(DETECTORS[method], settings)
    if method is Method.COVID19:
        assert isinstance(detector, Covid19Detector)

        def covid_consultations() -> SeriesSet | None:
            series = load_store_series(store, Frequency.WEEKLY, years, years_back=1)
            if series is None:
                return None
            rows = np.flatnonzero(series.keys["syndrome"].to_numpy() == COVID19_SYNDROME)
            return series.subset(rows) if rows.size else None

        return [
            _Analysis(
                "weekly consultations",
                Frequency.WEEKLY,
                method.value,
                dataclasses.replace(detector, source=Covid19Source.CONSULTATIONS),
                covid_consultations,
            ),
            _Analysis(
                "weekly MSIS cases",
                Frequency.WEEKLY,
                f"{method.value}_cases",
                dataclasses.replace(detector, source=Covid19Source.CASES),
                lambda: load_store_cases(store, years),
            ),
        ]
    analyses = [
        _Analysis(
            "weekly",
            Frequency.WEEKLY,
            method.value,
            detector,
            lambda: load_store_series(store, Frequency.WEEKLY, years),
        )
    ]
    if method is Method.SYKDOMSPULSEN:  # the other methods are weekly only
        analyses.append(
            _Analysis(
                "daily",
                Frequency.DAILY,
                method.value,
                detector,
                lambda: load_store_series(store, Frequency.DAILY, years),
            )
        )
    return analyses


def run_store(
    data_dir: Path,
    method: Method,
    years: Sequence[int],
    settings: dict[str, str],
    *,
    progress: Progress | None = None,
) -> RunSummary:
    """Analyse everything in the store and replace the results of ``years`` atomically.

    Sykdomspulsen: weekly for every location, daily for nation and counties. Farrington:
    weekly. Covid-19: weekly covid consultations (results ``covid19``) and MSIS cases
    (results ``covid19_cases``).
    """
    started = time.perf_counter()
    store = SurveillanceStore(store_root(data_dir))
    analyses = _analyses(store, method, years, settings)
    task = progress.add_task("Analysing", total=3 * len(analyses)) if progress else None

    def step(text: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=text)

    def advance(steps: int = 1) -> None:
        if progress is not None and task is not None:
            progress.advance(task, steps)

    rows: list[tuple[str, int, int, int, dict[Status, int]]] = []
    for analysis in analyses:
        step(f"Reading {analysis.label} counts")
        series = analysis.load()
        advance()
        if series is None:
            advance(2)
            rows.append((analysis.label, 0, 0, 0, {}))
            continue
        step(f"Fitting {series.n_series:,} {analysis.label} series")
        detection = analysis.detector.detect(series, years=years)
        advance()
        step(f"Writing {analysis.label} results")
        store.write_results(
            analysis.result_name, analysis.frequency, store_frame(detection, method), years
        )
        advance()
        rows.append(
            (
                analysis.label,
                series.n_series,
                detection.fits,
                detection.failed_fits,
                detection.signals(),
            )
        )
    return RunSummary(method, tuple(years), tuple(rows), time.perf_counter() - started)


# ---------------------------------------------------------------------------- typer wiring
Settings = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Detector parameter NAME=VALUE (repeatable), e.g. --set years_back=4.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``detect`` and ``run`` commands to a Typer app."""

    @app.command("detect")
    def detect_command(
        method: Annotated[Method, typer.Option("--method", help="Detection method.")],
        input_path: Annotated[
            Path, typer.Option("--input", help="CSV with series,week,n,denominator.")
        ],
        output_path: Annotated[Path, typer.Option("--output", help="Result CSV to write.")],
        frequency: Annotated[
            Frequency, typer.Option("--frequency", help="weekly (week column) or daily (date).")
        ] = Frequency.WEEKLY,
        settings: Settings = None,
    ) -> None:
        """Detect outbreaks in count series from a CSV file and write one row per point."""
        with _clear_errors():
            values = _parse_settings(settings or [])
            parameters_from_strings(DETECTORS[method], values)  # fail before reading input
            series = read_detect_csv(input_path, frequency)
            detection, _ = detect_frame(series, method, values)
            write_csv_atomically(result_frame(detection, method), output_path)
        console.print(
            _summary_table(
                f"{method} on {input_path.name}",
                [
                    (
                        str(frequency),
                        series.n_series,
                        detection.fits,
                        detection.failed_fits,
                        detection.signals(),
                    )
                ],
            )
        )
        console.print(f"Wrote {output_path}")

    @app.command("run")
    def run_command(
        data_dir: DataDir = Path("var"),
        method: Annotated[
            Method, typer.Option("--method", help="Detection method.")
        ] = Method.SYKDOMSPULSEN,
        years: Annotated[
            str, typer.Option("--years", help="Prediction years, e.g. 2015-2020.")
        ] = "2015-2020",
        settings: Settings = None,
    ) -> None:
        """Analyse every series in the store and replace the results of the given years."""
        with _clear_errors():
            year_list = parse_years(years)
            values = _parse_settings(settings or [])
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                summary = run_store(data_dir, method, year_list, values, progress=progress)
        console.print(
            _summary_table(
                f"{summary.method} {min(summary.years)}–{max(summary.years)} "
                f"({summary.seconds:.1f} s)",
                list(summary.analyses),
            )
        )
