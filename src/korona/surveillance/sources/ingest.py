"""Recognise what kind of file was handed in and route it to its reader (the ingest service)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from korona.surveillance.geo import load_geography
from korona.surveillance.sources import IngestError, IngestReport, SourceKind, readable_file
from korona.surveillance.sources.kuhr import KUHR_COLUMNS, icpc2_codes, ingest_kuhr, load_syndromes
from korona.surveillance.sources.lab import LAB_COLUMNS, ingest_lab
from korona.surveillance.sources.msis import detect_msis_layout, ingest_msis
from korona.surveillance.store import SurveillanceStore

__all__ = ["detect_kind", "ingest_file"]


def _header(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        try:
            return list(pl.read_parquet_schema(path))
        except (OSError, pl.exceptions.PolarsError) as error:
            raise IngestError(f"{path.name}: not a readable Parquet file ({error})") from error
    with path.open("rb") as handle:
        head = handle.read(64 * 1024).decode("utf-8-sig", errors="replace")
    for line in head.splitlines()[:200]:
        names = [n.strip().strip('"') for n in line.replace(";", ",").split(",")]
        if {"consultation_id", "location_code", "registration_date"} & set(names):
            return names
    return []


def detect_kind(path: Path) -> SourceKind:
    """Return the kind of a file from its columns; raise IngestError if none fits."""
    path = readable_file(path)
    names = _header(path)
    if set(KUHR_COLUMNS) <= set(names):
        return SourceKind.KUHR
    if set(LAB_COLUMNS) <= set(names):
        return SourceKind.LAB
    if detect_msis_layout(names) is not None:
        return SourceKind.MSIS
    raise IngestError(
        f"{path.name}: not a KUHR, MSIS or lab file (KUHR needs {', '.join(KUHR_COLUMNS)})"
    )


def ingest_file(
    path: Path,
    store: SurveillanceStore,
    reference_dir: Path,
    kind: SourceKind | None = None,
    syndromes_path: Path | None = None,
) -> IngestReport:
    """Ingest one file into the store as one commit: a file that fails changes nothing, and
    a crash leaves the store as it was before the file or as it is after it."""
    path = Path(path)
    detected = detect_kind(path)
    if kind is not None and kind is not detected:
        raise IngestError(f"{path.name}: looks like a {detected.value} file, not {kind.value}")
    geography = load_geography(reference_dir)
    with store.transaction():
        if detected is SourceKind.KUHR:
            syndromes = load_syndromes(syndromes_path)
            return ingest_kuhr(path, store, geography, icpc2_codes(reference_dir), syndromes)
        if detected is SourceKind.LAB:
            return ingest_lab(path, store, geography)
        return ingest_msis(path, store, geography)
