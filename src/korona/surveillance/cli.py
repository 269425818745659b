"""Command line for surveillance data: simulate KUHR records, ingest files, show the store."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from korona.surveillance.geo import GeographyError, load_geography
from korona.surveillance.sources import IngestError, IngestReport, SourceKind
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.sources.simulator import (
    OutputFormat,
    SimulationParameters,
    simulate_kuhr,
)
from korona.surveillance.store import StoreError, SurveillanceStore

__all__ = ["app", "default_reference_dir", "store_root"]

app = typer.Typer(
    help="Sykdomspulsen data: simulate KUHR consultations, ingest KUHR/MSIS/lab files, "
    "show what the store holds.",
    no_args_is_help=True,
)
console = Console()
error_console = Console(stderr=True)

EXIT_ROWS_REJECTED = 1
EXIT_FAILED = 2


def default_reference_dir() -> Path:
    """Return KORONA_REFERENCE_DIR, else ``../shared/data`` beside the repository root."""
    env = os.environ.get("KORONA_REFERENCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3].parent / "shared" / "data"


def store_root(data_dir: Path) -> Path:
    """Return the surveillance store root inside the data directory."""
    return data_dir / "surveillance"


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="KORONA_DATA_DIR",
        help="Data directory; the store is <dir>/surveillance.",
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


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Turn domain errors into a red English message and exit code 2, never a traceback."""
    try:
        yield
    except (IngestError, GeographyError, StoreError) as error:
        error_console.print(f"[red]Error:[/red] {error}")
        raise typer.Exit(EXIT_FAILED) from None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


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
        geography = load_geography(reference_dir or default_reference_dir())
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


def _write_bad_rows(report: IngestReport, data_dir: Path) -> Path | None:
    if not report.rows_rejected:
        return None
    folder = store_root(data_dir) / "ingest_reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report.path.stem}.bad_rows.csv"
    report.bad_rows.write_csv(path)
    return path


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="KUHR (CSV/Parquet), MSIS or lab files.")],
    kind: Annotated[
        SourceKind | None, typer.Option("--kind", help="Expected kind (default: from columns).")
    ] = None,
    syndromes: Annotated[
        Path | None, typer.Option("--syndromes", help="Syndrome definitions CSV (KUHR).")
    ] = None,
    data_dir: DataDir = Path("var"),
    reference_dir: ReferenceDir = None,
) -> None:
    """Ingest files into the store; a file failing as a whole changes nothing.

    Exit code 0: all rows stored; 1: some rows rejected (see the report); 2: a file failed.
    """
    store = SurveillanceStore(store_root(data_dir))
    reference = reference_dir or default_reference_dir()
    outcomes: list[_Outcome] = []
    with _progress() as progress:
        task = progress.add_task("Ingesting", total=len(files))
        for path in files:
            progress.update(task, description=f"Ingesting {path.name}")
            started = time.perf_counter()
            try:
                done = ingest_file(path, store, reference, kind, syndromes)
                outcomes.append(_Outcome(path, done, "", time.perf_counter() - started))
            except (IngestError, GeographyError, StoreError) as error:
                outcomes.append(_Outcome(path, None, str(error), time.perf_counter() - started))
            progress.advance(task)
    table = Table(title="Ingest report")
    table.add_column("file", overflow="fold")
    for column in ("kind", "rows", "stored", "rejected", "dropped"):
        table.add_column(column, justify="right")
    table.add_column("period", min_width=10)
    table.add_column("seconds", justify="right")
    exit_code = 0
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
    console.print(table)
    for outcome in outcomes:
        path, report = outcome.path, outcome.report
        if report is None:
            error_console.print(f"[red]Error:[/red] {outcome.error}")
            exit_code = EXIT_FAILED
            continue
        for note in report.notes:
            console.print(f"{path.name}: {note}")
        if report.rows_rejected:
            exit_code = max(exit_code, EXIT_ROWS_REJECTED)
            saved = _write_bad_rows(report, data_dir)
            reasons = ", ".join(f"{reason}: {n}" for reason, n in report.reasons().items())
            error_console.print(
                f"[yellow]{path.name}: {report.rows_rejected} rows rejected ({reasons}).[/yellow]"
            )
            for line, reason in report.bad_rows.head(10).iter_rows():
                error_console.print(f"  line {line}: {reason}")
            error_console.print(f"  all rejected rows: {saved}")
    raise typer.Exit(exit_code)


@app.command()
def status(data_dir: DataDir = Path("var")) -> None:
    """Show what the store holds: rows, locations, period and last write per table."""
    with _domain_errors():
        store_status = SurveillanceStore(store_root(data_dir)).status()
    table = Table(title=f"Surveillance store {store_status.root}")
    for column in ("table", "frequency", "rows", "locations", "first", "last", "last write (UTC)"):
        # Dates and table names must stay whole even in an 80-column terminal.
        widths = {"first": 10, "last": 10, "table": len("consultations")}
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
