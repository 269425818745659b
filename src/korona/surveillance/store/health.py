"""Is the store whole? Its status per table, what is wrong with it, and how it is repaired."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.store.files import (
    DATA_FOLDERS,
    MANIFEST,
    Manifest,
    StoreError,
    leftover_files,
    read_manifest,
    write_manifest,
    writer_lock,
)
from korona.surveillance.store.layout import Table, table_name

__all__ = ["StoreStatus", "TableStatus", "inspect", "repair", "status"]


@dataclass(frozen=True)
class TableStatus:
    """What one stored table holds."""

    table: str
    frequency: str
    rows: int
    locations: int
    first_date: dt.date | None
    last_date: dt.date | None
    last_ingest_at: dt.datetime | None


@dataclass(frozen=True)
class StoreStatus:
    """Per-table summary of the store, and what is wrong with it (``problems``: the store
    cannot be read until repaired; ``notes``: harmless, e.g. leftovers of an interrupted write)."""

    root: Path
    generation: int = 0
    tables: list[TableStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_STATUS_TABLES = [
    (table, frequency)
    for frequency in Frequency
    for table in (Table.CONSULTATIONS, Table.CASES, Table.LAB_TESTS)
]


_GENERATION_NAME = re.compile(r"\.g\d+\.\d+\.parquet$")


def _legacy_files(root: Path) -> list[Path]:
    """Return data files named as before the manifest (not ``<name>.g<generation>.<n>``)."""
    return sorted(
        p
        for folder in DATA_FOLDERS
        for p in (root / folder).rglob("*.parquet")
        if not _GENERATION_NAME.search(p.name)
    )


def inspect(root: Path) -> tuple[Manifest | None, list[str]]:
    """Return the committed manifest (None if there is none) and what makes the store unreadable."""
    try:
        manifest = read_manifest(root)
    except StoreError as error:
        return None, [f"the store at {root} is inconsistent: {error}"]
    if manifest is None:
        if _legacy_files(root):
            return None, [f"the store at {root} was written by an older korona (no {MANIFEST})"]
        return None, []
    missing = sorted(p for p in manifest.files.values() if not (root / p).is_file())
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if missing[3:] else "")
        return manifest, [
            f"the store at {root} is inconsistent: {MANIFEST} names missing files {shown}"
        ]
    return manifest, []


def status(root: Path) -> StoreStatus:
    """Summarise each stored table (rows, locations, first and last date, last write) and say
    what is wrong with the store, if anything."""
    manifest, problems = inspect(root)
    if problems:
        return StoreStatus(root=root, problems=problems)
    manifest = manifest or Manifest()  # nothing committed yet
    notes = []
    leftovers = leftover_files(root, manifest)
    if leftovers:
        with writer_lock(root, wait=False) as free:
            notes.append(
                f"{len(leftovers)} files of an interrupted write are not part of the store; "
                "the next write or `korona surveillance repair` removes them"
                if free
                else "a write is in progress; its files join the store when it commits"
            )
    notes += [
        f"{table} hold simulated figures (files of `korona surveillance simulate` were ingested)"
        for table in manifest.simulated
    ]
    tables = [_table_status(root, manifest, *each) for each in _STATUS_TABLES]
    return StoreStatus(root, manifest.generation, tables, [], notes)


def _table_status(
    root: Path, manifest: Manifest, table: Table, frequency: Frequency
) -> TableStatus:
    prefix = table_name(table, frequency)
    paths = [
        root / p
        for name, p in sorted(manifest.files.items())
        if name == prefix or name.startswith(prefix + "/")
    ]
    stamp = manifest.ingest_log.get(table.value)
    if not paths:
        return TableStatus(table.value, frequency.value, 0, 0, None, None, None)
    rows, locations, first, last = (
        pl.scan_parquet(paths)
        .select(
            pl.len(),
            pl.col("location_code").n_unique(),
            pl.col("date").min().alias("first"),
            pl.col("date").max().alias("last"),
        )
        .collect()
        .row(0)
    )
    when = dt.datetime.fromisoformat(stamp) if stamp else None
    return TableStatus(table.value, frequency.value, rows, locations, first, last, when)


def repair(root: Path) -> list[str]:
    """Bring the store back to a state every reader accepts; return what was done.

    Adopts a store written before the manifest existed, and removes files of interrupted
    writes. Raises StoreError when data is lost (files the manifest names are missing).
    """
    with writer_lock(root):
        done = []
        manifest, problems = inspect(root)
        if manifest is None and problems:
            manifest = _adopt_legacy(root)
            done.append(f"adopted {len(manifest.files)} files written by an older korona")
        elif problems:
            raise StoreError(
                f"{problems[0]}. Nothing can rebuild lost files: restore {root} from a "
                "backup, or delete it and ingest the source files again"
            )
        leftovers = leftover_files(root, manifest or Manifest())
        for path in leftovers:
            path.unlink(missing_ok=True)
        if leftovers:
            done.append(f"removed {len(leftovers)} files of an interrupted write")
        return done


def _adopt_legacy(root: Path) -> Manifest:
    """Write a manifest naming the files of a store from before manifests (as they are)."""
    if (root / MANIFEST).exists():
        raise StoreError(
            f"{root / MANIFEST} is damaged; restore the store from a backup, or delete "
            f"{root} and ingest the source files again"
        )
    manifest = Manifest(generation=1)
    for path in _legacy_files(root):
        relative = path.relative_to(root).as_posix()
        manifest.files[relative.removesuffix(".parquet")] = relative
    old_dimensions = root / Table.CONSULTATIONS / "dimensions.json"
    old_log = root / "ingest_log.json"
    if old_dimensions.exists():
        manifest.dimensions = json.loads(old_dimensions.read_text(encoding="utf-8"))
    if old_log.exists():
        manifest.ingest_log = json.loads(old_log.read_text(encoding="utf-8"))
    write_manifest(root, manifest)
    old_dimensions.unlink(missing_ok=True)
    old_log.unlink(missing_ok=True)
    return manifest
