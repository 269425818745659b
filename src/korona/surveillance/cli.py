"""Command line for surveillance: simulate, ingest, status, repair (wiring only).

``detect`` and ``run`` are written in :mod:`korona.surveillance.cli_detect` and added to
:data:`app` at the end of this module; the helpers both use are in
:mod:`korona.surveillance.cli_common`. The analysis modules are imported by the commands
that use them, so ``korona surveillance --help`` stays quick.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from korona.surveillance.cli_common import (
    AFTER_RUN,
    EXIT_FAILED,
    EXIT_ROWS_REJECTED,
    DataDir,
    ReferenceDir,
    command_settings,
    console,
    domain_errors,
    error_console,
    print_error,
    progress_bar,
)
from korona.surveillance.cli_detect import detect_command, run_command
from korona.surveillance.geo import GeographyError
from korona.surveillance.sources import IngestError, IngestReport, SourceKind
from korona.surveillance.sources.simulator import OutputFormat
from korona.surveillance.store import StoreError, SurveillanceStore, write_atomically

__all__ = ["AFTER_RUN", "app"]

app = typer.Typer(
    help="Sykdomspulsen: simulate KUHR consultations, ingest KUHR/MSIS/lab files, show and "
    "repair the store, detect outbreaks in a CSV file or in the whole store.",
    no_args_is_help=True,
)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the simulated files.")],
    years: Annotated[int, typer.Option("--years", min=1, max=50, help="Years to simulate.")] = 1,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed, 0 or more (same seed, same files).")
    ] = 1,
    start_year: Annotated[
        int, typer.Option("--start-year", min=1900, max=2100, help="First year to simulate.")
    ] = 2015,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.PARQUET,
    scale: Annotated[
        float, typer.Option("--scale", min=0.0001, max=1.0, help="Share of national volume.")
    ] = 1.0,
    reference_dir: ReferenceDir = None,
) -> None:
    """Write simulated KUHR records (one file per year) and outbreaks.csv (ground truth)."""
    with domain_errors():
        from korona.surveillance.geo import load_geography
        from korona.surveillance.sources.simulator import SimulationParameters, simulate_kuhr

        geography = load_geography(command_settings(reference_dir=reference_dir).reference_dir)
        started = time.perf_counter()
        with progress_bar() as progress:
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
    console.print(f"Files in {out}; ground truth in {result.ground_truth}", markup=False)


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
    # File names and the rows' reasons (which quote the file) are escaped, not read as markup.
    error_console.print(
        f"[yellow]{escape(report.path.name)}: {report.rows_rejected} rows rejected "
        f"({escape(reasons)}).[/yellow]"
    )
    for line, reason in report.bad_rows.head(10).iter_rows():
        error_console.print(f"  line {line}: {reason}", markup=False, highlight=False)
    error_console.print(f"  all rejected rows: {saved}", markup=False, highlight=False)


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

    with domain_errors():
        settings = command_settings(data_dir, reference_dir)
    store = SurveillanceStore(settings.surveillance_dir)
    outcomes: list[_Outcome] = []
    with progress_bar() as progress:
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
            print_error(outcome.error)
            exit_code = EXIT_FAILED
            continue
        for note in outcome.report.notes:
            console.print(f"{outcome.path.name}: {note}", markup=False, highlight=False)
        if outcome.report.rows_rejected:
            exit_code = max(exit_code, EXIT_ROWS_REJECTED)
            _report_rejected(outcome.report, store.root)
    raise typer.Exit(exit_code)


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Show what the store holds; exit 2 with what to do when the store is inconsistent."""
    with domain_errors():
        store_status = SurveillanceStore(command_settings(data_dir).surveillance_dir).status()
    if store_status.problems:
        for problem in store_status.problems:
            print_error(f"{problem}.")
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
    with domain_errors():
        done = SurveillanceStore(command_settings(data_dir).surveillance_dir).repair()
    console.print("\n".join(done) if done else "Nothing to repair.")


# The analysis commands, after the store commands in --help.
app.command("detect")(detect_command)
app.command("run")(run_command)
