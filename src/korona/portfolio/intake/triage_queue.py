"""The triage queue: the inputs waiting for the portfolio office, and suggestions for each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.matching import DocumentKind, Match, MatchIndex, Query
from korona.portfolio.rows import page_of


def _queue() -> Select[Input]:
    """The triage queue: received inputs not yet dealt with, oldest first."""
    waiting = select(Input).where(Input.status == InputStatus.RECEIVED, Input.triaged_at.is_(None))
    return waiting.order_by(Input.received_at, Input.id)


def page_queue(*, session: Session, offset: int, limit: int) -> tuple[Sequence[Input], int]:
    """Return one page of the triage queue and how many inputs wait in all."""
    return page_of(_queue(), session=session, offset=offset, limit=limit)


def queue_choices(*, session: Session) -> Sequence[Row[str, str]]:
    """Return (reference, title) of every input in the queue: the ones a merge may keep."""
    return session.execute(_queue().with_only_columns(Input.reference, Input.title)).all()


def suggestions(
    index: MatchIndex, items: Sequence[Input], *, per_kind: int = 2
) -> dict[int, list[Match]]:
    """Return, per input id, its best solutions, needs and other inputs, each kind on its own.

    Near-identical inputs would otherwise crowd out the solution that covers them all. One
    :meth:`MatchIndex.search_many` serves them all (a page of the queue shares its words).
    """
    found = index.search_many(
        [
            Query(
                f"{item.title}\n{item.description}",
                item.categories,
                exclude=(DocumentKind.INPUT, item.id),
            )
            for item in items
        ],
        [{DocumentKind.SOLUTION}, {DocumentKind.NEED}, {DocumentKind.INPUT}],
        limit=per_kind,
    )
    return {
        item.id: [match for group in groups for match in group]
        for item, groups in zip(items, found, strict=True)
    }
