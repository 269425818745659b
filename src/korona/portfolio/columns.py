"""Column declarations the portfolio's tables share: owning key, UTC timestamp, template text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from korona.db import UTCDateTime, utcnow


def owner_key(target: str) -> Any:
    """Return the indexed foreign key to the row that owns this one (deleted with it)."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"), index=True)


def timestamp_column() -> Any:
    """Return a UTC-aware timestamp column that defaults to the time the row is written."""
    return mapped_column(UTCDateTime(), default=utcnow)


class TemplateText:
    """The columns of an editable letter template after its id and kind: language and text.

    A mixin: its columns follow the ones the table declares itself, so the schema is unchanged.
    """

    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = timestamp_column()
