"""What the surveillance commands share: consoles, option types, settings, error handling,
progress bars and the after-``run`` hooks. Imported by :mod:`korona.surveillance.cli` and
:mod:`korona.surveillance.cli_detect`, so neither imports the other's helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from korona.config import Settings
from korona.surveillance.detect.base import DetectionError
from korona.surveillance.detect_csv import CsvInputError
from korona.surveillance.geo import GeographyError
from korona.surveillance.series import SeriesSetError
from korona.surveillance.sources import IngestError
from korona.surveillance.store import StoreError

if TYPE_CHECKING:
    from korona.surveillance.analysis import RunSummary

console = Console()
#: Unwrapped, as ``korona.console.err_console``: one error, one line.
error_console = Console(stderr=True, soft_wrap=True)
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


def command_settings(data_dir: Path | None = None, reference_dir: Path | None = None) -> Settings:
    """Build the settings once for this command; the options override their variables."""
    overrides: dict[str, Any] = {"data_dir": data_dir, "reference_dir": reference_dir}
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise StoreError(f"bad KORONA_* setting: {error.errors()[0]['msg']}") from None


def print_error(message: str) -> None:
    """Print one red English error line on stderr.

    The message is escaped, not read as Rich markup: it repeats file names and values from the
    files, and a "[/b]" in those made Rich raise MarkupError.
    """
    error_console.print(f"[red]Error:[/red] {escape(message)}")


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn domain and file errors into one red English line and exit 2, never a traceback."""
    try:
        yield
    except _DOMAIN_ERRORS as error:
        print_error(str(error))
        raise typer.Exit(EXIT_FAILED) from None
    except OSError as error:
        print_error(f"{error.strerror or error}: {error.filename}")
        raise typer.Exit(EXIT_FAILED) from None


def progress_bar(*, counts: bool = True) -> Progress:
    """A transient progress bar on :data:`console` (with done/total when ``counts``)."""
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    if counts:
        columns.append(TextColumn("{task.completed}/{task.total}"))
    return Progress(*columns, TimeElapsedColumn(), console=console, transient=True)
