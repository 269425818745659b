"""The store's files: a manifest names every file of the current generation; one rename commits."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from korona.files import write_atomically

__all__ = [
    "CRASH_VARIABLE",
    "MANIFEST",
    "Manifest",
    "StoreError",
    "crash_point",
    "leftover_files",
    "read_manifest",
    "write_atomically",
    "write_manifest",
    "writer_lock",
]

MANIFEST = "manifest.json"
_LOCK = ".lock"
_FORMAT = 1
#: Test hook: ``KORONA_TEST_CRASH_AT=<point>`` kills the process (SIGKILL, as ``kill -9``) when
#: a write reaches that named point; the crash tests use it to prove every commit is atomic.
CRASH_VARIABLE = "KORONA_TEST_CRASH_AT"
#: Folders whose files belong to the manifest (anything else under the root is not the store's).
DATA_FOLDERS = ("consultations", "cases", "lab_tests", "results")


class StoreError(Exception):
    """The store cannot do what was asked (wrong frame shape, inconsistent files)."""


def crash_point(name: str) -> None:
    """Die like ``kill -9`` here when the test hook names this point (no clean-up runs)."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Manifest:
    """One generation of the store: its files (logical name → path under the root) and the
    small tables that must change together with them."""

    generation: int = 0
    files: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, list[str]] = field(
        default_factory=lambda: {"locations": [], "ages": [], "syndromes": []}
    )
    syndromes: dict[str, dict[str, str]] = field(default_factory=dict)
    ingest_log: dict[str, str] = field(default_factory=dict)
    #: Tables that hold simulated figures (``korona surveillance simulate``'s files were
    #: ingested into them), so the pages can say so; real figures ingested later over some
    #: days do not clear it, since the other days stay simulated.
    simulated: list[str] = field(default_factory=list)
    #: Files the previous generation used and this one does not; deleted at the next commit
    #: (not at once, so a reader that opened the previous manifest can still read them).
    retired: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Return the manifest as JSON text."""
        return json.dumps({"format": _FORMAT, **self.__dict__}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest; raise StoreError if it is not one."""
        try:
            loaded: dict[str, Any] = json.loads(text)
            if loaded.pop("format") != _FORMAT:
                raise ValueError("unknown format")
            return cls(**loaded)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise StoreError(f"{MANIFEST} is damaged ({error})") from None

    def stamp(self, table: str) -> None:
        """Record that ``table`` was written in this generation (UTC)."""
        self.ingest_log[table] = dt.datetime.now(dt.UTC).isoformat()


def read_manifest(root: Path) -> Manifest | None:
    """Return the committed manifest, or None for a store that has none yet."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error}") from None
    return Manifest.from_json(text)


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Commit ``manifest``: one ``os.replace`` switches the whole store to the new generation."""
    text = manifest.to_json()

    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    write_atomically(root / MANIFEST, write)


def leftover_files(root: Path, manifest: Manifest) -> list[Path]:
    """Return data files neither the manifest nor its retired list names (an interrupted write
    leaves them; they are never read) and temporary files."""
    known = {root / name for name in (*manifest.files.values(), *manifest.retired)}
    found = []
    for folder in DATA_FOLDERS:
        if (root / folder).is_dir():
            found += [
                p
                for p in (root / folder).rglob("*")
                if p.is_file() and (p.suffix in (".parquet", ".tmp")) and p not in known
            ]
    found += [p for p in root.glob(f".{MANIFEST}.*.tmp")]
    return sorted(found)


@contextlib.contextmanager
def writer_lock(root: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the store's writer lock (one writer at a time); yield False if ``wait`` is off and
    another process holds it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
