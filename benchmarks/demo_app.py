"""A fresh SQLite database with the portfolio demo, for benchmarks that time the app in process."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.permissions import principal_for
from korona.config import Environment, Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.demo import load_demo
from korona.migrations import upgrade


@dataclass(frozen=True)
class DemoDatabase:
    """The settings an app for the database needs, and sessions for the benchmark's own work."""

    settings: Settings
    sessions: sessionmaker[Session]


@contextmanager
def demo_database(password: str) -> Iterator[DemoDatabase]:
    """Migrate a throwaway SQLite database, load the demo (every login gets ``password``)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        settings = Settings(
            environment=Environment.TEST,
            database_url=url,
            data_dir=Path(folder) / "data",
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
        )
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        with unit_of_work(sessions) as session:
            load_demo(session=session, password=password)
        print(f"demo loaded in {time.perf_counter() - started:.1f} s")
        try:
            yield DemoDatabase(settings, sessions)
        finally:
            engine.dispose()


OFFICE = "kontor@demo.korona.no"


def office_token(demo: DemoDatabase) -> str:
    """Return a new API token of the demo's portfolio office user (for the API routes)."""
    with unit_of_work(demo.sessions) as session:
        user = auth_service.get_user_by_email(OFFICE, session=session)
        assert user is not None
        return auth_tokens.create_api_token(
            principal_for(user), user.id, session=session, name="bench"
        )


def cpu_seconds() -> float:
    """Return this process's CPU time so far (user + sys)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
