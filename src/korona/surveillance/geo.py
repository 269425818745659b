"""Norway's locations at 2020 borders: codes, names, redistricting, population and roll-up."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import polars as pl

__all__ = [
    "NATION",
    "AgeGroup",
    "Geography",
    "GeographyError",
    "LocationLevel",
    "age_group_from_years",
    "load_geography",
    "municipality_code",
    "population_file_year",
]

NATION = "norge"
_REDISTRICTING_FILE = Path("locations") / "norway_locations_redistricting__derived_from_xlsx.csv"
_POPULATION_FILES = {
    2019: Path("population") / "Personer2019.csv",
    2020: Path("population") / "Personer2020.csv",
    2021: Path("population") / "Personer2021.csv",
}
# NAV reports Oslo's city districts (bydeler) under their own codes; they all belong to 0301.
OSLO_DISTRICTS = tuple(f"municip{code:04d}" for code in range(312, 336))
_OSLO = "municip0301"
UNKNOWN_MUNICIPALITY = "municip9999"


class GeographyError(Exception):
    """A reference file for locations or population is missing or not in the expected layout."""


class LocationLevel(StrEnum):
    """Granularity of a location code."""

    NATION = "nation"
    COUNTY = "county"
    MUNICIPALITY = "municip"


class AgeGroup(StrEnum):
    """Sykdomspulsen age groups; TOTAL is all ages together."""

    TOTAL = "total"
    AGE_0_4 = "0-4"
    AGE_5_14 = "5-14"
    AGE_15_19 = "15-19"
    AGE_20_29 = "20-29"
    AGE_30_64 = "30-64"
    AGE_65_PLUS = "65+"


AGE_BANDS = (
    AgeGroup.AGE_0_4,
    AgeGroup.AGE_5_14,
    AgeGroup.AGE_15_19,
    AgeGroup.AGE_20_29,
    AgeGroup.AGE_30_64,
    AgeGroup.AGE_65_PLUS,
)
# Coarse bands some feeds give for very small municipalities, folded as the spec says.
COARSE_AGE_FOLDING = {"0-9": AgeGroup.AGE_5_14, "10-19": AgeGroup.AGE_15_19}


def age_group_from_years(age: pl.Expr) -> pl.Expr:
    """Return the age group (String) of an age in whole years; null for null or negative ages."""
    return (
        pl.when(age < 0)
        .then(None)
        .when(age <= 4)
        .then(pl.lit(AgeGroup.AGE_0_4.value))
        .when(age <= 14)
        .then(pl.lit(AgeGroup.AGE_5_14.value))
        .when(age <= 19)
        .then(pl.lit(AgeGroup.AGE_15_19.value))
        .when(age <= 29)
        .then(pl.lit(AgeGroup.AGE_20_29.value))
        .when(age <= 64)
        .then(pl.lit(AgeGroup.AGE_30_64.value))
        .when(age.is_not_null())
        .then(pl.lit(AgeGroup.AGE_65_PLUS.value))
    )


def municipality_code(raw: pl.Expr) -> pl.Expr:
    """Normalise a municipality code to ``municipXXXX``.

    Accepts ``"0301"``, ``"301"``, ``301``, ``"municip0301"``, ``"municip_nor0301"`` (respiranor)
    and ``"K-0301"`` (SSB); anything else becomes null.
    """
    digits = (
        raw.cast(pl.String)
        .str.strip_chars()
        .str.replace(r"^(municip_nor|municip|K-)", "")
        .str.extract(r"^(\d{1,4})$", 1)
    )
    return pl.concat_str(pl.lit("municip"), digits.str.zfill(4))


@dataclass(frozen=True)
class Geography:
    """Locations at 2020 borders and the way older codes reach them.

    ``municipalities``: location_code, location_name, county_code (356 rows).
    ``counties``: location_code, location_name (11 rows).
    ``redistricting``: from_code, to_code, weight — every known municipality code since 1838
    (including the 2020 codes themselves with weight 1) mapped to 2020 codes.
    """

    municipalities: pl.DataFrame
    counties: pl.DataFrame
    redistricting: pl.DataFrame
    reference_dir: Path

    @property
    def location_codes(self) -> list[str]:
        """Return ``norge``, the 11 counties and the 356 municipalities, in that order."""
        return [
            NATION,
            *self.counties["location_code"].to_list(),
            *self.municipalities["location_code"].to_list(),
        ]

    def names(self) -> dict[str, str]:
        """Return location code → Norwegian name for every location."""
        names = {NATION: "Norge"}
        for frame in (self.counties, self.municipalities):
            names.update(zip(frame["location_code"], frame["location_name"], strict=True))
        return names

    def level(self, code: str) -> LocationLevel:
        """Return whether a code is the nation, a county or a municipality."""
        if code == NATION:
            return LocationLevel.NATION
        if code.startswith("county"):
            return LocationLevel.COUNTY
        return LocationLevel.MUNICIPALITY

    def map_to_2020(
        self, frame: pl.LazyFrame, value_columns: Sequence[str], code_column: str = "location_code"
    ) -> pl.LazyFrame:
        """Move counts on older municipality codes to 2020 borders.

        Oslo district codes (0312–0335) become 0301; merged codes follow their chain; a split
        code's counts are multiplied by each successor's weight and rounded half to even (as
        R's ``round``). Rows whose code is not a known municipality (including 9999) are
        dropped: filter them first if they must be reported. Other columns are kept and rows
        with equal keys summed.
        Parameters: ``value_columns`` are integer counts.
        """
        keys = [c for c in frame.collect_schema().names() if c not in value_columns]
        mapping = self.redistricting.lazy().rename({"from_code": code_column})
        code = pl.col(code_column)
        return (
            frame.with_columns(
                pl.when(code.is_in(OSLO_DISTRICTS))
                .then(pl.lit(_OSLO))
                .otherwise(code)
                .alias(code_column)
            )
            .join(mapping, on=code_column, how="inner")
            .with_columns(
                (pl.col(c) * pl.col("weight")).round(0).cast(pl.Int64).alias(c)
                for c in value_columns
            )
            .drop(code_column, "weight")
            .rename({"to_code": code_column})
            .group_by(keys)
            .agg(pl.col(c).sum() for c in value_columns)
        )

    def roll_up(
        self, frame: pl.LazyFrame, value_columns: Sequence[str], code_column: str = "location_code"
    ) -> pl.LazyFrame:
        """Add county and nation rows: counties sum their municipalities, the nation its counties.

        ``frame`` holds municipality rows at 2020 borders; other non-value columns are keys.
        """
        keys = [
            c for c in frame.collect_schema().names() if c not in value_columns and c != code_column
        ]
        county_of = self.municipalities.lazy().select(
            pl.col("location_code").alias(code_column), "county_code"
        )
        counties = (
            frame.join(county_of, on=code_column, how="inner")
            .group_by(["county_code", *keys])
            .agg(pl.col(c).sum() for c in value_columns)
            .rename({"county_code": code_column})
        )
        nation = (
            counties.group_by(keys if keys else pl.lit(0).alias("_one"))
            .agg(pl.col(c).sum() for c in value_columns)
            .with_columns(pl.lit(NATION).alias(code_column))
        )
        columns = frame.collect_schema().names()
        return pl.concat(
            [frame.select(columns), counties.select(columns), nation.select(columns)],
            how="vertical",
        )

    def population(self, years: Sequence[int] | None = None) -> pl.DataFrame:
        """Return SSB 1 January population at 2020 borders per location × age group × year.

        Years without a file take the nearest year that has one (2019–2021 are shipped).
        Returns: location_code, age (AgeGroup values incl. total), year (Int32), population (Int64)
        for the nation, counties and municipalities.
        """
        base = _population_all_years(self.reference_dir)
        available = sorted(_POPULATION_FILES)
        wanted = list(years) if years is not None else available
        parts = []
        for year in wanted:
            nearest = population_file_year(year)
            parts.append(
                base.filter(pl.col("year") == nearest).with_columns(
                    pl.lit(year, pl.Int32).alias("year")
                )
            )
        return pl.concat(parts)


def population_file_year(year: int) -> int:
    """Return the year of the SSB file whose population :meth:`Geography.population` uses for
    ``year`` (the nearest shipped year; the later one on a tie)."""
    return min(_POPULATION_FILES, key=lambda y: (abs(y - year), -y))


def _read_text(path: Path, encoding: str) -> str:
    if not path.exists():
        raise GeographyError(f"reference file not found: {path}")
    return path.read_bytes().decode(encoding)


def _redistricting(reference_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    text = _read_text(reference_dir / _REDISTRICTING_FILE, "utf-8")
    table = pl.read_csv(io.StringIO(text), infer_schema=False)
    needed = {
        *("year_end", "municip_code_end", "weighting", "municip_code", "municip_name"),
        *("county_code", "county_name"),
    }
    if not needed <= set(table.columns):
        raise GeographyError(f"{_REDISTRICTING_FILE} lacks columns {needed - set(table.columns)}")
    current = table.filter(
        pl.col("year_end").is_null() & pl.col("municip_code").str.contains(r"^municip\d{4}$")
    ).filter(pl.col("municip_code") != UNKNOWN_MUNICIPALITY)
    municipalities = current.select(
        pl.col("municip_code").alias("location_code"),
        pl.col("municip_name").alias("location_name"),
        "county_code",
    ).sort("location_code")
    counties = (
        current.select(
            pl.col("county_code").alias("location_code"),
            pl.col("county_name").alias("location_name"),
        )
        .unique()
        .sort("location_code")
    )
    edges: dict[str, list[tuple[str, float]]] = {}
    for row in table.filter(pl.col("year_end").is_not_null()).iter_rows(named=True):
        weight = float(row["weighting"]) if row["weighting"] else 1.0
        edges.setdefault(row["municip_code"], []).append((row["municip_code_end"], weight))
    targets = set(municipalities["location_code"])

    def resolve(code: str, depth: int = 0) -> dict[str, float]:
        if code in targets:
            return {code: 1.0}
        if depth > 20 or code not in edges:
            return {}
        out: dict[str, float] = {}
        for successor, weight in edges[code]:
            for final, inner in resolve(successor, depth + 1).items():
                out[final] = out.get(final, 0.0) + weight * inner
        return out

    rows = [
        (code, final, weight)
        for code in sorted(targets | set(edges))
        for final, weight in resolve(code).items()
    ]
    redistricting = pl.DataFrame(
        rows,
        schema={"from_code": pl.String, "to_code": pl.String, "weight": pl.Float64},
        orient="row",
    )
    if municipalities.height != 356 or counties.height != 11:
        raise GeographyError(
            f"expected 356 municipalities and 11 counties at 2020 borders, found "
            f"{municipalities.height} and {counties.height}"
        )
    return municipalities, counties, redistricting


@cache
def _load(reference_dir: Path) -> Geography:
    municipalities, counties, redistricting = _redistricting(reference_dir)
    return Geography(municipalities, counties, redistricting, reference_dir)


def load_geography(reference_dir: Path) -> Geography:
    """Load locations and redistricting from the reference data folder (cached per folder)."""
    return _load(Path(reference_dir).resolve())


def _read_population_file(reference_dir: Path, year: int) -> pl.DataFrame:
    """Read one SSB 07459 extract into region code, age in years and persons."""
    path = reference_dir / _POPULATION_FILES[year]
    # The three files differ: 2019 comma/ASCII with "0101 Halden"; 2020 TAB, quoted, Latin-1,
    # "K-3001 Halden"; 2021 ';', Latin-1, two title lines before the header.
    lines = _read_text(path, "latin-1").splitlines()
    header_at = next(
        (i for i, line in enumerate(lines) if line.lstrip('"').startswith("region")), None
    )
    if header_at is None:
        raise GeographyError(f"{path}: no header line with 'region'")
    header = lines[header_at]
    separator = "\t" if "\t" in header else ";" if ";" in header else ","
    frame = pl.read_csv(
        io.StringIO("\n".join(lines[header_at:])), separator=separator, infer_schema=False
    )
    if len(frame.columns) != 3:
        raise GeographyError(f"{path}: expected 3 columns (region, age, persons)")
    frame.columns = ["region", "age", "persons"]
    return frame.select(
        municipality_code(pl.col("region").str.extract(r"^(?:K-)?(\d{4})\b", 1)).alias(
            "location_code"
        ),
        pl.col("age").str.extract(r"^(\d+)", 1).cast(pl.Int32).alias("age_years"),
        pl.col("persons").cast(pl.Int64).alias("population"),
    ).filter(pl.col("location_code").is_not_null())


@cache
def _population_all_years(reference_dir: Path) -> pl.DataFrame:
    geography = load_geography(reference_dir)
    parts = []
    for year in sorted(_POPULATION_FILES):
        raw = _read_population_file(reference_dir, year)
        by_band = raw.group_by(
            "location_code", age_group_from_years(pl.col("age_years")).alias("age")
        ).agg(pl.col("population").sum())
        municipal = geography.map_to_2020(by_band.lazy(), ["population"])
        with_total = pl.concat(
            [
                municipal,
                municipal.group_by("location_code")
                .agg(pl.col("population").sum())
                .with_columns(pl.lit(AgeGroup.TOTAL.value).alias("age"))
                .select("location_code", "age", "population"),
            ]
        )
        rolled = geography.roll_up(with_total, ["population"]).with_columns(
            pl.lit(year, pl.Int32).alias("year")
        )
        parts.append(rolled.collect())
    return pl.concat(parts).select("location_code", "age", "year", "population")
