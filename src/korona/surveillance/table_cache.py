"""The national tables of a store generation kept on disk, shared by the server's processes.

The first process to need a generation's :class:`TableParts` computes them and writes them
here (under a file lock, into a temporary folder renamed into place, so a crash leaves nothing
half-written); the others load them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import polars as pl

from korona.surveillance.location_model import Source
from korona.surveillance.national_tables import TableParts
from korona.surveillance.store import SurveillanceStore
from korona.surveillance.store.files import MANIFEST

_log = logging.getLogger(__name__)


#: Modules whose code decides what :class:`TableParts` hold: a change to any of them (or to
#: korona's version, polars's, the format) is a new cache key, never an old table.
_CODE = (
    "national_tables",
    "table_cache",
    "disclosure",
    "metrics",
    "completeness",
    "location_model",
    "geo",
)
_FORMAT = 1
_FRAMES = ("rates_all", "covid", "signals", "mask_cases", "mask_consultations", "mask_signals")


@cache
def _code_stamp() -> bytes:
    digest = hashlib.sha256(f"{_FORMAT} {pl.__version__}".encode())
    for name in _CODE:
        module = sys.modules[f"korona.surveillance.{name}"]
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.digest()


class TableCache:
    """A generation's :class:`TableParts` on disk, so that each server process need not compute
    them: the first to read a generation computes and writes them, the others load them.

    An entry's key hashes the committed manifest (its bytes, inode and modification time: a
    commit, or a store built anew in the same place, is a new key), the reference folder and
    the code that computes the parts. An entry is written to a temporary folder and renamed
    into place (a reader never sees half an entry; a crash leaves a temporary folder the next
    writer removes); one process at a time computes, under a file lock, while the others wait
    for its entry. Any trouble with the folder (full disk, no permission, a broken entry)
    falls back to computing in memory.
    """

    def __init__(self, root: Path, keep: int = 2) -> None:
        self.root = Path(root)
        self.keep = keep

    def stamp(self, store: SurveillanceStore, reference_dir: Path) -> tuple[str, int] | None:
        """Return the key and generation of the committed manifest (None without one)."""
        path = store.root / MANIFEST
        try:
            with path.open("rb") as file:
                stat = os.fstat(file.fileno())
                text = file.read()
            generation = int(json.loads(text)["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        digest = hashlib.sha256(text)
        digest.update(f"{stat.st_ino} {stat.st_mtime_ns} {Path(reference_dir).resolve()}".encode())
        digest.update(_code_stamp())
        return f"g{generation}-{digest.hexdigest()[:24]}", generation

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        """Hold the lock of the one process that computes (others wait here)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self, key: str, generation: int) -> TableParts | None:
        """Return the parts kept under ``key``, or None."""
        folder = self.root / key
        if not (folder / "sources.json").is_file():  # written last
            return None
        try:
            frames = {
                name: pl.read_ipc(folder / f"{name}.arrow")
                if (folder / f"{name}.arrow").is_file()
                else None
                for name in _FRAMES
            }
            raw = json.loads((folder / "sources.json").read_text(encoding="utf-8"))
            sources = {
                code: {
                    name: Source(
                        value["name"],
                        _date(value["data_to"]),
                        _date(value["updated"]),
                        bool(value["simulated"]),
                    )
                    for name, value in entries.items()
                }
                for code, entries in raw.items()
            }
        except (OSError, ValueError, KeyError, pl.exceptions.PolarsError):
            _log.warning("surveillance table cache %s unreadable; computing", folder)
            return None
        return TableParts(generation=generation, sources=sources, **frames)  # type: ignore[arg-type]

    def save(self, key: str, parts: TableParts) -> bool:
        """Keep ``parts`` under ``key`` (atomically), and drop all but the newest entries;
        return whether the entry is there."""
        try:
            self._save(key, parts)
        except OSError as error:
            _log.warning("cannot keep the surveillance tables in %s: %s", self.root, error)
        return (self.root / key / "sources.json").is_file()

    def _save(self, key: str, parts: TableParts) -> None:
        final = self.root / key
        if final.is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob(".tmp-*"):  # an interrupted write (we hold the lock)
            shutil.rmtree(leftover, ignore_errors=True)
        work = self.root / f".tmp-{os.getpid()}-{key}"
        work.mkdir()
        for name in _FRAMES:
            frame = getattr(parts, name)
            if frame is not None:
                frame.write_ipc(work / f"{name}.arrow", compression="lz4")
        sources = {
            code: {
                name: {
                    "name": s.name,
                    "data_to": s.data_to.isoformat() if s.data_to else None,
                    "updated": s.updated.isoformat() if s.updated else None,
                    "simulated": s.simulated,
                }
                for name, s in entries.items()
            }
            for code, entries in parts.sources.items()
        }
        (work / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
        for path in work.iterdir():  # on disk before the rename makes the entry visible
            with path.open("rb") as file:
                os.fsync(file.fileno())
        os.rename(work, final)
        entries = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime_ns,
        )
        for old in entries[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None
