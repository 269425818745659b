"""`korona surveillance send-reports`, and alerts after `korona surveillance run` (wiring only).

These commands join the `surveillance` group when the root CLI loads it (``korona/cli.py``):
they need the database, and ``korona.surveillance`` itself imports no ORM. This module imports
nothing heavy at load time, so `korona surveillance --help` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from korona.console import console, err_console, fail, require_database, settings

if TYPE_CHECKING:
    from korona.config import Settings
    from korona.surveillance.analysis import RunSummary

app = typer.Typer(no_args_is_help=True)


def _week(value: str) -> str:
    from korona.surveillance.calendar import parse_iso_week

    try:
        year, week = parse_iso_week(value.strip())
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return f"{year:04d}-W{week:02d}"


@app.command("send-reports")
def send_reports(
    week: Annotated[
        str, typer.Option("--week", help="ISO week of the report, e.g. 2020-W20.", callback=_week)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the HTML and PDF files; queue nothing.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for --dry-run's files.", file_okay=False)
    ] = None,
) -> None:
    """Queue every subscriber's weekly report (Ukentlig oversikt) for WEEK in the outbox.

    Idempotent: a second run for the same week queues nothing twice. The mail worker
    (`korona serve` or `korona mail work`) delivers; undeliverable mail stays queued.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table
    from sqlalchemy.exc import SQLAlchemyError

    from korona.bootstrap import bootstrap
    from korona.surveillance.geo import GeographyError
    from korona.surveillance.store import StoreError
    from korona.surveillance_mail.sending import send_reports as send

    if dry_run != (out is not None):
        fail("--dry-run and --out DIR go together: --dry-run --out DIR writes the files.")
    config = settings()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    require_database(config)
    runtime = bootstrap(config)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"Reports {week}", total=None)
            summary = send(
                runtime,
                week,
                out=out,
                started=lambda total: progress.update(task, total=total),
                advance=lambda: progress.advance(task),
            )
    except (StoreError, GeographyError, OSError) as error:
        fail(f"Cannot build the reports: {error}")
    except SQLAlchemyError as error:
        fail(f"Database error (is it migrated? korona db upgrade): {error.__class__.__name__}")
    finally:
        runtime.close()
    table = Table(title=f"Weekly reports {week}")
    for column in ("subscribers", "queued now", "queued before", "files written", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.subscribers),
        str(summary.queued),
        str(summary.already_queued),
        str(len(summary.written)),
        f"{summary.seconds:.1f}",
    )
    console.print(table)
    if out is not None:
        console.print(f"Files in {out}", markup=False)


def alerts_after_run(config: Settings, summary: RunSummary) -> None:
    """Queue the alert e-mails for the high signals the run found (one per subscriber)."""
    from sqlalchemy.exc import SQLAlchemyError

    from korona.bootstrap import bootstrap
    from korona.surveillance_mail.sending import queue_alerts

    runtime = bootstrap(config)
    try:
        result = queue_alerts(runtime, summary.method.value)
    except SQLAlchemyError as error:
        err_console.print(
            f"The results are stored, but no alerts were queued: database error "
            f"({error.__class__.__name__}; is it migrated? korona db upgrade).",
            markup=False,
        )
        raise typer.Exit(1) from None
    finally:
        runtime.close()
    console.print(
        f"Alerts: {result.signals} high signals in the latest week; "
        f"{result.mails} e-mails queued with {result.told} new signals.",
        markup=False,
    )


def extend(surveillance_cli: ModuleType) -> None:
    """Hook the alerts into the surveillance group's `run` command."""
    hooks = surveillance_cli.AFTER_RUN
    if alerts_after_run not in hooks:
        hooks.append(alerts_after_run)
