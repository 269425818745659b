"""Outside data feeds (KUHR, MSIS, lab) and the KUHR simulator, each turned into store frames."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

__all__ = ["BAD_ROW_SCHEMA", "IngestError", "IngestReport", "SourceKind"]

BAD_ROW_SCHEMA = {"line": pl.Int64, "reason": pl.String}


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
