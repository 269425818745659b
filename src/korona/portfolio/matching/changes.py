"""The match change log: which solutions, needs and inputs each commit changed, in commit order.

Every process's match index reads this log to stay the same as every other process's
(see ``docs/matching.md``). The rows are written in the same transaction as the change, by
listeners on every ORM :class:`~sqlalchemy.orm.Session`, so a rolled-back change leaves no row
and a committed one is never missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Integer, String, delete, event, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from korona.db import Base, UTCDateTime, utcnow
from korona.portfolio.intake.models import Input
from korona.portfolio.matching.documents import DocumentKind
from korona.portfolio.need.models import Need
from korona.portfolio.solution.models import Solution


class MatchChange(Base):
    """One solution, need or input that a commit added, changed or deleted."""

    __tablename__ = "match_change"
    # AUTOINCREMENT on SQLite: a sequence number is never reused, even after old rows are pruned.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - read once by SQLAlchemy

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


KIND_OF: dict[type, DocumentKind] = {
    Solution: DocumentKind.SOLUTION,
    Need: DocumentKind.NEED,
    Input: DocumentKind.INPUT,
}

_PENDING_KEY = "korona_match_changes"


def _collect(session: Session, _context: Any) -> None:
    """Remember the matchable entities of this flush (new, dirty and deleted are pre-flush)."""
    changed = {
        (KIND_OF[type(entity)], entity.id)
        for entity in chain(session.new, session.dirty, session.deleted)
        if type(entity) in KIND_OF
    }
    if changed:
        session.info.setdefault(_PENDING_KEY, set()).update(changed)


def note(entities: Iterable[object], *, session: Session) -> None:
    """Log these entities as changed by the session's transaction, as a flush of them would
    (for rows written with Core INSERTs, which no ORM flush sees: a bulk import)."""
    _collect_from(entities, session=session)


def _collect_from(entities: Iterable[object], *, session: Session) -> None:
    changed = {
        (KIND_OF[type(entity)], entity.id)  # type: ignore[attr-defined]
        for entity in entities
        if type(entity) in KIND_OF
    }
    if changed:
        session.info.setdefault(_PENDING_KEY, set()).update(changed)


def _write(session: Session) -> None:
    """Write the log rows just before the commit, inside its transaction."""
    if session.get_nested_transaction() is not None:
        return  # a savepoint is being released: the outer commit writes what it collected
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit's own flush runs after this hook: collect its changes now
    pending: set[tuple[DocumentKind, int]] = session.info.pop(_PENDING_KEY, set())
    if not pending:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Readers take "everything up to max(seq)" as seen, so a number must not become
        # visible before a smaller one: one writer at a time from here to the commit keeps
        # sequence order equal to commit order (SQLite already has a single writer).
        connection.execute(text("LOCK TABLE match_change IN SHARE ROW EXCLUSIVE MODE"))
    now = utcnow()
    connection.execute(
        insert(MatchChange),
        [
            {"kind": kind.value, "entity_id": id_, "changed_at": now}
            for kind, id_ in sorted(pending)
        ],
    )


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """Drop what a rolled-back transaction collected (a committed one has none left)."""
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def prune(*, session: Session, before: datetime) -> int:
    """Delete log rows written before ``before``, always keeping the newest; return how many.

    Safe at any time: a process whose last-applied row is gone rebuilds its index once.
    """
    newest = session.scalar(select(func.max(MatchChange.seq)))
    if newest is None:
        return 0
    result = session.execute(
        delete(MatchChange).where(MatchChange.changed_at < before, MatchChange.seq < newest)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def install() -> None:
    """Log the matchable changes of every ORM session in this process (idempotent)."""
    for name, listener in (
        ("after_flush", _collect),
        ("before_commit", _write),
        ("after_transaction_end", _forget),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
