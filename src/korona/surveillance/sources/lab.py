"""FHI's published covid-19 laboratory test file → positive and negative tests per day and week."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.geo import Geography
from korona.surveillance.sources import (
    IngestError,
    IngestReport,
    SourceKind,
    check_rows,
    readable_file,
)
from korona.surveillance.sources.msis import weekly_sums
from korona.surveillance.store import SurveillanceStore

__all__ = ["LAB_COLUMNS", "ingest_lab", "read_lab"]

LAB_COLUMNS = ("location_code", "date", "n_pos", "n_neg")


def read_lab(path: Path, geography: Geography) -> tuple[pl.DataFrame, pl.DataFrame, IngestReport]:
    """Read a lab file (location_code, date, n_pos, n_neg, …); return daily, weekly, report."""
    path = readable_file(path)
    try:
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as error:
        raise IngestError(f"{path.name}: not a readable UTF-8 CSV file ({error})") from error
    missing = [c for c in LAB_COLUMNS if c not in raw.columns]
    if missing:
        raise IngestError(f"{path.name}: not a lab file, missing columns {', '.join(missing)}")
    parsed = raw.with_row_index("line", offset=2).select(
        pl.col("line").cast(pl.Int64),
        "location_code",
        pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        pl.col("n_pos").cast(pl.Int64, strict=False),
        pl.col("n_neg").cast(pl.Int64, strict=False),
    )
    known = geography.location_codes
    reason = (
        pl.when(~pl.col("location_code").is_in(known))
        .then(pl.lit("unknown location"))
        .when(pl.col("date").is_null())
        .then(pl.lit("bad date"))
        .when(pl.col("n_pos").is_null() | pl.col("n_neg").is_null())
        .then(pl.lit("bad count"))
        .when((pl.col("n_pos") < 0) | (pl.col("n_neg") < 0))
        .then(pl.lit("negative count"))
    )
    good, bad = check_rows(path, parsed, reason, ["location_code", "date"])
    daily = good.select(LAB_COLUMNS)
    weekly = weekly_sums(daily)
    report = IngestReport(
        source=SourceKind.LAB,
        path=path,
        rows_read=raw.height,
        rows_accepted=daily.height,
        bad_rows=bad,
        first_date=daily["date"].min(),  # type: ignore[arg-type]
        last_date=daily["date"].max(),  # type: ignore[arg-type]
    )
    return daily, weekly, report


def ingest_lab(path: Path, store: SurveillanceStore, geography: Geography) -> IngestReport:
    """Read a lab file and store daily and weekly tests in one commit, replacing the dates
    the file covers for the locations it gives."""
    daily, weekly, report = read_lab(path, geography)
    store.write_lab_tests(daily, Frequency.DAILY)  # the store sums the weeks from the stored days
    report.stored_rows = daily.height + weekly.height
    return report
