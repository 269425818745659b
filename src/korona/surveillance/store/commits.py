"""The store's commits: Parquet files named by one manifest, switched whole on every write."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

import korona.surveillance.store.health as health
from korona.surveillance.calendar import Frequency
from korona.surveillance.store.files import (
    MANIFEST,
    Manifest,
    StoreError,
    crash_point,
    leftover_files,
    write_atomically,
    write_manifest,
    writer_lock,
)
from korona.surveillance.store.health import StoreStatus
from korona.surveillance.store.layout import Table

__all__ = ["CommittedFiles", "GenerationWatch"]


def _write_parquet(frame: pl.DataFrame) -> Callable[[Path], None]:
    return lambda path: frame.write_parquet(path, compression="zstd", statistics=True)


class CommittedFiles:
    """Logical files (``table/frequency/year=…``) stored as Parquet under ``root``, one commit
    a write.

    Every write is one commit: new files are written beside the old ones and ``manifest.json``,
    which names every file of the store, is switched with one ``os.replace``. A crash at any
    point leaves the old store or the new one, never a mix. Writes inside
    :meth:`transaction` commit together. :class:`~korona.surveillance.store.SurveillanceStore`
    adds the tables on top.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._staged: Manifest | None = None
        self._new: set[str] = set()
        self._serial = itertools.count()

    # generations ---------------------------------------------------------------------------

    def _manifest(self) -> Manifest:
        """Return the manifest being written, else the committed one (checked)."""
        if self._staged is not None:
            return self._staged
        manifest, problems = health.inspect(self.root)
        if problems:
            raise StoreError(f"{problems[0]}; see `korona surveillance status`")
        return manifest or Manifest()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every write inside the block one commit (nested blocks join the outer one)."""
        if self._staged is not None:
            yield
            return
        with writer_lock(self.root):
            current = self._manifest()
            self._staged = dataclasses.replace(
                Manifest.from_json(current.to_json()),  # a deep copy
                generation=current.generation + 1,
                retired=[],
            )
            self._new = set()
            try:
                yield
                staged = self._staged
                staged.retired = sorted(set(current.files.values()) - set(staged.files.values()))
                crash_point("before-commit")
                write_manifest(self.root, staged)
            except BaseException:
                for name in self._new:
                    (self.root / name).unlink(missing_ok=True)
                raise
            finally:
                self._staged = None
            crash_point("after-commit")
            for name in current.retired:
                (self.root / name).unlink(missing_ok=True)
            for path in leftover_files(self.root, staged):
                path.unlink(missing_ok=True)

    def _put(self, name: str, frame: pl.DataFrame) -> None:
        """Write the new version of file ``name`` (committed with the transaction)."""
        staged = self._staged
        assert staged is not None, "writes run inside a transaction"
        physical = f"{name}.g{staged.generation}.{next(self._serial)}.parquet"
        write_atomically(self.root / physical, _write_parquet(frame))
        self._drop(name)
        staged.files[name] = physical
        self._new.add(physical)

    def _drop(self, name: str) -> None:
        staged = self._staged
        assert staged is not None, "writes run inside a transaction"
        old = staged.files.pop(name, None)
        if old in self._new:  # written earlier in this transaction, never committed
            (self.root / old).unlink(missing_ok=True)
            self._new.discard(old)

    def _path(self, name: str) -> Path | None:
        physical = self._manifest().files.get(name)
        return None if physical is None else self.root / physical

    def _partitions(self, table: Table | str, frequency: Frequency) -> dict[int, Path]:
        prefix = f"{table}/{frequency.value}/year="
        files = self._manifest().files
        return {
            int(name.removeprefix(prefix)): self.root / files[name]
            for name in sorted(files)
            if name.startswith(prefix)
        }

    # status and repair ---------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Return the committed generation (it grows with every commit; readers cache on it)."""
        return self._manifest().generation

    def last_ingest(self, table: str) -> dt.datetime | None:
        """Return when ``table`` (cases, lab_tests, consultations, results) was last written."""
        stamp = self._manifest().ingest_log.get(str(table))
        return dt.datetime.fromisoformat(stamp) if stamp else None

    def holds_simulated(self, table: str) -> bool:
        """Return whether ``table`` holds figures ingested from simulated files."""
        return str(table) in self._manifest().simulated

    def status(self) -> StoreStatus:
        """Summarise each stored table and say what is wrong with the store, if anything."""
        return health.status(self.root)

    def repair(self) -> list[str]:
        """Make the store readable again where no data is lost; return what was done."""
        return health.repair(self.root)


class GenerationWatch:
    """The committed generation of a store, asked often (on every request, every second).

    The manifest is parsed again only when a commit has replaced it: a new inode, modification
    time or size; otherwise the generation seen last is returned after one ``stat``.
    """

    def __init__(self, store: CommittedFiles) -> None:
        self.store = store
        self._seen: tuple[tuple[int, int, int], int] | None = None

    def __call__(self) -> int:
        try:
            stat = (self.store.root / MANIFEST).stat()
        except FileNotFoundError:
            return self.store.generation
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        seen = self._seen  # one read: another thread may replace it meanwhile
        if seen is not None and seen[0] == stamp:
            return seen[1]
        generation = self.store.generation
        self._seen = (stamp, generation)
        return generation
