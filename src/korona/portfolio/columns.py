"""Column declarations the portfolio's tables share: the key to an owning row, a UTC timestamp."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import mapped_column

from korona.db import UTCDateTime, utcnow


def owner_key(target: str) -> Any:
    """Return the indexed foreign key to the row that owns this one (deleted with it)."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), index=True)


def timestamp_column() -> Any:
    """Return a UTC-aware timestamp column that defaults to the time the row is written."""
    return mapped_column(UTCDateTime(), default=utcnow)
