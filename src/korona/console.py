"""What every database-backed CLI command shares: settings, one transaction, clear errors.

Imports of the database layer and settings wait until a command needs them, so that
`korona --help` and commands without a database start at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from korona.auth.permissions import Principal
from korona.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from korona.config import Settings

console = Console()
#: Errors print unwrapped: a message stays one line (for logs and grep) however long its
#: path; the terminal wraps it for the eye.
err_console = Console(stderr=True, soft_wrap=True)


#: Who the audit log names for changes made from the console.
CLI = Principal(email="korona-cli")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error in red and exit non-zero.

    The message is printed as it is, not read as Rich markup: it often repeats what was typed
    (an e-mail, a file name), and a "[/b]" in that made Rich raise MarkupError.
    """
    err_console.print(f"[bold red]Error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings() -> Settings:
    """Return settings from the environment, or exit with the reason they are invalid."""
    from pydantic import ValidationError

    from korona.config import Settings

    try:
        return Settings()
    except ValidationError as error:
        messages = "; ".join(str(item["msg"]) for item in error.errors())
        fail(f"Invalid configuration: {messages}")


def require_database(config: Settings) -> None:
    """Exit with the reason unless the database is migrated to this code's schema (for a
    command that opens the database its own way; :func:`transaction` checks by itself)."""
    from korona.bootstrap import check_database

    try:
        check_database(config)
    except DomainError as error:
        fail(error.text)


@contextmanager
def transaction(config: Settings | None = None) -> Iterator[Session]:
    """Run one command as one unit of work; domain errors become a clear message and exit 1."""
    from korona import bootstrap

    config = config or settings()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with bootstrap.transaction(config) as session:
            yield session
    except DomainError as error:
        fail(error.text)
