"""The pool pings a server connection only after it lay idle, and replaces a dropped one."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from korona import db
from korona.config import Settings


def test_a_busy_connection_is_not_pinged_and_an_idle_dropped_one_is_replaced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.sqlalchemy_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    engine = db.make_engine(
        settings.sqlalchemy_url, pool_size=1, max_overflow=0, ping_when_idle=True
    )
    pings: list[object] = []
    ping = db._ping
    monkeypatch.setattr(
        db, "_ping", lambda connection: (pings.append(connection), ping(connection))
    )
    try:
        for _ in range(3):
            with engine.connect() as connection:
                connection.execute(text("SELECT 2"))
        assert pings == []  # reused at once: no ping before each use
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The server drops the pooled connection while it lies idle (a restart, a timeout).
        admin = create_engine(settings.sqlalchemy_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        admin.dispose()
        monkeypatch.setattr(db, "PING_IDLE_AFTER_SECONDS", 0.0)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
        assert len(pings) == 1  # the idle one was pinged, found dead and replaced
    finally:
        engine.dispose()
