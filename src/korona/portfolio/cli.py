"""`korona portfolio …`: match text against the portfolio, import and export from the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from korona import tabular
from korona.console import CLI, console, err_console, fail, settings, transaction
from korona.portfolio import importer
from korona.portfolio.intake import service as intake
from korona.portfolio.matching.index import build_index
from korona.portfolio.netlist_cli import app as netlist_app

app = typer.Typer(help="Koronaportefølje: matching, import and export.", no_args_is_help=True)
app.add_typer(netlist_app, name="netlist")


@app.command("match")
def match(
    text: Annotated[str, typer.Argument(help="The text to find similar entries for")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    category: Annotated[
        list[str] | None, typer.Option(help="A category code to favour (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many matches")] = 10,
) -> None:
    """Print the solutions, needs and inputs most similar to TEXT (kind, id, title, score)."""
    with transaction() as session:
        index = build_index(session)
    matches = index.search(text, category or [], limit=limit)
    if as_json:
        rows = [
            {"kind": m.kind.value, "id": m.id, "title": m.title, "score": m.score} for m in matches
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Top {limit} matches")
    for column in ("kind", "id", "title", "score"):
        table.add_column(column)
    for m in matches:
        table.add_row(m.kind.value, str(m.id), m.title, f"{m.score:.3f}")
    console.print(table)


def _entity_from_name(path: Path) -> importer.ImportEntity | None:
    stem = path.stem.lower()
    for entity in importer.ImportEntity:
        if entity.value in stem:
            return entity
    return None


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    entity: Annotated[
        importer.ImportEntity | None,
        typer.Option(help="What the file holds (default: from the file name)"),
    ] = None,
    receipts: Annotated[
        bool, typer.Option(help="Send receipts to the submitters of imported inputs")
    ] = True,
) -> None:
    """Import organisations, solutions, needs or inputs from CSV, XLSX or JSON (all or nothing)."""
    chosen = entity or _entity_from_name(file)
    if chosen is None:
        fail(
            "say what the file holds with --entity "
            f"({', '.join(e.value for e in importer.ImportEntity)})",
            code=2,
        )
    if file.stat().st_size > importer.MAX_FILE_BYTES:
        fail(f"nothing imported: {file.name} is larger than {importer.MAX_FILE_BYTES // 2**20} MB")
    config = settings()
    try:
        with transaction(config) as session:
            report = importer.import_file(
                session,
                CLI,
                chosen,
                file.name,
                file.read_bytes(),
                links=intake.status_links(config),
                send_receipts=receipts,
            )
    except importer.ImportRejected as rejected:
        _print_errors(file, rejected.report.errors)
        raise typer.Exit(1) from None
    console.print(
        f"[green]Imported {report.rows} {chosen.value}:[/] {report.created} new, "
        f"{report.updated} changed, {report.unchanged} unchanged."
    )


def _print_errors(file: Path, errors: list[importer.RowError]) -> None:
    """Print why nothing was imported: one line for a bad file, else one line per error."""
    name = escape(file.name)
    if len(errors) == 1 and errors[0].row == importer.FILE:
        message = f"[bold red]Error:[/] nothing imported: {name}: {escape(errors[0].text)}"
        err_console.print(message, soft_wrap=True)
        return
    noun = "error" if len(errors) == 1 else "errors"
    err_console.print(f"[bold red]Nothing imported:[/] {len(errors)} {noun} in {name}")
    for error in errors:
        where = "file" if error.row == importer.FILE else f"row {error.row}"
        line = f"  {where}, {error.column}: {error.text}"
        err_console.print(line, soft_wrap=True, markup=False, highlight=False)


@app.command("export")
def export_inputs(
    file: Annotated[Path, typer.Argument(help="Where to write: a .csv or .xlsx file")],
) -> None:
    """Write every input with its status and links to a CSV or XLSX file."""
    config = settings()
    suffix = file.suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        fail("the file must end in .csv or .xlsx", code=2)
    with transaction(config) as session:
        items = intake.list_inputs(session)
        rows = intake.export_rows(items, config.base_url)
    body = (
        tabular.to_csv(intake.EXPORT_COLUMNS, rows)
        if suffix == ".csv"
        else tabular.to_xlsx(intake.EXPORT_COLUMNS, rows, sheet="innspill")
    )
    file.write_bytes(body)
    console.print(f"[green]Wrote {len(rows)} inputs to {file}[/]")
