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


@dataclass(frozen=True)
class _Locations:
    """Target locations (nation, counties, municipalities at 2020 borders) as integer indices."""

    codes: list[str]  # index 0 the nation, 1..11 the counties, then the municipalities
    mapping: pl.DataFrame  # source municipality index → target index, split weight
    county_of: pl.Series  # target index → its county's index (0 for nation and counties)

    @classmethod
    def build(cls, geography: Geography, encoding: StratumEncoding) -> _Locations:
        municipalities = geography.municipalities["location_code"].to_list()
        counties = geography.counties["location_code"].to_list()
        codes = [NATION, *counties, *municipalities]
        target = {code: 1 + len(counties) + i for i, code in enumerate(municipalities)}
        source = {code: i for i, code in enumerate(encoding.source_codes)}
        rows = [
            (source[code], target[to_code], weight)
            for code, to_code, weight in geography.redistricting.iter_rows()
            if code in source
        ]
        rows += [(source[code], target["municip0301"], 1.0) for code in OSLO_DISTRICTS]
        mapping = pl.DataFrame(
            rows,
            schema={"_source": pl.Int64, "_loc": pl.Int64, "_weight": pl.Float64},
            orient="row",
        )
        county = {
            target[m]: 1 + counties.index(c)
            for m, c in geography.municipalities.select("location_code", "county_code").iter_rows()
        }
        county_of = pl.Series([county.get(i, 0) for i in range(len(codes))], dtype=pl.Int64)
        return cls(codes, mapping, county_of)


@dataclass(frozen=True)
class _Packing:
    """One integer key per day × location × age × practice type × contact type."""

    locations: int
    ages: int = len(AGE_BANDS) + 1  # the last index is "total"
    practices: int = len(PRACTICE_TYPES)
    contacts: int = len(CONTACT_TYPES)

    def pack(
        self, days: pl.Expr, loc: pl.Expr, age: pl.Expr, practice: pl.Expr, contact: pl.Expr
    ) -> pl.Expr:
        return (
            ((days * self.locations + loc) * self.ages + age) * self.practices + practice
        ) * self.contacts + contact

    def part(self, name: str) -> pl.Expr:
        """Return one component of the packed key ``_k``."""
        k = pl.col("_k")
        per_age = self.contacts * self.practices
        return {
            "contact": k % self.contacts,
            "practice": (k // self.contacts) % self.practices,
            "age": (k // per_age) % self.ages,
            "loc": (k // (per_age * self.ages)) % self.locations,
            "days": k // (per_age * self.ages * self.locations),
        }[name]

    def repack(self, *, loc: pl.Expr | None = None, age: pl.Expr | None = None) -> pl.Expr:
        """Return the key with its location and/or age replaced."""
        return self.pack(
            self.part("days"),
            self.part("loc") if loc is None else loc,
            self.part("age") if age is None else age,
            self.part("practice"),
            self.part("contact"),
        ).alias("_k")


def _value_columns(syndromes: Sequence[Syndrome]) -> list[str]:
    return ["_all", "_non_influensa", *(f"_s_{i}" for i in range(len(syndromes)))]


def _per_stratum(counted: pl.DataFrame, syndromes: Sequence[Syndrome]) -> pl.LazyFrame:
    """Sum the counts per stratum key and contact type: all, non-influenza, each syndrome."""
    count, mask = pl.col("_count"), pl.col("_mask")
    return (
        counted.lazy()
        .group_by("_key", "_contact")
        .agg(
            count.sum().alias("_all"),
            (count * (1 - (mask % 2).cast(pl.Int64))).sum().alias("_non_influensa"),
            *(
                (count * ((mask // 2 ** (1 + i)) % 2).cast(pl.Int64)).sum().alias(name)
                for i, name in enumerate(_value_columns(syndromes)[2:])
            ),
        )
    )


def _regroup(frame: pl.LazyFrame, values: list[str]) -> pl.LazyFrame:
    return frame.group_by("_k").agg(pl.col(c).sum() for c in values)


def _municipal(
    per_stratum: pl.LazyFrame,
    encoding: StratumEncoding,
    places: _Locations,
    packing: _Packing,
    values: list[str],
) -> pl.DataFrame:
    """Move stratum counts to 2020 municipalities; split weights round half to even."""
    key = pl.col("_key").cast(pl.Int64)
    bands, practices = len(AGE_BANDS), len(PRACTICE_TYPES)
    return _regroup(
        per_stratum.with_columns(
            (key // (bands * practices) % len(encoding.source_codes)).alias("_source")
        )
        .join(places.mapping.lazy(), on="_source", how="inner")
        .select(
            packing.pack(
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
                for c in values
            ),
        ),
        values,
    ).collect()


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
    places = _Locations.build(geography, encoding)
    packing = _Packing(locations=len(places.codes))
    values = _value_columns(syndromes)
    municipal = _municipal(_per_stratum(counted, syndromes), encoding, places, packing, values)
    lazy = municipal.lazy()
    totals = _regroup(
        lazy.select(packing.repack(age=pl.lit(len(AGE_BANDS), pl.Int64)), *values), values
    )
    municipal_all = pl.concat([lazy, totals]).collect().lazy()
    county_of = pl.lit(places.county_of).gather(packing.part("loc"))
    county = (
        _regroup(municipal_all.select(packing.repack(loc=county_of), *values), values)
        .collect()
        .lazy()
    )
    nation = _regroup(county.select(packing.repack(loc=pl.lit(0, pl.Int64)), *values), values)
    return _wide(pl.concat([nation, county, municipal_all]), places, packing, syndromes)


def _wide(
    frame: pl.LazyFrame, places: _Locations, packing: _Packing, syndromes: Sequence[Syndrome]
) -> pl.DataFrame:
    """Unpack the keys into the store's wide stratum frame (one count pair per syndrome)."""
    ages = [*(b.value for b in AGE_BANDS), AgeGroup.TOTAL.value]
    denominators = {
        DenominatorRule.ALL: "_all",
        DenominatorRule.ALL_MINUS_INFLUENSA: "_non_influensa",
    }
    return (
        frame.select(
            pl.lit(pl.Series(places.codes)).gather(packing.part("loc")).alias("location_code"),
            pl.lit(pl.Series(ages)).gather(packing.part("age")).alias("age"),
            pl.lit(pl.Series([c.value for c in CONTACT_TYPES]))
            .gather(packing.part("contact"))
            .alias("contact_type"),
            pl.lit(pl.Series([p.value for p in PRACTICE_TYPES]))
            .gather(packing.part("practice"))
            .alias("practice_type"),
            packing.part("days").cast(pl.Date).alias("date"),
            *(
                expr
                for s, column in zip(syndromes, _value_columns(syndromes)[2:], strict=True)
                for expr in (
                    pl.col(column).cast(pl.Int32).alias(count_column(s.name)),
                    pl.col(denominators[s.denominator])
                    .cast(pl.Int32)
                    .alias(denominator_column(s.name)),
                )
            ),
        )
        .sort("date")
        .collect()
    )
