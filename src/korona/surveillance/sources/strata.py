"""Count distinct consultations per stratum on packed integer keys, then roll up to 2020 borders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from korona.surveillance.consultation import ContactType, PracticeType
from korona.surveillance.geo import AGE_BANDS, NATION, OSLO_DISTRICTS, AgeGroup, Geography
from korona.surveillance.sources.syndromes import DenominatorRule, Syndrome
from korona.surveillance.store import count_column, denominator_column

__all__ = [
    "CONTACT_BITS",
    "CONTACT_TYPES",
    "INFLUENSA_BIT",
    "LAST_DAY",
    "PRACTICE_TYPES",
    "SYNDROME_SHIFT",
    "StratumEncoding",
    "count_strata",
    "per_consultation",
    "to_locations",
]

CONTACT_BITS = {ContactType.IN_PERSON: 1, ContactType.TELEPHONE: 2, ContactType.E_CONSULTATION: 4}
INFLUENSA_BIT = 8
SYNDROME_SHIFT = 4  # syndrome i has bit 1 << (4 + i)
PRACTICE_TYPES = (PracticeType.GP, PracticeType.OUT_OF_HOURS)
# Dates outside 1970-01-01 … 2099-12-31 are rejected as bad (keeps packed keys in 32 bits).
LAST_DAY = 47_482
CONTACT_TYPES = (ContactType.IN_PERSON, ContactType.TELEPHONE, ContactType.E_CONSULTATION)


@dataclass(frozen=True)
class StratumEncoding:
    """How a row's stratum is packed into one integer key (for a fast group-by)."""

    source_codes: list[str]  # municipality codes as found in files (any year) + 9999

    @property
    def key_dtype(self) -> type[pl.DataType]:
        return pl.Int32 if self.per_day * LAST_DAY < 2**31 else pl.Int64

    @property
    def per_day(self) -> int:
        return len(self.source_codes) * len(AGE_BANDS) * len(PRACTICE_TYPES)

    def key(
        self, days: pl.Expr, municipality: pl.Expr, band: pl.Expr, practice: pl.Expr
    ) -> pl.Expr:
        bands, practices = len(AGE_BANDS), len(PRACTICE_TYPES)
        return days * self.per_day + (municipality * bands + band) * practices + practice


def per_consultation(valid: pl.DataFrame) -> pl.DataFrame:
    """Collapse rows to one per distinct consultation id: first stratum key, OR of bit masks.

    Sorting by id and reducing runs is several times faster than a hash group-by over
    millions of ids; files sorted by id (as KUHR extracts and the simulator's are) skip the sort.
    """
    ids = valid.get_column("consultation_id")
    if ids.dtype == pl.String:
        # Numeric ids read from CSV sort and compare far faster as integers; only exact
        # round trips qualify ("007" and "7" stay different consultations).
        numbers = ids.str.to_integer(strict=False)
        if numbers.null_count() == 0 and (numbers.cast(pl.String) == ids).all():
            valid = valid.with_columns(numbers.alias("consultation_id"))
    if not valid.get_column("consultation_id").is_sorted():
        valid = valid.sort("consultation_id")
    starts = valid.select(
        (pl.col("consultation_id") != pl.col("consultation_id").shift(1)).fill_null(True)
    ).to_series()
    first_rows = np.flatnonzero(starts.to_numpy())
    keys = valid.get_column("_key").to_numpy()[first_rows]
    masks = np.bitwise_or.reduceat(valid.get_column("_mask").to_numpy(), first_rows)
    return pl.DataFrame({"_key": keys, "_mask": masks})


def count_strata(consultations: pl.DataFrame) -> pl.DataFrame:
    """Count consultations per stratum key × contact type × syndrome combination."""
    mask = pl.col("_mask")
    # One consultation, one contact type: telephone rows are dropped when another type is
    # present (spec §1); if in-person and e-consultation both remain, in-person wins.
    contact = (
        pl.when(mask % 2 == 1)
        .then(0)
        .when((mask // 4) % 2 == 1)
        .then(2)
        .when((mask // 2) % 2 == 1)
        .then(1)
    )
    return (
        consultations.lazy()
        .with_columns(contact.alias("_contact"), (mask // 8).alias("_mask"))
        .group_by("_key", "_contact", "_mask")
        .agg(pl.len().cast(pl.Int64).alias("_count"))
        .collect()
    )


def to_locations(
    counted: pl.DataFrame,
    encoding: StratumEncoding,
    geography: Geography,
    syndromes: Sequence[Syndrome],
) -> pl.DataFrame:
    """Move counts to 2020 borders, add age total, counties and nation; return the wide frame.

    Works on packed integer keys until the end (string group-bys over millions of strata are
    the slow part otherwise). Same rules as ``Geography.map_to_2020`` and ``roll_up``: split
    weights with rounding half to even; counties sum municipalities, the nation sums counties.
    """
    municipalities = geography.municipalities["location_code"].to_list()
    counties = geography.counties["location_code"].to_list()
    locations = [NATION, *counties, *municipalities]  # index 0, 1..11, 12..
    target_index = {code: 1 + len(counties) + i for i, code in enumerate(municipalities)}
    source_index = {code: i for i, code in enumerate(encoding.source_codes)}
    mapping_rows = [
        (source_index[code], target_index[target], weight)
        for code, target, weight in geography.redistricting.iter_rows()
        if code in source_index
    ]
    mapping_rows += [
        (source_index[code], target_index["municip0301"], 1.0) for code in OSLO_DISTRICTS
    ]
    mapping = pl.DataFrame(
        mapping_rows,
        schema={"_source": pl.Int64, "_loc": pl.Int64, "_weight": pl.Float64},
        orient="row",
    )
    county_of = {
        target_index[m]: 1 + counties.index(c)
        for m, c in geography.municipalities.select("location_code", "county_code").iter_rows()
    }
    county_lookup = pl.Series([county_of.get(i, 0) for i in range(len(locations))], dtype=pl.Int64)
    n_ages = len(AGE_BANDS) + 1  # the last index is "total"
    n_practice, n_contact = len(PRACTICE_TYPES), len(CONTACT_TYPES)

    count = pl.col("_count")
    n_columns = [f"_s_{i}" for i in range(len(syndromes))]
    value_columns = ["_all", "_non_influensa", *n_columns]
    per_stratum = (
        counted.lazy()
        .group_by("_key", "_contact")
        .agg(
            count.sum().alias("_all"),
            (count * (1 - (pl.col("_mask") % 2).cast(pl.Int64))).sum().alias("_non_influensa"),
            *(
                (count * ((pl.col("_mask") // 2 ** (1 + i)) % 2).cast(pl.Int64)).sum().alias(name)
                for i, name in enumerate(n_columns)
            ),
        )
    )
    key = pl.col("_key").cast(pl.Int64)
    bands, practices = len(AGE_BANDS), len(PRACTICE_TYPES)

    def packed(
        days: pl.Expr, loc: pl.Expr, age: pl.Expr, practice: pl.Expr, contact: pl.Expr
    ) -> pl.Expr:
        return (
            ((days * len(locations) + loc) * n_ages + age) * n_practice + practice
        ) * n_contact + contact

    k = pl.col("_k")
    unpacked = {
        "contact": k % n_contact,
        "practice": (k // n_contact) % n_practice,
        "age": (k // (n_contact * n_practice)) % n_ages,
        "loc": (k // (n_contact * n_practice * n_ages)) % len(locations),
        "days": k // (n_contact * n_practice * n_ages * len(locations)),
    }

    def regroup(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.group_by("_k").agg(pl.col(c).sum() for c in value_columns)

    municipal = regroup(
        per_stratum.with_columns(
            (key // (bands * practices) % len(encoding.source_codes)).alias("_source")
        )
        .join(mapping.lazy(), on="_source", how="inner")
        .select(
            packed(
                key // encoding.per_day,
                pl.col("_loc"),
                (key // practices) % bands,
                key % practices,
                pl.col("_contact").cast(pl.Int64),
            ).alias("_k"),
            *(
                pl.when(pl.col("_weight") == 1.0)
                .then(pl.col(c))
                .otherwise((pl.col(c) * pl.col("_weight")).round(0).cast(pl.Int64))
                .alias(c)
                for c in value_columns
            ),
        )
    ).collect()
    lazy = municipal.lazy()
    totals = regroup(
        lazy.select(
            packed(
                unpacked["days"],
                unpacked["loc"],
                pl.lit(bands, pl.Int64),
                unpacked["practice"],
                unpacked["contact"],
            ).alias("_k"),
            *value_columns,
        )
    )
    municipal_all = pl.concat([lazy, totals]).collect().lazy()
    county = (
        regroup(
            municipal_all.select(
                packed(
                    unpacked["days"],
                    pl.lit(county_lookup).gather(unpacked["loc"]),
                    unpacked["age"],
                    unpacked["practice"],
                    unpacked["contact"],
                ).alias("_k"),
                *value_columns,
            )
        )
        .collect()
        .lazy()
    )
    nation = regroup(
        county.select(
            packed(
                unpacked["days"],
                pl.lit(0, pl.Int64),
                unpacked["age"],
                unpacked["practice"],
                unpacked["contact"],
            ).alias("_k"),
            *value_columns,
        )
    )
    ages = [*(b.value for b in AGE_BANDS), AgeGroup.TOTAL.value]
    return (
        pl.concat([nation, county, municipal_all])
        .select(
            pl.lit(pl.Series(locations)).gather(unpacked["loc"]).alias("location_code"),
            pl.lit(pl.Series(ages)).gather(unpacked["age"]).alias("age"),
            pl.lit(pl.Series([c.value for c in CONTACT_TYPES]))
            .gather(unpacked["contact"])
            .alias("contact_type"),
            pl.lit(pl.Series([p.value for p in PRACTICE_TYPES]))
            .gather(unpacked["practice"])
            .alias("practice_type"),
            unpacked["days"].cast(pl.Date).alias("date"),
            *(
                expr
                for s, column in zip(syndromes, n_columns, strict=True)
                for expr in (
                    pl.col(column).cast(pl.Int32).alias(count_column(s.name)),
                    pl.col("_all" if s.denominator is DenominatorRule.ALL else "_non_influensa")
                    .cast(pl.Int32)
                    .alias(denominator_column(s.name)),
                )
            ),
        )
        .sort("date")
        .collect()
    )
