"""`korona portfolio …`: match text against the portfolio, import and export from the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from korona.console import CLI, console, err_console, fail, settings, transaction
from korona.portfolio import decisions_cli
from korona.portfolio.import_files import FILE, ImportEntity, RowError
from korona.portfolio.netlist_cli import app as netlist_app

app = typer.Typer(help="Koronaportefølje: matching, import and export.", no_args_is_help=True)
app.add_typer(netlist_app, name="netlist")
decisions_cli.register(app)


@app.command("match")
def match(
    text: Annotated[
        str | None, typer.Argument(help="The text to find similar entries for", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    category: Annotated[
        list[str] | None, typer.Option(help="A category code to favour (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many matches")] = 10,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help='JSON lines, one {"text": …, "categories": […]} per line: '
            "print one JSON line of matches per input line",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Print the solutions, needs and inputs most similar to TEXT (kind, id, title, score).

    The index is kept as a snapshot in the data directory and brought up to date from the
    database's change log, so a call does not rebuild it (see docs/matching.md).
    """
    # Imported here: only this command needs the matcher and its snapshot.
    from korona.portfolio.intake.schemas import MAX_MATCH_TEXT
    from korona.portfolio.matching.index import load_index, save_snapshot, snapshot_path

    if file is not None and category:
        fail("--category is for TEXT; give each line of --file its own categories", code=2)
    if file is not None and text is None:
        queries = _read_queries(file, MAX_MATCH_TEXT)
    elif file is None and text is not None:
        if len(text) > MAX_MATCH_TEXT:
            fail(
                f"TEXT is {len(text)} characters; the matcher takes at most {MAX_MATCH_TEXT}",
                code=2,
            )
        queries = [(text, category or [])]
    else:
        fail("give either TEXT or --file TEXTS.jsonl", code=2)
    config = settings()
    with transaction(config) as session:
        loaded = load_index(snapshot_path(config.data_dir), session=session)
        if loaded.changed:
            save_snapshot(snapshot_path(config.data_dir), loaded, session=session)
    if file is not None:
        for query, categories in queries:
            found = loaded.index.search(query, categories, limit=limit)
            typer.echo(json.dumps(_rows(found), ensure_ascii=False))
        return
    matches = loaded.index.search(queries[0][0], queries[0][1], limit=limit)
    if as_json:
        typer.echo(json.dumps(_rows(matches), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Top {limit} matches")
    for column in ("kind", "id", "title", "score"):
        table.add_column(column)
    for m in matches:
        table.add_row(m.kind.value, str(m.id), m.title, f"{m.score:.3f}")
    console.print(table)


def _rows(matches: list[Any]) -> list[dict[str, Any]]:
    return [{"kind": m.kind.value, "id": m.id, "title": m.title, "score": m.score} for m in matches]


def _bad_texts(message: str) -> NoReturn:
    """Say what is wrong with TEXTS.jsonl on one line (rich would wrap it) and exit 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def _read_queries(file: Path, longest: int) -> list[tuple[str, list[str]]]:
    """Read TEXTS.jsonl (texts of at most ``longest`` characters), or exit 2 naming the first
    bad line (before any database work)."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        _bad_texts(f"{file.name}: not UTF-8 text")
    except OSError as error:
        _bad_texts(f"cannot read {file.name}: {error.strerror or error}")
    queries: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            _bad_texts(f"{file.name}, line {number}: not JSON ({error.msg})")
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            _bad_texts(f'{file.name}, line {number}: expected an object with a "text" string')
        if len(item["text"]) > longest:
            _bad_texts(f"{file.name}, line {number}: the text is longer than {longest} characters")
        categories = item.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            _bad_texts(f'{file.name}, line {number}: "categories" must be a list of strings')
        queries.append((item["text"], categories))
    if not queries:
        _bad_texts(f"{file.name}: no texts to match")
    return queries


def _entity_from_name(path: Path) -> ImportEntity | None:
    stem = path.stem.lower()
    for entity in ImportEntity:
        if entity.value in stem:
            return entity
    return None


@app.command("prune-match-log")
def prune_match_log(
    keep_days: Annotated[
        int, typer.Option(min=1, max=3650, help="Keep the changes of this many recent days")
    ] = 30,
) -> None:
    """Delete old rows of the match change log (schedulable; servers rebuild their index once)."""
    from datetime import timedelta

    from korona.db import utcnow
    from korona.portfolio.matching import changes

    with transaction(settings()) as session:
        removed = changes.prune(session=session, before=utcnow() - timedelta(days=keep_days))
    console.print(f"Removed {removed} match log rows older than {keep_days} days.")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    entity: Annotated[
        ImportEntity | None,
        typer.Option(help="What the file holds (default: from the file name)"),
    ] = None,
    receipts: Annotated[
        bool, typer.Option(help="Send receipts to the submitters of imported inputs")
    ] = True,
) -> None:
    """Import organisations, solutions, needs or inputs from CSV, XLSX or JSON (all or nothing)."""
    from korona.portfolio import importer
    from korona.portfolio.intake import service as intake

    chosen = entity or _entity_from_name(file)
    if chosen is None:
        fail(
            f"say what the file holds with --entity ({', '.join(e.value for e in ImportEntity)})",
            code=2,
        )
    if file.stat().st_size > importer.MAX_FILE_BYTES:
        fail(f"nothing imported: {file.name} is larger than {importer.MAX_FILE_BYTES // 2**20} MB")
    config = settings()
    try:
        with transaction(config) as session:
            report = importer.import_file(
                CLI,
                chosen,
                file.name,
                file.read_bytes(),
                session=session,
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


def _print_errors(file: Path, errors: list[RowError]) -> None:
    """Print why nothing was imported: one line for a bad file, else one line per error."""
    name = escape(file.name)
    if len(errors) == 1 and errors[0].row == FILE:
        message = f"[bold red]Error:[/] nothing imported: {name}: {escape(errors[0].text)}"
        err_console.print(message)
        return
    noun = "error" if len(errors) == 1 else "errors"
    err_console.print(f"[bold red]Nothing imported:[/] {len(errors)} {noun} in {name}")
    for error in errors:
        where = "file" if error.row == FILE else f"row {error.row}"
        line = f"  {where}, {error.column}: {error.text}"
        err_console.print(line, markup=False, highlight=False)


@app.command("export")
def export_inputs(
    file: Annotated[Path, typer.Argument(help="Where to write: a .csv or .xlsx file")],
) -> None:
    """Write every input with its status and links to a CSV or XLSX file."""
    from korona import tabular
    from korona.portfolio.intake import service as intake

    config = settings()
    suffix = file.suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        fail("the file must end in .csv or .xlsx", code=2)
    if not file.parent.is_dir():
        fail(f"the folder {file.parent} does not exist", code=2)
    with transaction(config) as session:
        items = intake.list_inputs(session=session)
        rows = intake.export_rows(items, config.base_url)
    # The console export is for scripts: codes and UTC times (the web offers people's format).
    cells = [[tabular.machine_cell(value) for value in row] for row in rows]
    body = (
        tabular.to_csv(intake.EXPORT_COLUMNS, cells)
        if suffix == ".csv"
        else tabular.to_xlsx(intake.EXPORT_COLUMNS, cells, sheet="innspill")
    )
    try:
        file.write_bytes(body)
    except OSError as error:  # a folder, no permission, a full disk
        fail(f"cannot write {file}: {error.strerror or error}")
    console.print(f"[green]Wrote {len(rows)} inputs to {escape(str(file))}[/]")
