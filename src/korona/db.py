"""Database engine, declarative base, UTC timestamps, the unit of work and its actions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Constraint names that Alembic can find again on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time, UTC-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned UTC-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; korona stores UTC-aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: How long a SQLite connection waits for another writer before giving up (seconds).
SQLITE_BUSY_TIMEOUT_SECONDS = 30


#: A pooled server connection idle longer than this is pinged before it is handed out.
PING_IDLE_AFTER_SECONDS = 10.0


def make_engine(url: str, *, ping_when_idle: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout.

    ``ping_when_idle``: check a pooled connection to a database server with a round trip
    before handing it out, but only if it has lain idle in the pool for
    :data:`PING_IDLE_AFTER_SECONDS` (a server restart or a dropped idle connection is then
    noticed and the connection replaced). ``pool_pre_ping`` pings on every checkout, which
    costs every request a round trip; a connection checked in a moment ago is alive.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault(
            "connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
    engine = create_engine(url, **kwargs)
    if ping_when_idle and engine.dialect.name != "sqlite":
        _ping_when_idle(engine)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.close()

    return engine


_IDLE_SINCE = "korona_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_IDLE_AFTER_SECONDS:
            return  # new, or back in the pool a moment ago
        try:
            _ping(dbapi_connection)
        except Exception as error:  # the DBAPI's own errors: the connection is gone
            # The pool discards this connection and hands out a fresh one instead.
            raise DisconnectionError from error


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    dbapi_connection.rollback()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory; objects stay usable after commit.

    Its sessions run the actions registered with :func:`on_commit` and :func:`on_rollback`.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    event.listen(factory, "after_commit", _run_commit_actions)
    event.listen(factory, "after_soft_rollback", _run_rollback_actions)
    return factory


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open one session for one use case; commit once at the end, roll back on any error.

    After the commit the session's after-commit actions run (index refresh, …); after a
    rollback its after-rollback actions run (removing files written for it, …).
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_ACTIONS_KEY = "korona_transaction_actions"


@dataclass(frozen=True)
class _Action:
    """Something to do once the transaction it was registered in is committed or rolled back."""

    transaction: SessionTransaction
    on_commit: Callable[[], None] | None = None
    on_rollback: Callable[[], None] | None = None


def on_commit(action: Callable[[], None], *, session: Session) -> None:
    """Run ``action`` after the session's transaction commits (never if it rolls back)."""
    _register(_Action(_current_transaction(session=session), on_commit=action), session=session)


def on_rollback(action: Callable[[], None], *, session: Session) -> None:
    """Run ``action`` if the session's transaction (or the savepoint around it) rolls back."""
    _register(_Action(_current_transaction(session=session), on_rollback=action), session=session)


def _current_transaction(*, session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    return transaction if transaction is not None else session.begin()


def _register(action: _Action, *, session: Session) -> None:
    session.info.setdefault(_ACTIONS_KEY, []).append(action)


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _run(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        try:
            action()
        except Exception:  # the transaction has ended; one failed action must not stop the rest
            log.exception("an after-transaction action failed")


def _run_commit_actions(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: its actions wait for the outer commit
    actions: list[_Action] = session.info.pop(_ACTIONS_KEY, [])
    _run([action.on_commit for action in actions if action.on_commit is not None])


def _run_rollback_actions(session: Session, ended: SessionTransaction) -> None:
    kept: list[_Action] = []
    undone: list[_Action] = []
    for action in session.info.get(_ACTIONS_KEY, []):
        (undone if _within(action.transaction, ended) else kept).append(action)
    session.info[_ACTIONS_KEY] = kept
    _run([action.on_rollback for action in undone if action.on_rollback is not None])
