"""`korona surveillance detect` and `run`: outbreak detection on a CSV file or the whole store
(wiring only; :mod:`korona.surveillance.cli` adds them to its app)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from korona.surveillance.calendar import Frequency
from korona.surveillance.cli_common import (
    AFTER_RUN,
    DataDir,
    DetectorSettings,
    command_settings,
    console,
    domain_errors,
    progress_bar,
)
from korona.surveillance.detect.base import DetectionError, Method
from korona.surveillance.series import Status

if TYPE_CHECKING:
    from korona.surveillance.analysis import AnalysisSummary
    from korona.surveillance.detect import Detector
    from korona.surveillance.executors import RunExecutor

__all__ = ["Executor", "detect_command", "run_command"]


def _summary_table(title: str, rows: Sequence[AnalysisSummary]) -> Table:
    table = Table(title=title)
    for column in ("analysis", "series", "fits", "failed fits", *[s.value for s in Status]):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.label,
            f"{row.series:,}",
            f"{row.fits:,}",
            f"{row.failed_fits:,}",
            *[f"{row.signals.get(s, 0):,}" for s in Status],
        )
    return table


def _detector(method: Method, settings: Sequence[str]) -> Detector:
    """Build the method's detector from ``--set NAME=VALUE`` options."""
    from korona.surveillance.detect import DETECTORS, parameters_from_strings

    values: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DetectionError(f"--set takes NAME=VALUE, got {item!r}")
        values[name.strip()] = value.strip()
    return parameters_from_strings(DETECTORS[method], values)


def detect_command(
    method: Annotated[Method, typer.Option("--method", help="Detection method.")],
    input_path: Annotated[
        Path, typer.Option("--input", help="CSV with series,week,n,denominator.")
    ],
    output_path: Annotated[Path, typer.Option("--output", help="Result CSV to write.")],
    frequency: Annotated[
        Frequency, typer.Option("--frequency", help="weekly (week column) or daily (date).")
    ] = Frequency.WEEKLY,
    settings: DetectorSettings = None,
) -> None:
    """Detect outbreaks in count series from a CSV file and write one row per point."""
    from korona.surveillance.analysis import AnalysisSummary
    from korona.surveillance.detect_csv import read_detect_csv, result_frame, write_result_csv

    with domain_errors():
        detector = _detector(method, settings or [])  # fails before reading the input
        series = read_detect_csv(input_path, frequency)
        detection = detector.detect(series)
        write_result_csv(result_frame(detection, method), output_path)
    summary = AnalysisSummary(
        str(frequency),
        series.n_series,
        detection.fits,
        detection.failed_fits,
        detection.signals(),
    )
    console.print(_summary_table(f"{method} on {input_path.name}", [summary]))
    console.print(f"Wrote {output_path}")


_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


def _parse_years(text: str) -> list[int]:
    """Parse ``2015-2020`` or ``2020`` into a list of years."""
    match = _YEARS.match(text)
    if match is None:
        raise DetectionError(f"--years takes YEAR or FIRST-LAST, e.g. 2015-2020 (got {text!r})")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if last < first:
        raise DetectionError(f"--years range runs backwards: {text!r}")
    return list(range(first, last + 1))


class Executor(StrEnum):
    """Where ``run`` detects: here, or on a dask.distributed cluster."""

    LOCAL = "local"
    DASK = "dask"


def _executor(kind: Executor, scheduler: str | None, timeout: float) -> RunExecutor:
    """Return the executor the options ask for (ExecutorError: a one-line message, exit 2)."""
    from korona.surveillance.executors import DaskExecutor, ExecutorError, LocalExecutor

    if kind is Executor.LOCAL:
        if scheduler is not None:
            raise ExecutorError("--scheduler is only used with --executor dask")
        return LocalExecutor()
    if not scheduler:
        raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    return DaskExecutor(scheduler, timeout_seconds=timeout)


def run_command(
    data_dir: DataDir = None,
    method: Annotated[
        Method, typer.Option("--method", help="Detection method.")
    ] = Method.SYKDOMSPULSEN,
    years: Annotated[
        str, typer.Option("--years", help="Prediction years, e.g. 2015-2020.")
    ] = "2015-2020",
    settings: DetectorSettings = None,
    executor: Annotated[
        Executor,
        typer.Option("--executor", help="Detect in this process, or on a Dask cluster."),
    ] = Executor.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="The Dask scheduler's address (tcp://HOST:8786), with --executor dask.",
            show_default=False,
        ),
    ] = None,
    connect_timeout: Annotated[
        float,
        typer.Option("--connect-timeout", min=0.1, help="Seconds to wait for the scheduler."),
    ] = 30.0,
) -> None:
    """Analyse every series in the store and replace the results of the given years."""
    from korona.surveillance.analysis import run_store
    from korona.surveillance.store import SurveillanceStore

    with domain_errors():
        year_list = _parse_years(years)
        detector = _detector(method, settings or [])
        runner = _executor(executor, scheduler, connect_timeout)
        settings_used = command_settings(data_dir)
        store = SurveillanceStore(settings_used.surveillance_dir)
        with progress_bar(counts=False) as progress:
            task = progress.add_task("Analysing", total=None)
            summary = run_store(
                store,
                detector,
                year_list,
                step=lambda text: progress.update(task, description=text),
                executor=runner,
            )
    console.print(
        _summary_table(
            f"{summary.method} {min(summary.years)}–{max(summary.years)} ({summary.seconds:.1f} s)",
            summary.analyses,
        )
    )
    for hook in AFTER_RUN:
        hook(settings_used, summary)
