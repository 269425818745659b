"""Build what a process needs once: engine, session factory, unit of work, match index."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import korona.models  # noqa: F401 - every table must be known before the first session
from korona.config import Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.errors import DomainError
from korona.portfolio.matching.index import PortfolioIndex


@dataclass
class Runtime:
    """The database and shared state of one process (a web server or a CLI command)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    match_index: PortfolioIndex
    #: How many requests may work on the database at once: the pool's size. A process runs
    #: Python one thread at a time, so more requests in its threads only contend for the GIL
    #: (200 users on 4 processes: 15 at once gave p95 1 s, 4 gave 0.28 s); the pool's overflow
    #: is left to the process's own background work (the mail worker, the warm-up).
    capacity: int
    _slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """Return one use case's transaction: commit once, roll back on any error."""
        return unit_of_work(self.sessions)

    def database_slots(self) -> asyncio.Semaphore:
        """Return the running event loop's semaphore over the connection pool.

        A request waits here, on the loop and holding no worker thread, until a connection
        is free; so worker threads never all block on an empty pool while the requests that
        hold its connections wait for a thread to finish.
        """
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = asyncio.Semaphore(self.capacity)
        return slots

    def close(self) -> None:
        """Close every pooled connection (the match index has one of its own)."""
        self.match_index.close()
        self.engine.dispose()


_MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


class SchemaNotReady(DomainError):
    """The database is not migrated to the schema this code needs (nothing was read).

    Said only on the command line, so in English and not in the page catalogue."""

    status_code = 503


def head_revision() -> str:
    """Return the newest migration. The revisions form one chain, each named after its file
    (``0012_load``), so the newest is the last file; a test holds this to Alembic's head.
    Read without Alembic, whose import would slow every command down."""
    return max(path.stem for path in _MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaNotReady` unless the database is at :func:`head_revision`.

    Without it, a command on a database that ``korona db upgrade`` has not set up yet ended
    in a traceback from its first query ("no such table").
    """
    head = head_revision()
    try:
        connection = engine.connect()
    except DBAPIError as error:
        lines = str(error.orig).strip().splitlines()  # the driver's first line says why
        reason = lines[0] if lines else type(error.orig).__name__
        raise SchemaNotReady("Cannot open the database: {reason}", reason=reason) from None
    with connection:
        try:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            current = None
    if current is None:
        raise SchemaNotReady("The database has no korona tables yet: run korona db upgrade")
    if current < head:
        raise SchemaNotReady(
            "The database schema is at {current}; this korona needs {head}: run korona db upgrade",
            current=current,
            head=head,
        )
    if current != head:
        raise SchemaNotReady(
            "The database schema ({current}) is newer than this korona ({head}): "
            "run a newer korona",
            current=current,
            head=head,
        )


def check_database(settings: Settings) -> None:
    """Check the settings' database with :func:`check_schema` on an engine of its own."""
    engine = _engine(settings)
    try:
        check_schema(engine)
    finally:
        engine.dispose()


def _engine(settings: Settings) -> Engine:
    """Return the engine and pool of the settings' database (SQLite: its folder made first)."""
    url = make_url(settings.sqlalchemy_url)
    pool: dict[str, float] = {}
    if url.database not in (None, "", ":memory:"):  # an in-memory SQLite has its own pool
        pool = {"pool_size": settings.database_pool_size}
        pool["max_overflow"] = settings.database_max_overflow
        pool["pool_timeout"] = settings.database_pool_timeout
    if url.get_backend_name() == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url, ping_when_idle=True, **pool)


def bootstrap(settings: Settings) -> Runtime:
    """Return the runtime for the settings: one engine and pool, one index, one UoW factory."""
    engine = _engine(settings)
    sessions = make_sessionmaker(engine)
    match_index = PortfolioIndex(sessions)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        match_index=match_index,
        capacity=settings.database_pool_size,
    )


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """Yield one session of a throwaway runtime (a CLI command) and close its pool after."""
    runtime = bootstrap(settings)
    try:
        check_schema(runtime.engine)
        with runtime.unit_of_work() as session:
            yield session
    finally:
        runtime.close()
