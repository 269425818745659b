"""Command line for surveillance: simulate, ingest, status, repair (wiring only).

``detect`` and ``run`` are in :mod:`korona.surveillance.cli_detect`, which adds them to
:data:`app` when this module is imported. The analysis modules are imported by the commands
that use them, so ``korona surveillance --help`` stays quick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from korona.config import Settings
from korona.surveillance.detect.base import DetectionError
from korona.surveillance.detect_csv import CsvInputError
from korona.surveillance.geo import GeographyError
from korona.surveillance.series import SeriesSetError
from korona.surveillance.sources import IngestError, IngestReport, SourceKind
from korona.surveillance.sources.simulator import OutputFormat
from korona.surveillance.store import StoreError, SurveillanceStore, write_atomically

if TYPE_CHECKING:
    from korona.surveillance.analysis import RunSummary

__all__ = ["AFTER_RUN", "app"]

app = typer.Typer(
    help="Sykdomspulsen: simulate KUHR consultations, ingest KUHR/MSIS/lab files, show and "
    "repair the store, detect outbreaks in a CSV file or in the whole store.",
    no_args_is_help=True,
)
console = Console()
error_console = Console(stderr=True)
#: Called after every successful `run` with its settings and summary. The root CLI adds the
#: alert e-mails here (korona.surveillance_mail.cli), so this package needs no database code.
AFTER_RUN: list[Callable[[Settings, RunSummary], None]] = []

EXIT_ROWS_REJECTED = 1
EXIT_FAILED = 2
_DOMAIN_ERRORS = (
    IngestError,
    GeographyError,
    StoreError,
    CsvInputError,
    DetectionError,
    SeriesSetError,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory; the store is <dir>/surveillance (default: $KORONA_DATA_DIR, ./var).",
        show_default=False,
    ),
]
ReferenceDir = Annotated[
    Path | None,
    typer.Option(
        "--reference-dir",
        help="Public reference data (default: $KORONA_REFERENCE_DIR or <repo>/../shared/data).",
        show_default=False,
    ),
]
DetectorSettings = Annotated[
    list[str] | None,
    typer.Option("--set", help="Detector parameter NAME=VALUE (repeatable), e.g. years_back=4."),
]


def _settings(data_dir: Path | None = None, reference_dir: Path | None = None) -> Settings:
    """Build the settings once for this command; the options override their variables."""
    overrides: dict[str, Any] = {"data_dir": data_dir, "reference_dir": reference_dir}
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise StoreError(f"bad KORONA_* setting: {error.errors()[0]['msg']}") from None


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Turn domain and file errors into one red English line and exit 2, never a traceback."""
    try:
        yield
    except _DOMAIN_ERRORS as error:
        error_console.print(f"[red]Error:[/red] {error}")
        raise typer.Exit(EXIT_FAILED) from None
    except OSError as error:
        error_console.print(f"[red]Error:[/red] {error.strerror or error}: {error.filename}")
        raise typer.Exit(EXIT_FAILED) from None


def _progress(*, counts: bool = True) -> Progress:
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    if counts:
        columns.append(TextColumn("{task.completed}/{task.total}"))
    return Progress(*columns, TimeElapsedColumn(), console=console, transient=True)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the simulated files.")],
    years: Annotated[int, typer.Option("--years", min=1, max=50, help="Years to simulate.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 1,
    start_year: Annotated[int, typer.Option("--start-year")] = 2015,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.PARQUET,
    scale: Annotated[
        float, typer.Option("--scale", min=0.0001, max=1.0, help="Share of national volume.")
    ] = 1.0,
    reference_dir: ReferenceDir = None,
) -> None:
    """Write simulated KUHR records (one file per year) and outbreaks.csv (ground truth)."""
    with _domain_errors():
        from korona.surveillance.geo import load_geography
        from korona.surveillance.sources.simulator import SimulationParameters, simulate_kuhr

        geography = load_geography(_settings(reference_dir=reference_dir).reference_dir)
        started = time.perf_counter()
        with _progress() as progress:
            task = progress.add_task("Simulating", total=years)
            result = simulate_kuhr(
                geography,
                out,
                years=years,
                seed=seed,
                start_year=start_year,
                output_format=output_format,
                params=SimulationParameters(scale=scale),
                progress=lambda _year: progress.advance(task),
            )
    table = Table(title="Simulated KUHR records")
    for column in ("files", "rows", "consultations", "outbreaks", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(result.files)),
        f"{result.rows:,}",
        f"{result.consultations:,}",
        str(result.outbreaks),
        f"{time.perf_counter() - started:.1f}",
    )
    console.print(table)
    console.print(f"Files in {out}; ground truth in {result.ground_truth}")


@dataclass(frozen=True)
class _Outcome:
    path: Path
    report: IngestReport | None
    error: str
    seconds: float


def _ingest_table(outcomes: Sequence[_Outcome]) -> Table:
    table = Table(title="Ingest report")
    table.add_column("file", overflow="fold")
    for column in ("kind", "rows", "stored", "rejected", "dropped"):
        table.add_column(column, justify="right")
    table.add_column("period", min_width=10)
    table.add_column("seconds", justify="right")
    for outcome in outcomes:
        path, report, seconds = outcome.path, outcome.report, outcome.seconds
        if report is None:
            table.add_row(path.name, "-", "-", "-", "-", "-", "[red]failed[/red]", f"{seconds:.1f}")
            continue
        period = f"{report.first_date}\n{report.last_date}" if report.first_date else "-"
        table.add_row(
            path.name,
            report.source.value,
            f"{report.rows_read:,}",
            f"{report.rows_accepted:,}",
            f"{report.rows_rejected:,}",
            f"{report.rows_dropped:,}",
            period,
            f"{seconds:.1f}",
        )
    return table


def _report_rejected(report: IngestReport, store_root: Path) -> None:
    """List a file's rejected rows and write all of them beside the store."""
    saved = store_root / "ingest_reports" / f"{report.path.stem}.bad_rows.csv"
    write_atomically(saved, report.bad_rows.write_csv)
    reasons = ", ".join(f"{reason}: {n}" for reason, n in report.reasons().items())
    error_console.print(
        f"[yellow]{report.path.name}: {report.rows_rejected} rows rejected ({reasons}).[/yellow]"
    )
    for line, reason in report.bad_rows.head(10).iter_rows():
        error_console.print(f"  line {line}: {reason}")
    error_console.print(f"  all rejected rows: {saved}")


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="KUHR (CSV/Parquet), MSIS or lab files.")],
    kind: Annotated[
        SourceKind | None, typer.Option("--kind", help="Expected kind (default: from columns).")
    ] = None,
    syndromes: Annotated[
        Path | None, typer.Option("--syndromes", help="Syndrome definitions CSV (KUHR).")
    ] = None,
    data_dir: DataDir = None,
    reference_dir: ReferenceDir = None,
) -> None:
    """Ingest files into the store, each file one commit; a file failing changes nothing.

    Exit code 0: all rows stored; 1: some rows rejected (see the report); 2: a file failed.
    """
    from korona.surveillance.sources.ingest import ingest_file

    with _domain_errors():
        settings = _settings(data_dir, reference_dir)
    store = SurveillanceStore(settings.surveillance_dir)
    outcomes: list[_Outcome] = []
    with _progress() as progress:
        task = progress.add_task("Ingesting", total=len(files))
        for path in files:
            progress.update(task, description=f"Ingesting {path.name}")
            started = time.perf_counter()
            try:
                done = ingest_file(path, store, settings.reference_dir, kind, syndromes)
                outcomes.append(_Outcome(path, done, "", time.perf_counter() - started))
            except (IngestError, GeographyError, StoreError) as error:
                outcomes.append(_Outcome(path, None, str(error), time.perf_counter() - started))
            progress.advance(task)
    console.print(_ingest_table(outcomes))
    exit_code = 0
    for outcome in outcomes:
        if outcome.report is None:
            error_console.print(f"[red]Error:[/red] {outcome.error}")
            exit_code = EXIT_FAILED
            continue
        for note in outcome.report.notes:
            console.print(f"{outcome.path.name}: {note}")
        if outcome.report.rows_rejected:
            exit_code = max(exit_code, EXIT_ROWS_REJECTED)
            _report_rejected(outcome.report, store.root)
    raise typer.Exit(exit_code)


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Show what the store holds; exit 2 with what to do when the store is inconsistent."""
    with _domain_errors():
        store_status = SurveillanceStore(_settings(data_dir).surveillance_dir).status()
    if store_status.problems:
        for problem in store_status.problems:
            error_console.print(f"[red]Error:[/red] {problem}.")
        error_console.print(
            "Run `korona surveillance repair` to bring it back, or delete the folder and "
            "ingest the source files again."
        )
        raise typer.Exit(EXIT_FAILED)
    table = Table(
        title=f"Surveillance store {store_status.root} (commit {store_status.generation})"
    )
    # Dates and table names must stay whole even in an 80-column terminal.
    widths = {"first": 10, "last": 10, "table": len("consultations")}
    for column in ("table", "frequency", "rows", "locations", "first", "last", "last write (UTC)"):
        table.add_column(column, min_width=widths.get(column), overflow="fold")
    for row in store_status.tables:
        table.add_row(
            row.table,
            row.frequency,
            f"{row.rows:,}",
            str(row.locations),
            str(row.first_date or "-"),
            str(row.last_date or "-"),
            row.last_ingest_at.strftime("%Y-%m-%d %H:%M:%S") if row.last_ingest_at else "-",
        )
    console.print(table)
    for note in store_status.notes:
        console.print(f"Note: {note}.")


@app.command()
def repair(data_dir: DataDir = None) -> None:
    """Make an inconsistent store readable again (adopt an old layout, drop leftover files)."""
    with _domain_errors():
        done = SurveillanceStore(_settings(data_dir).surveillance_dir).repair()
    console.print("\n".join(done) if done else "Nothing to repair.")


# The analysis commands join the app (imported last: they use the helpers above).
from korona.surveillance import cli_detect  # noqa: E402, F401
