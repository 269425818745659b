"""Benchmark a large portfolio import on SQLite and how long it blocks a concurrent web write.

Usage:
    .venv/bin/python benchmarks/bench_import.py [--rows 5000] [--entities needs inputs]

Builds a fresh migrated SQLite database, then imports ``--rows`` generated rows of each entity
(organisations, then needs of those organisations, then inputs linked to those needs) as
``korona portfolio import`` does (``importer.import_file``, one unit of work). Meanwhile a
second thread with its own engine makes a short write transaction every 0.1 s (a row in
``login_failure``, as a login would) and records how long each one took: the longest is how
long the import blocked web writes. Prints per entity the import's wall time, the process's
CPU time (user + sys, both threads) and the slowest concurrent write.

To compare with older code, run it with ``PYTHONPATH=/tmp/old/src`` (an unpacked checkout).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.exc import OperationalError

from korona.auth.models import LoginFailure
from korona.console import CLI
from korona.db import make_engine, make_sessionmaker, unit_of_work, utcnow
from korona.migrations import upgrade
from korona.portfolio import importer
from korona.portfolio.import_files import ImportEntity
from korona.portfolio.intake.service import StatusLinks


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rows(entity: str, count: int) -> str:
    if entity == "organisations":
        lines = [f"org-{n},Virksomhet nummer {n},vendor,business," for n in range(count)]
        return "external_ref,name,kind,sector,municipality_number\n" + "\n".join(lines)
    if entity == "needs":
        lines = [
            f"need-{n},Behov nummer {n},Et behov fra importen nummer {n},video,org-{n},"
            f"Sykehjem,,2,citizens,registered,"
            for n in range(count)
        ]
        header = (
            "external_ref,title,description,category,organisation_ref,clinical_line,"
            "municipality_number,urgency,affected_groups,status,review_by_date"
        )
        return header + "\n" + "\n".join(lines)
    lines = [
        f"inn-{n},idea,Innspill nummer {n},Et innspill fra importen nummer {n},Firma {n} AS,"
        f"nei,ja,video,need-{n},low,medium,Per Person,per{n}@example.no,nb,2020-03-18"
        for n in range(count)
    ]
    header = (
        "external_ref,kind,title,description,organisation_name,is_public,commercial,categories,"
        "need_refs,effort_hospitals,effort_municipalities,contact_name,contact_email,language,"
        "received_at"
    )
    return header + "\n" + "\n".join(lines)


class Writer(threading.Thread):
    """Short write transactions every 0.1 s on their own engine, timed."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.stop = threading.Event()
        self.times: list[float] = []
        self.failed = 0

    def run(self) -> None:
        while not self.stop.wait(0.1):
            started = time.perf_counter()
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(LoginFailure).values(email="w@x", address="w", failed_at=utcnow())
                    )
                    connection.execute(delete(LoginFailure).where(LoginFailure.address == "w"))
            except OperationalError:  # "database is locked" after the 30 s busy timeout
                self.failed += 1
            self.times.append(time.perf_counter() - started)


def _time_lock_from_write_phase() -> list[float]:
    """Note when the importer takes SQLite's write lock (code that has take_write_lock)."""
    taken: list[float] = []
    take = getattr(importer, "take_write_lock", None)
    if take is not None and not hasattr(take, "timed"):

        def timed(session: object) -> None:
            taken[:] = [time.perf_counter()]
            take(session)

        timed.timed = True  # type: ignore[attr-defined]
        importer.take_write_lock = timed  # type: ignore[attr-defined]
        importer._taken = taken  # type: ignore[attr-defined]
    return getattr(importer, "_taken", taken)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--entities", nargs="+", default=["organisations", "needs", "inputs"])
    args = parser.parse_args()
    print(f"importer from {importer.__file__}; load average before: {os.getloadavg()}")
    links = StatusLinks(base_url="https://korona.example", secret="bench-secret-0123456789")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        factory = make_sessionmaker(make_engine(url))
        for entity in args.entities:
            content = _rows(entity, args.rows).encode()
            writer = Writer(url)
            writer.start()
            time.sleep(0.3)
            cpu, started = _cpu(), time.perf_counter()
            locked = _time_lock_from_write_phase()
            with unit_of_work(factory) as session:
                report = importer.import_file(
                    CLI,
                    ImportEntity(entity),
                    f"{entity}.csv",
                    content,
                    session=session,
                    links=links,
                    send_receipts=True,
                )
            wall, cpu = time.perf_counter() - started, _cpu() - cpu
            held = f"{time.perf_counter() - locked[0]:.2f} s" if locked else "?"
            time.sleep(0.3)
            writer.stop.set()
            writer.join()
            writer.engine.dispose()
            slowest = max(writer.times)
            print(
                f"{entity}: {report.created} new in {wall:.1f} s wall, {cpu:.1f} s CPU "
                f"({wall / args.rows * 1000:.1f} ms a row); concurrent writes: "
                f"{len(writer.times)}, slowest {slowest:.2f} s, failed (locked) {writer.failed}; "
                f"write lock held (first write to commit) {held}"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
