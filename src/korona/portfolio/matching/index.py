"""Keep one MatchIndex per app in step with the solutions, needs and inputs in the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from korona.db import on_commit
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.matching.engine import Document, DocumentKind, MatchIndex
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.solution.models import Solution

log = logging.getLogger(__name__)

#: Inputs that were merged or declined are no longer offered as matches.
_UNMATCHABLE_INPUTS = frozenset({InputStatus.DUPLICATE, InputStatus.DECLINED})


def document_of(entity: Any) -> Document | None:
    """Return how the matcher sees a solution, need or input (None: not matchable)."""
    if isinstance(entity, Solution):
        return Document(
            DocumentKind.SOLUTION,
            entity.id,
            entity.name,
            entity.description,
            tuple(entity.categories or ()),
        )
    if isinstance(entity, Need):
        if entity.status == NeedStatus.EXPIRED:
            return None
        return Document(
            DocumentKind.NEED,
            entity.id,
            entity.title,
            entity.description,
            (entity.category_code,),
        )
    if isinstance(entity, Input):
        if entity.status in _UNMATCHABLE_INPUTS:
            return None
        return Document(
            DocumentKind.INPUT,
            entity.id,
            entity.title,
            entity.description,
            tuple(entity.categories or ()),
        )
    return None


_KIND_OF: dict[type, DocumentKind] = {
    Solution: DocumentKind.SOLUTION,
    Need: DocumentKind.NEED,
    Input: DocumentKind.INPUT,
}


def documents(session: Session) -> Iterator[Document]:
    """Yield every matchable document in the database."""
    for model in (Solution, Need, Input):
        for entity in session.scalars(select(model).order_by(model.id)):
            doc = document_of(entity)
            if doc is not None:
                yield doc


def build_index(session: Session) -> MatchIndex:
    """Return a fresh index over the database."""
    index = MatchIndex()
    for doc in documents(session):
        index.add(doc)
    return index


class PortfolioIndex:
    """The app's one MatchIndex: built from the database on first use, then kept current.

    Changes are collected at each flush and applied after the commit (see :meth:`install`).
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self._index: MatchIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> MatchIndex:
        """Return the index, building it from the database the first time."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    with self._factory() as session:
                        self._index = build_index(session)
        return self._index

    def apply(self, changes: dict[tuple[DocumentKind, int], Document | None]) -> None:
        """Add, replace or remove the changed documents (nothing to do before the first build)."""
        index = self._index
        if index is None:
            return
        for (kind, id_), doc in changes.items():
            if doc is None:
                index.remove(kind, id_)
            else:
                index.add(doc)

    def install(self) -> None:
        """Collect the matchable changes of every flush of the factory's sessions.

        They are applied only after the commit, so a rolled-back request never leaves a
        phantom match behind.
        """

        @event.listens_for(self._factory, "after_flush")
        def _collect(session: Session, _context: Any) -> None:
            changes: dict[tuple[DocumentKind, int], Document | None] = {}
            for entity in [*session.new, *session.dirty]:
                kind = _KIND_OF.get(type(entity))
                if kind is not None:
                    changes[(kind, entity.id)] = document_of(entity)
            for entity in session.deleted:
                kind = _KIND_OF.get(type(entity))
                if kind is not None:
                    changes[(kind, entity.id)] = None
            if changes:
                on_commit(session, partial(self.apply, changes))
