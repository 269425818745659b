"""KUHR consultation records (one row per diagnosis × fee code) → daily consultation counts."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import polars as pl

from korona.surveillance.consultation import ContactType, PracticeType
from korona.surveillance.geo import (
    OSLO_DISTRICTS,
    UNKNOWN_MUNICIPALITY,
    Geography,
    municipality_code,
)
from korona.surveillance.sources import (
    BAD_ROW_SCHEMA,
    IngestError,
    IngestReport,
    SourceKind,
    refuse_mostly_bad,
)
from korona.surveillance.sources.kuhr_read import (
    KUHR_COLUMNS,
    KuhrColumn,
    is_simulated,
    lookup,
    parse_age,
    parse_date,
    scan_kuhr,
)
from korona.surveillance.sources.strata import (
    CONTACT_BITS,
    INFLUENSA_BIT,
    LAST_DAY,
    PRACTICE_TYPES,
    SYNDROME_SHIFT,
    StratumEncoding,
    count_strata,
    per_consultation,
    to_locations,
)
from korona.surveillance.sources.syndromes import DenominatorRule, Syndrome, load_syndromes
from korona.surveillance.store import SurveillanceStore

__all__ = [
    "FEE_CODE_CONTACT_TYPES",
    "KUHR_COLUMNS",
    "DenominatorRule",
    "KuhrColumn",
    "Syndrome",
    "aggregate_kuhr",
    "icpc2_codes",
    "ingest_kuhr",
    "load_syndromes",
]


class BadRowReason(StrEnum):
    """Why a row was rejected; the first that applies is reported."""

    MISSING_ID = "missing consultation id"
    BAD_DATE = "bad consultation date"
    NEGATIVE_AGE = "negative age"
    BAD_AGE = "unreadable age"
    UNKNOWN_CODE = "unknown ICPC-2 code"
    UNKNOWN_MUNICIPALITY = "unknown practice municipality"
    UNKNOWN_PRACTICE_TYPE = "unknown practice type"


_REASONS = tuple(BadRowReason)


# Fee codes (takster) that say how the consultation took place (spec §1).
FEE_CODE_CONTACT_TYPES: dict[ContactType, tuple[str, ...]] = {
    ContactType.IN_PERSON: ("11ad", "11ak", "2ad", "2ak", "2fk"),
    ContactType.TELEPHONE: ("1ad", "1ak", "1bd", "1bk", "1g", "1h"),
    ContactType.E_CONSULTATION: ("1be", "2ae"),
}
_PRACTICE_TYPE_NAMES = {
    "gp": PracticeType.GP,
    "legekontor": PracticeType.GP,
    "fastlege": PracticeType.GP,
    "out_of_hours": PracticeType.OUT_OF_HOURS,
    "legevakt": PracticeType.OUT_OF_HOURS,
}
_INFLUENSA_CODE = "R80"
_ICPC_FILE = Path("codes") / "icpc2_code_nb_2020__derived_from_xlsx.csv"
# A simulated KUHR CSV row is ~45 bytes; the estimate only chooses the number of batches.
_CSV_BYTES_PER_ROW = 40


def icpc2_codes(reference_dir: Path) -> list[str]:
    """Return the known ICPC-2 codes (Norwegian 2020 edition, incl. R991–R999)."""
    path = Path(reference_dir) / _ICPC_FILE
    if not path.exists():
        raise IngestError(f"ICPC-2 code list not found: {path}")
    frame = pl.read_csv(path, infer_schema=False)
    return frame["ICPC_code"].str.strip_chars().str.to_uppercase().unique().to_list()


def _validated(
    frame: pl.LazyFrame,
    first_line: int,
    encoding: StratumEncoding,
    codes: Sequence[str],
    syndromes: Sequence[Syndrome],
) -> pl.LazyFrame:
    """Encode every row (id, stratum key, code/fee bit mask) with a reject reason or null."""
    schema = frame.collect_schema()
    missing = [c for c in KUHR_COLUMNS if c not in schema]
    if missing:
        raise IngestError(
            f"not a KUHR file: missing columns {', '.join(missing)} "
            f"(expected {', '.join(KUHR_COLUMNS)})"
        )
    cid = pl.col(KuhrColumn.CONSULTATION_ID)
    if schema[KuhrColumn.CONSULTATION_ID] == pl.String:
        cid = cid.str.strip_chars()
        missing_id = cid.is_null() | (cid == "")
    else:
        missing_id = cid.is_null()
    band, negative = parse_age(KuhrColumn.PATIENT_AGE, schema[KuhrColumn.PATIENT_AGE])
    code_bits, fee_bits = _bits(codes, syndromes)
    icpc_raw = pl.col(KuhrColumn.ICPC2_CODE)
    icpc_mask = lookup(
        KuhrColumn.ICPC2_CODE,
        schema[KuhrColumn.ICPC2_CODE],
        lambda e: e.str.strip_chars().str.to_uppercase().str.replace_all(".", "", literal=True),
        code_bits,
        pl.UInt64,
    )
    fee_mask = lookup(
        KuhrColumn.FEE_CODE,
        schema[KuhrColumn.FEE_CODE],
        lambda e: e.str.strip_chars().str.to_lowercase(),
        fee_bits,
        pl.UInt64,
    ).fill_null(0)
    municipality = lookup(
        KuhrColumn.PRACTICE_MUNICIPALITY,
        schema[KuhrColumn.PRACTICE_MUNICIPALITY],
        municipality_code,
        {code: i for i, code in enumerate(encoding.source_codes)},
        pl.Int64,
    )
    practice = lookup(
        KuhrColumn.PRACTICE_TYPE,
        schema[KuhrColumn.PRACTICE_TYPE],
        lambda e: e.str.strip_chars().str.to_lowercase(),
        {name: PRACTICE_TYPES.index(kind) for name, kind in _PRACTICE_TYPE_NAMES.items()},
        pl.Int64,
    )
    days = parse_date(KuhrColumn.CONSULTATION_DATE, schema[KuhrColumn.CONSULTATION_DATE])
    parsed = frame.select(
        cid.alias("consultation_id"),
        missing_id.alias("_missing_id"),
        days.alias("_days"),
        band.alias("_band"),
        negative.alias("_negative"),
        icpc_raw.is_null().alias("_no_code"),
        icpc_mask.alias("_code_mask"),
        fee_mask.alias("_fee_mask"),
        municipality.alias("_municipality"),
        practice.alias("_practice"),
    )
    status = _status(unknown=len(encoding.source_codes) - 1)  # 9999 is last
    return parsed.with_columns(
        status.cast(pl.UInt8).alias("_status"),
        encoding.key(pl.col("_days"), pl.col("_municipality"), pl.col("_band"), pl.col("_practice"))
        .cast(encoding.key_dtype, strict=False)
        .alias("_key"),
        (pl.col("_code_mask").fill_null(0) | pl.col("_fee_mask"))
        .cast(pl.UInt32 if SYNDROME_SHIFT + len(syndromes) <= 32 else pl.UInt64)
        .alias("_mask"),
    )


def _bits(
    codes: Sequence[str], syndromes: Sequence[Syndrome]
) -> tuple[dict[str, int], dict[str, int]]:
    """Return the bit mask of every known ICPC-2 code (influenza, syndromes) and fee code."""
    code_bits = {code: 0 for code in codes}
    code_bits[_INFLUENSA_CODE] = code_bits.get(_INFLUENSA_CODE, 0) | INFLUENSA_BIT
    for i, syndrome in enumerate(syndromes):
        for code in syndrome.codes:
            code_bits[code] = code_bits.get(code, 0) | 1 << (SYNDROME_SHIFT + i)
    fee_bits = {
        fee: CONTACT_BITS[contact]
        for contact, fees in FEE_CODE_CONTACT_TYPES.items()
        for fee in fees
    }
    return code_bits, fee_bits


def _status(unknown: int) -> pl.Expr:
    """Return a row's status: 0 counted, 1 dropped (municipality 9999), 2 + i the i-th reason
    of ``BadRowReason`` (the first that applies)."""
    checks = (
        (BadRowReason.MISSING_ID, pl.col("_missing_id")),
        (
            BadRowReason.BAD_DATE,
            ~pl.col("_days").is_between(0, LAST_DAY, closed="left").fill_null(False),
        ),
        (BadRowReason.NEGATIVE_AGE, pl.col("_negative")),
        (BadRowReason.BAD_AGE, pl.col("_band").is_null()),
        (BadRowReason.UNKNOWN_CODE, pl.col("_code_mask").is_null() & ~pl.col("_no_code")),
        (BadRowReason.UNKNOWN_MUNICIPALITY, pl.col("_municipality").is_null()),
        (BadRowReason.UNKNOWN_PRACTICE_TYPE, pl.col("_practice").is_null()),
    )
    status: pl.Expr = pl.when(pl.col("_municipality") == unknown).then(1).otherwise(0)
    for reason, failed in reversed(checks):
        status = pl.when(failed).then(2 + _REASONS.index(reason)).otherwise(status)
    return status


def _estimated_rows(path: Path, frame: pl.LazyFrame) -> int:
    """Return the row count (Parquet metadata) or an estimate from the size (CSV)."""
    if path.suffix.lower() == ".parquet":
        return int(frame.select(pl.len()).collect().item())
    return path.stat().st_size // _CSV_BYTES_PER_ROW


def aggregate_kuhr(
    path: Path,
    geography: Geography,
    codes: Sequence[str],
    syndromes: Sequence[Syndrome] | None = None,
    *,
    max_rows_per_batch: int = 30_000_000,
) -> tuple[pl.DataFrame, list[str], IngestReport]:
    """Turn a KUHR file into sparse daily consultation counts at 2020 borders.

    Returns the store's wide stratum frame (``SurveillanceStore.write_consultation_strata``):
    location_code (nation, counties, municipalities), age (incl. total), contact_type,
    practice_type, date and per syndrome ``n__<s>`` and raw ``denominator__<s>``; the
    syndrome names; and an ingest report. The file is read lazily with polars' streaming
    engine; files above ``max_rows_per_batch`` rows are processed in that many batches of
    consultations (split by a hash of the id), so memory stays bounded whatever the file size.
    Raises IngestError if the file fails as a whole.
    """
    syndromes = list(syndromes) if syndromes is not None else load_syndromes()
    if len(syndromes) > 60:
        raise IngestError("at most 60 syndromes can be counted in one ingest")
    path = Path(path)
    frame, first_line = scan_kuhr(path)
    sources = sorted(set(geography.redistricting["from_code"].to_list()) | set(OSLO_DISTRICTS))
    encoding = StratumEncoding([*sources, UNKNOWN_MUNICIPALITY])
    checked = _validated(frame, first_line, encoding, codes, syndromes)
    batches = max(1, -(-_estimated_rows(path, frame) // max_rows_per_batch))
    rows, dropped, bad_df, counted = _count_batches(path, checked, first_line, batches)
    if rows == 0:
        raise IngestError(f"{path.name}: the file has no data rows")
    refuse_mostly_bad(path, bad_df, rows)
    no_contact = int(counted.filter(pl.col("_contact").is_null())["_count"].sum())
    wide = to_locations(
        counted.filter(pl.col("_contact").is_not_null()), encoding, geography, syndromes
    )
    report = IngestReport(
        source=SourceKind.KUHR,
        path=path,
        rows_read=rows,
        rows_accepted=rows - bad_df.height - dropped,
        rows_dropped=dropped,
        bad_rows=bad_df.sort("line"),
        first_date=wide["date"].min() if wide.height else None,  # type: ignore[arg-type]
        last_date=wide["date"].max() if wide.height else None,  # type: ignore[arg-type]
        stored_rows=wide.height,
    )
    if no_contact:
        report.notes.append(
            f"{no_contact} consultations had no contact fee code (takst) and were not counted"
        )
    if dropped:
        report.notes.append(f"{dropped} rows with municipality 9999 were dropped")
    return wide, [s.name for s in syndromes], report


def _count_batches(
    path: Path, checked: pl.LazyFrame, first_line: int, batches: int
) -> tuple[int, int, pl.DataFrame, pl.DataFrame]:
    """Read the encoded rows in ``batches`` batches of consultations; return rows read, rows
    dropped, the bad rows (line, reason) and the counts per stratum key × contact × mask."""
    rows, dropped = 0, 0
    bad_parts: list[pl.DataFrame] = []
    counted_parts: list[pl.DataFrame] = []
    reasons = pl.Series([r.value for r in _REASONS])
    for batch in range(batches):
        query = checked.with_row_index("_row")
        if batches > 1:
            # Every row of a consultation lands in the same batch, so batches add up exactly.
            query = query.filter(pl.col("consultation_id").hash(seed=0) % batches == batch)
        try:
            parsed = query.select("consultation_id", "_key", "_mask", "_status", "_row").collect(
                engine="streaming"
            )
        except pl.exceptions.PolarsError as error:
            raise IngestError(f"{path.name}: could not be read as a KUHR file ({error})") from error
        rows += parsed.height
        dropped += int((parsed.get_column("_status") == 1).sum())
        bad_parts.append(
            parsed.filter(pl.col("_status") >= 2).select(
                (pl.col("_row").cast(pl.Int64) + first_line).alias("line"),
                pl.lit(reasons).gather(pl.col("_status").cast(pl.Int64) - 2).alias("reason"),
            )
        )
        valid = parsed.filter(pl.col("_status") == 0).drop("_status", "_row")
        del parsed
        counted_parts.append(count_strata(per_consultation(valid)))
        del valid
    bad_df = pl.concat(bad_parts) if bad_parts else pl.DataFrame(schema=BAD_ROW_SCHEMA)
    counted = pl.concat(counted_parts)
    if batches > 1:
        counted = counted.group_by("_key", "_contact", "_mask").agg(pl.col("_count").sum())
    return rows, dropped, bad_df, counted


def ingest_kuhr(
    path: Path,
    store: SurveillanceStore,
    geography: Geography,
    codes: Sequence[str],
    syndromes: Sequence[Syndrome] | None = None,
) -> IngestReport:
    """Aggregate a KUHR file and store it, replacing the days it covers (idempotent)."""
    used = list(syndromes) if syndromes is not None else load_syndromes()
    wide, names, report = aggregate_kuhr(path, geography, codes, used)
    if wide.height == 0:
        report.notes.append("no countable consultations; the store was not changed")
        return report
    simulated = is_simulated(path)
    if simulated:
        report.notes.append("simulated records: the store marks its consultations as simulated")
    store.write_consultation_strata(
        wide,
        names,
        locations=geography.location_codes,
        definitions={s.name: s.as_row() for s in used},
        simulated=simulated,
    )
    return report
