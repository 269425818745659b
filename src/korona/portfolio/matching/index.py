"""Keep each process's MatchIndex the same as the database: build it, follow the change log."""

from __future__ import annotations

import logging
import pickle
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, Select, func, null, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import korona
from korona.db import make_engine
from korona.files import write_atomically
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.matching.changes import KIND_OF, MatchChange
from korona.portfolio.matching.documents import Document, DocumentKind
from korona.portfolio.matching.engine import MatchIndex
from korona.portfolio.need.models import Need, NeedStatus
from korona.portfolio.solution.models import Solution

log = logging.getLogger(__name__)

#: Inputs that were merged or declined are no longer offered as matches.
_UNMATCHABLE_INPUTS = frozenset({InputStatus.DUPLICATE, InputStatus.DECLINED})


#: What the matcher reads of each kind, as columns (loading whole entities, with the
#: relationships they load eagerly, cost the index's refresh more than its queries).
_SOURCES: dict[DocumentKind, Select[*tuple[Any, ...]]] = {
    DocumentKind.SOLUTION: select(
        Solution.id,
        Solution.name,
        Solution.description,
        Solution.categories,
        null(),  # no status of a solution hides it from the matcher
    ),
    DocumentKind.NEED: select(
        Need.id, Need.title, Need.description, Need.category_code, Need.status
    ),
    DocumentKind.INPUT: select(
        Input.id, Input.title, Input.description, Input.categories, Input.status
    ),
}


_MODEL_OF: dict[DocumentKind, Any] = {kind: model for model, kind in KIND_OF.items()}


def _document(kind: DocumentKind, row: Row[*tuple[Any, ...]]) -> Document | None:
    """Return how the matcher sees a row of :data:`_SOURCES` (None: not matchable)."""
    id_, title, description, categories, status = row
    if kind is DocumentKind.NEED:
        if status == NeedStatus.EXPIRED:
            return None
        categories = (categories,)
    elif kind is DocumentKind.INPUT and status in _UNMATCHABLE_INPUTS:
        return None
    return Document(kind, id_, title, description, tuple(categories or ()))


def documents(*, session: Session) -> Iterator[Document]:
    """Yield every matchable document in the database."""
    for kind, source in _SOURCES.items():
        for row in session.execute(source.order_by(_MODEL_OF[kind].id)):
            doc = _document(kind, row)
            if doc is not None:
                yield doc


def build_index(*, session: Session) -> MatchIndex:
    """Return a fresh index over the database."""
    index = MatchIndex()
    for doc in documents(session=session):
        index.add(doc)
    return index


@dataclass(frozen=True)
class Position:
    """How far an index has followed the change log: the last row applied (seq 0: none).

    ``mark`` is that row's kind, entity and time, so that a database that was replaced (a
    restored backup, a new file at the same place) is not mistaken for the one the index saw.
    """

    seq: int = 0
    mark: tuple[str, int, datetime] | None = None


#: The newest row of the change log (its primary key index: one row read).
_HEAD = (
    select(MatchChange.seq, MatchChange.kind, MatchChange.entity_id, MatchChange.changed_at)
    .order_by(MatchChange.seq.desc())
    .limit(1)
)


def log_head(*, session: Session) -> Position:
    """Return the newest row of the change log (one indexed query)."""
    row = session.execute(_HEAD).first()
    if row is None:
        return Position()
    return Position(row.seq, (row.kind, row.entity_id, row.changed_at))


def _can_follow(position: Position, *, session: Session) -> bool:
    """Tell whether every change after ``position`` is still in the log."""
    if position.seq == 0:
        # Built from an empty log: the first row must still be there (PostgreSQL may skip
        # numbers, so a first row above 1 costs a rebuild rather than a missed change).
        return session.scalar(select(func.min(MatchChange.seq))) in (None, 1)
    return log_head_at(position.seq, session=session) == position


def log_head_at(seq: int, *, session: Session) -> Position | None:
    """Return the position of the log row ``seq`` (None: pruned or never written)."""
    row = session.execute(
        select(MatchChange.kind, MatchChange.entity_id, MatchChange.changed_at).where(
            MatchChange.seq == seq
        )
    ).first()
    return None if row is None else Position(seq, (row.kind, row.entity_id, row.changed_at))


def apply_changes(index: MatchIndex, since: int, head: int, *, session: Session) -> int:
    """Re-read what the log rows ``since < seq <= head`` name and add, replace or remove it.

    Returns how many documents were touched.
    """
    rows = session.execute(
        select(MatchChange.kind, MatchChange.entity_id).where(
            MatchChange.seq > since, MatchChange.seq <= head
        )
    ).all()
    wanted: dict[DocumentKind, set[int]] = {}
    for kind, entity_id in rows:
        wanted.setdefault(DocumentKind(kind), set()).add(entity_id)
    touched = 0
    for kind, ids in wanted.items():
        source = _SOURCES[kind].where(_MODEL_OF[kind].id.in_(ids))
        found = {row[0]: _document(kind, row) for row in session.execute(source)}
        for id_ in sorted(ids):
            doc = found.get(id_)
            if doc is None:
                index.remove(kind, id_)
            else:
                index.add(doc)
            touched += 1
    return touched


def refresh(
    index: MatchIndex | None, position: Position, *, session: Session
) -> tuple[MatchIndex, Position, bool]:
    """Bring ``index`` up to the database: follow the log, or rebuild when it cannot.

    Returns the index (a new one after a rebuild), its new position and whether anything
    changed. The log head is read before the tables, so whatever a rebuild reads is at least
    as new as the head; rows re-applied later are harmless (add replaces).
    """
    head = log_head(session=session)
    if index is not None and head == position:
        return index, position, False
    if index is None or head.seq <= position.seq or not _can_follow(position, session=session):
        log.info("building the match index from the database (log at %d)", head.seq)
        return build_index(session=session), head, True
    touched = apply_changes(index, position.seq, head.seq, session=session)
    log.debug(
        "match index followed the log %d -> %d (%d documents)", position.seq, head.seq, touched
    )
    return index, head, True


class PortfolioIndex:
    """The process's one MatchIndex, checked against the database's change log on every use.

    Every commit that changes a solution, need or input writes a row to the log (see
    :mod:`korona.portfolio.matching.changes`), whichever process made it; :meth:`get` reads the
    newest row and applies what it has not seen, so every server worker answers the same.

    The check is made cheap because every search pays it: one indexed query on a connection of
    the index's own, through SQLAlchemy Core (no ORM session), with no ping before it unless the
    connection lay idle (and a connection the database dropped meanwhile is replaced and the
    query run once more); and requests
    that arrive while a check is under way share the next one instead of each making its own.
    Only when the log moved does it open a session and apply the changes it names.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._sessions = factory
        self._engine: Engine | None = None
        bind = factory.kw.get("bind")
        if isinstance(bind, Engine) and bind.url.database not in (None, "", ":memory:"):
            # One connection of its own, so a request that already holds a pooled connection
            # never waits for a second one from the same pool to check the index.
            url = bind.url.render_as_string(hide_password=False)
            self._engine = make_engine(url, pool_size=1, max_overflow=0, ping_when_idle=True)
            self._sessions = sessionmaker(bind=self._engine)
        self._index: MatchIndex | None = None
        self._position = Position()
        self._lock = threading.Lock()
        #: Requests so far, and how many of them had arrived when the last finished check began.
        self._arrivals = 0
        self._covered = 0
        self._count_lock = threading.Lock()
        #: How many times the index was built from the tables (tests, logs).
        self.builds = 0
        #: How many times the change log was read (tests).
        self.checks = 0

    def get(self) -> MatchIndex:
        """Return the index, up to date with every commit so far (run it off the event loop).

        "So far" is when the call began: a check that started after that serves it too.
        """
        with self._count_lock:
            self._arrivals += 1
            ticket = self._arrivals
        with self._lock:
            if self._index is not None and self._covered >= ticket:
                return self._index  # a check begun after this call arrived has just finished
            with self._count_lock:
                covers = self._arrivals
            self._check()
            self._covered = covers
            assert self._index is not None
            return self._index

    def _check(self) -> None:
        """Read the log's head; apply what it names that the index has not seen (lock held)."""
        self.checks += 1
        if self._index is not None and self._head() == self._position:
            return
        with self._sessions() as session:
            index, self._position, _ = refresh(self._index, self._position, session=session)
        if index is not self._index:
            self.builds += 1
            self._index = index

    def _head(self) -> Position:
        """Return the log's head through Core on the index's own connection."""
        engine = self._engine or self._sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            with self._sessions() as session:
                return log_head(session=session)
        for attempt in range(2):
            try:
                with engine.connect() as connection:
                    row = connection.execute(_HEAD).first()
                    connection.rollback()
                break
            except DBAPIError as error:
                # The database dropped the idle connection (a restart): the pool replaced it.
                if attempt or not error.connection_invalidated:
                    raise
        if row is None:
            return Position()
        return Position(row.seq, (row.kind, row.entity_id, row.changed_at))

    def close(self) -> None:
        """Close the index's own connection."""
        if self._engine is not None:
            self._engine.dispose()


#: Bump when the snapshot's layout or the index's pickled form changes.
SNAPSHOT_FORMAT = 2


@dataclass(frozen=True)
class Snapshot:
    """A saved index and the log position and database it belongs to."""

    format: int
    version: str
    database: str
    fingerprint: tuple[int, ...]
    position: Position
    index: MatchIndex


def snapshot_path(data_dir: Path) -> Path:
    """Return where the CLI keeps its index snapshot."""
    return data_dir / "match-index" / "index.pickle"


def _fingerprint(*, session: Session) -> tuple[int, ...]:
    """Return row counts and highest ids of the matchable tables (catches a replaced database)."""
    values: list[int] = []
    for model in (Solution, Need, Input):
        count, top = session.execute(
            select(func.count(), func.max(model.id)).select_from(model)
        ).one()
        values += [count, top or 0]
    return tuple(values)


def _database_key(*, session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


@dataclass
class CliIndex:
    """What ``korona portfolio match`` searches, and whether its snapshot is stale."""

    index: MatchIndex
    position: Position
    fingerprint: tuple[int, ...]
    rebuilt: bool
    changed: bool


def _read_snapshot(path: Path, *, session: Session) -> Snapshot | None:
    try:
        with path.open("rb") as file:
            # The snapshot is korona's own file in the deployment's data directory.
            loaded = pickle.load(file)  # noqa: S301
    except FileNotFoundError:
        return None
    except Exception as error:  # a torn or foreign file: rebuilding is always correct
        log.warning("ignoring the match index snapshot %s: %s", path, error)
        return None
    if (
        isinstance(loaded, Snapshot)
        and loaded.format == SNAPSHOT_FORMAT
        and loaded.version == korona.__version__
        and loaded.database == _database_key(session=session)
    ):
        return loaded
    log.info("ignoring the match index snapshot %s: made for another database or version", path)
    return None


def load_index(path: Path, *, session: Session) -> CliIndex:
    """Return the snapshot at ``path`` brought up to date with the log, or a fresh build.

    The snapshot is a pickle in the deployment's own data directory, which only korona
    writes (the same trust as the SQLite database beside it); an unreadable one is rebuilt.
    """
    fingerprint = _fingerprint(session=session)  # read first: anything later shows up in the log
    snapshot = _read_snapshot(path, session=session)
    if snapshot is not None:
        index, position, changed = refresh(snapshot.index, snapshot.position, session=session)
        if changed or fingerprint == snapshot.fingerprint:
            rebuilt = index is not snapshot.index
            return CliIndex(index, position, fingerprint, rebuilt, changed)
        # Same log position but other tables: changed outside korona, or a replaced database.
        log.info("the matchable tables changed without a log entry: rebuilding the index")
    position = log_head(session=session)
    log.info("building the match index from the database (log at %d)", position.seq)
    return CliIndex(build_index(session=session), position, fingerprint, rebuilt=True, changed=True)


def save_snapshot(path: Path, loaded: CliIndex, *, session: Session) -> None:
    """Write the snapshot atomically: a reader sees the old file or the new one, never half."""
    snapshot = Snapshot(
        SNAPSHOT_FORMAT,
        korona.__version__,
        _database_key(session=session),
        loaded.fingerprint,
        loaded.position,
        loaded.index,
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with loaded.index.unchanging():
        body = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomically(path, lambda temporary: temporary.write_bytes(body))
