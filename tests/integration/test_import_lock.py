"""A long import on SQLite holds the database's write lock only briefly (issue 8).

SQLite has one write lock per database, taken by a transaction's first write and held until
its commit; a web request that writes meanwhile waits (up to the busy timeout). The importer
builds every row first and writes them all at the end, so a concurrent write waits for the
final flush only, not for the whole import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from korona.audit import AuditEntry
from korona.auth.models import Organisation
from korona.console import CLI
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.portfolio import importer
from korona.portfolio.import_files import ImportEntity
from korona.portfolio.import_write import NextIds
from korona.portfolio.intake.service import StatusLinks

HEADER = "external_ref,name,kind,sector,municipality_number\n"
#: Enough organisations that writing them row by row held the lock for several seconds.
ROWS = 3000
#: How long a concurrent web write may wait (issue 8: "a second or two").
LONGEST_WAIT = 2.0


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "korona.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _organisations(rows: int) -> str:
    return HEADER + "".join(f"k{n},Virksomhet nummer {n},vendor,business,\n" for n in range(rows))


def _timed_write(connection: sqlite3.Connection) -> float:
    started = time.perf_counter()
    connection.execute(
        "INSERT INTO login_failure (email, address, failed_at, settled) "
        "VALUES ('w@x', 'w', '2026-12-02 00:00:00', 1)"
    )
    connection.execute("DELETE FROM login_failure WHERE address = 'w'")
    connection.commit()
    return time.perf_counter() - started


def test_a_concurrent_write_waits_at_most_two_seconds_during_a_large_import(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "organisations.csv"
    path.write_text(_organisations(ROWS), encoding="utf-8")
    env = {
        **os.environ,
        "KORONA_DATABASE_URL": sqlite_url,
        "KORONA_DATA_DIR": str(tmp_path / "data"),
        "KORONA_SECRET_KEY": "test-secret-key-0123456789-abcdefghij",
    }
    command = [sys.executable, "-m", "korona", "portfolio", "import", str(path)]
    connection = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=30)
    waits: list[float] = []
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        while process.poll() is None:
            waits.append(_timed_write(connection))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        output = process.communicate()[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
        connection.close()
    assert process.returncode == 0, output
    assert len(waits) > 10, "the import was too quick to show anything"
    assert max(waits) <= LONGEST_WAIT, f"a web write waited {max(waits):.1f} s"
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == ROWS
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity_type == "organisation")
        )
        assert audited == ROWS
    engine.dispose()


class _Interrupted(NextIds):
    """Reserves ids, then lets another writer take the first one before the import writes."""

    url = ""

    @contextlib.contextmanager
    def deferred(self, session: Session) -> Iterator[None]:
        with super().deferred(session):
            yield
        other = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        other.execute(
            "INSERT INTO organisation (name, kind, sector, created_at) "
            "VALUES ('Kom imellom', 'vendor', 'business', '2026-12-02 00:00:00')"
        )
        other.commit()
        other.close()


def test_ids_taken_meanwhile_by_another_writer_are_not_reused(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Interrupted, "url", sqlite_url)
    monkeypatch.setattr(importer, "NextIds", _Interrupted)
    engine = make_engine(sqlite_url)
    factory = make_sessionmaker(engine)
    links = StatusLinks(base_url="https://korona.example", secret="test-secret-0123456789")
    with unit_of_work(factory) as session:
        report = importer.import_file(
            CLI,
            ImportEntity.ORGANISATIONS,
            "organisations.csv",
            _organisations(20).encode(),
            session=session,
            links=links,
        )
    assert report.created == 20
    with Session(engine) as session:
        organisations = session.scalars(select(Organisation).order_by(Organisation.id)).all()
        assert organisations[0].name == "Kom imellom"
        assert len(organisations) == 21
        audited = session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.entity_type == "organisation")
        ).all()
        imported = {str(item.id) for item in organisations if item.name != "Kom imellom"}
        assert set(audited) == imported
    engine.dispose()
