"""FHI's published MSIS covid-19 case files (as downloaded, quirks included) → case counts."""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.geo import Geography, municipality_code
from korona.surveillance.sources import (
    IngestError,
    IngestReport,
    SourceKind,
    check_rows,
    readable_file,
)
from korona.surveillance.store import SurveillanceStore

__all__ = [
    "MsisLayout",
    "MsisRead",
    "detect_msis_layout",
    "ingest_msis",
    "read_msis",
    "weekly_sums",
]


class MsisLayout(StrEnum):
    """The layouts of FHI's covid-19 MSIS files (``covid19/`` in the reference data)."""

    DAILY_COUNTY = "daily_county"  # data_covid19_msis_by_time_location: nation + counties
    DAILY_MUNICIPAL_HISTORIC = "daily_municipal_historic"  # free-text preamble, registration date
    WEEKLY_MUNICIPAL = "weekly_municipal"  # respiranor: municip_nor0301, first week NA
    TOTALS = "totals"  # data_covid19_msis_by_location: cumulative, date 1900-01-01
    WEEKLY_SEX_AGE = "weekly_sex_age"  # nation by sex × 10-year age band
    HOSPITAL = "hospital"  # admissions, not cases


@dataclass
class MsisRead:
    """Case counts read from one file, before storing."""

    layout: MsisLayout
    daily: pl.DataFrame | None
    weekly: pl.DataFrame | None
    report: IngestReport


def _header_line(lines: list[str]) -> int:
    """Return the index of the CSV header; HISTORIC files open with ~29 lines of free text."""
    for i, line in enumerate(lines[:200]):
        if line.startswith(("registration_date,", "location_code,", "granularity_time,")):
            return i
    raise IngestError("no MSIS header line found (expected location_code, registration_date …)")


def detect_msis_layout(columns: list[str]) -> MsisLayout | None:
    """Return the layout a header belongs to, or None if it is not an MSIS/FHI covid file."""
    names = set(columns)
    if {"registration_date", "location_code", "n_registered_on_this_date_in_msis"} <= names:
        return MsisLayout.DAILY_MUNICIPAL_HISTORIC
    if {"location_code", "isoyear", "isoweek", "cases_by_regdate_n"} <= names:
        return MsisLayout.WEEKLY_MUNICIPAL
    if {"n_icu", "n_hospital_main_cause"} <= names:
        return MsisLayout.HOSPITAL
    if {"location_code", "date", "n", "granularity_time", "sex", "age"} <= names:
        return MsisLayout.WEEKLY_SEX_AGE if "pop" not in names else MsisLayout.DAILY_COUNTY
    return None


def weekly_sums(daily: pl.DataFrame) -> pl.DataFrame:
    """Sum daily counts into ISO weeks dated by their Sunday (partial edge weeks included)."""
    values = [c for c in daily.columns if c not in ("location_code", "date")]
    return (
        daily.with_columns(pl.col("date") + pl.duration(days=7 - pl.col("date").dt.weekday()))
        .group_by("location_code", "date")
        .agg(pl.col(c).sum() for c in values)
        .sort("location_code", "date")
    )


def read_msis(path: Path, geography: Geography) -> MsisRead:
    """Read any of FHI's covid-19 MSIS files as published; raise IngestError if it is none."""
    path = readable_file(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(f"{path.name}: not UTF-8 text; FHI files are UTF-8") from error
    lines = text.splitlines()
    start = _header_line(lines)
    raw = pl.read_csv(io.StringIO("\n".join(lines[start:])), infer_schema=False)
    layout = detect_msis_layout(raw.columns)
    if layout is None:
        raise IngestError(f"{path.name}: not a known MSIS file (columns: {', '.join(raw.columns)})")
    if layout is MsisLayout.DAILY_COUNTY and (raw["granularity_time"] == "total").all():
        layout = MsisLayout.TOTALS
    report = IngestReport(source=SourceKind.MSIS, path=path, rows_read=raw.height)
    if start:
        report.notes.append(f"skipped {start} lines of free text before the header")
    known = set(geography.location_codes)
    daily = weekly = None
    if layout is MsisLayout.DAILY_COUNTY:
        daily = _typed(raw, "location_code", "date", "n", first_line=start + 2, report=report)
    elif layout is MsisLayout.DAILY_MUNICIPAL_HISTORIC:
        frame = raw.rename(
            {"registration_date": "date", "n_registered_on_this_date_in_msis": "n"}
        ).with_columns(municipality_code(pl.col("location_code")).alias("location_code"))
        daily = _typed(frame, "location_code", "date", "n", first_line=start + 2, report=report)
        daily = geography.map_to_2020(daily.lazy(), ["n"]).collect().sort("location_code", "date")
        report.notes.append("n is people registered in MSIS that day (registration date)")
    elif layout is MsisLayout.WEEKLY_MUNICIPAL:
        frame = raw.with_columns(
            municipality_code(pl.col("location_code")).alias("location_code"),
            pl.col("cases_by_regdate_n").alias("n"),
        )
        weekly = _typed(frame, "location_code", "date", "n", first_line=start + 2, report=report)
        missing = weekly.filter(pl.col("n").is_null()).height
        if missing:
            report.notes.append(f"{missing} weeks are NA in the file and stay missing (not 0)")
    else:
        what = {
            MsisLayout.TOTALS: "cumulative totals (no dates)",
            MsisLayout.WEEKLY_SEX_AGE: "national counts by sex and age (no store table)",
            MsisLayout.HOSPITAL: "hospital admissions (no store table)",
        }[layout]
        report.notes.append(f"recognised {layout.value}: {what}; nothing stored")
        return MsisRead(layout, None, None, report)
    for counts in (daily, weekly):
        if counts is not None:
            unknown = counts.filter(~pl.col("location_code").is_in(list(known)))
            if unknown.height:
                raise IngestError(
                    f"{path.name}: unknown location codes "
                    f"{', '.join(unknown['location_code'].unique().sort().head(5).to_list())}"
                )
    if daily is not None:
        weekly = weekly_sums(daily)
    main = daily if daily is not None else weekly
    assert main is not None
    report.rows_accepted = raw.height - report.rows_rejected
    report.first_date = main["date"].min()  # type: ignore[assignment]
    report.last_date = main["date"].max()  # type: ignore[assignment]
    return MsisRead(layout, daily, weekly, report)


def _typed(
    frame: pl.DataFrame,
    location: str,
    date: str,
    count: str,
    *,
    first_line: int,
    report: IngestReport,
) -> pl.DataFrame:
    """Parse location, date and a count column; rows that fail are moved to the report.

    Raises IngestError when two rows give the same location and date, or when more than half
    the rows are bad.
    """
    parsed = frame.with_row_index("line", offset=first_line).select(
        pl.col("line").cast(pl.Int64),
        pl.col(location).alias("location_code"),
        pl.col(date).str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias("date"),
        pl.col(count).alias("_raw"),
        pl.col(count).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False).alias("n"),
    )
    is_na = pl.col("_raw").is_null() | pl.col("_raw").is_in(["NA", ""])
    reason = (
        pl.when(pl.col("location_code").is_null())
        .then(pl.lit("unknown location"))
        .when(pl.col("date").is_null())
        .then(pl.lit("bad date"))
        .when(pl.col("n").is_null() & ~is_na)
        .then(pl.lit("bad count"))
        .when(pl.col("n") < 0)
        .then(pl.lit("negative count"))
    )
    good, bad = check_rows(report.path, parsed, reason, ["location_code", "date"])
    report.bad_rows = pl.concat([report.bad_rows, bad])
    return good.select("location_code", "date", "n")


def ingest_msis(path: Path, store: SurveillanceStore, geography: Geography) -> IngestReport:
    """Read an MSIS file and store its daily and weekly cases in one commit, replacing the
    dates the file covers for the locations it gives."""
    read = read_msis(path, geography)
    if read.daily is not None:  # the store sums the weeks from the stored days
        store.write_cases(read.daily, Frequency.DAILY)
        read.report.stored_rows += read.daily.height
    elif read.weekly is not None:
        store.write_cases(read.weekly, Frequency.WEEKLY)
        read.report.stored_rows += read.weekly.height
    return read.report
