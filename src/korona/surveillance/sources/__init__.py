"""Outside data feeds (KUHR, MSIS, lab) and the KUHR simulator, each turned into store frames."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

__all__ = [
    "BAD_ROW_SCHEMA",
    "MAX_BAD_SHARE",
    "IngestError",
    "IngestReport",
    "SourceKind",
    "check_rows",
    "readable_file",
    "refuse_mostly_bad",
    "refuse_repeated_keys",
]

BAD_ROW_SCHEMA = {"line": pl.Int64, "reason": pl.String}
# A file where more than this share of rows is bad is rejected as a whole: it is more likely
# the wrong file or a broken export than a few bad records.
MAX_BAD_SHARE = 0.5


class IngestError(Exception):
    """A file failed validation as a whole (columns, encoding, layout); nothing was stored."""


class SourceKind(StrEnum):
    """Kinds of file the ingest command understands."""

    KUHR = "kuhr"
    MSIS = "msis"
    LAB = "lab"


@dataclass
class IngestReport:
    """What one ingest did: rows read, accepted, dropped and rejected (with line and reason)."""

    source: SourceKind
    path: Path
    rows_read: int = 0
    rows_accepted: int = 0
    rows_dropped: int = 0
    bad_rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=BAD_ROW_SCHEMA))
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    stored_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        """Return the number of bad rows."""
        return self.bad_rows.height

    def reasons(self) -> dict[str, int]:
        """Return bad-row counts per reason, most common first."""
        counts = self.bad_rows.group_by("reason").len().sort("len", descending=True)
        return dict(zip(counts["reason"], counts["len"], strict=True))


def readable_file(path: Path) -> Path:
    """Return ``path`` if it is a readable file; raise IngestError (one line) otherwise."""
    path = Path(path)
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    if not path.is_file():
        raise IngestError(f"{path} is not a file (a directory?); name the files to ingest")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise IngestError(f"cannot read {path}: {error.strerror or error}") from None
    return path


def refuse_mostly_bad(path: Path, bad_rows: pl.DataFrame, rows: int) -> None:
    """Raise IngestError when more than :data:`MAX_BAD_SHARE` of a file's rows are bad."""
    if rows and bad_rows.height > MAX_BAD_SHARE * rows:
        top = ", ".join(
            f"{reason} ({n})"
            for reason, n in bad_rows.group_by("reason")
            .len()
            .sort("len", descending=True)
            .iter_rows()
        )
        raise IngestError(
            f"{path.name}: {bad_rows.height} of {rows} rows are bad ({top}); nothing was stored"
        )


def refuse_repeated_keys(path: Path, rows: pl.DataFrame, keys: list[str]) -> None:
    """Raise IngestError naming both lines when two rows of a file share a key.

    ``rows`` has a ``line`` column (the line number in the file) and the ``keys`` columns.
    Summing or keeping either row would silently change a count, so the file is refused.
    """
    repeated = (
        rows.filter(pl.struct(keys).is_duplicated())
        .sort("line")
        .group_by(keys, maintain_order=True)
        .agg(pl.col("line").head(2))
    )
    if repeated.height:
        first = repeated.row(0, named=True)
        key = ", ".join(f"{k} {first[k]}" for k in keys)
        lines = first["line"]
        raise IngestError(
            f"{path.name}: lines {lines[0]} and {lines[1]} both give {key}; each key may appear "
            f"once in a file ({repeated.height} keys repeated)"
        )


def check_rows(
    path: Path, parsed: pl.DataFrame, reason: pl.Expr, keys: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a file's parsed rows into good ones and bad ones (line, reason).

    ``reason`` is null for a good row. Raises IngestError when most rows are bad
    (:func:`refuse_mostly_bad`) or when two good rows share ``keys``
    (:func:`refuse_repeated_keys`).
    """
    checked = parsed.with_columns(reason.alias("reason"))
    bad = checked.filter(pl.col("reason").is_not_null()).select("line", "reason")
    refuse_mostly_bad(path, bad, parsed.height)
    good = checked.filter(pl.col("reason").is_null())
    refuse_repeated_keys(path, good, keys)
    return good, bad
