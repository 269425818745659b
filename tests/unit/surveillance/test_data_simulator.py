"""Tests that simulated KUHR records have the intended volume, patterns and outbreaks."""

import polars as pl
import pytest

from korona.surveillance.sources.kuhr import KUHR_COLUMNS
from korona.surveillance.sources.kuhr_read import is_simulated
from korona.surveillance.sources.simulator import (
    OutputFormat,
    SimulationParameters,
    simulate_kuhr,
)


@pytest.fixture(scope="module")
def simulated(geography, tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    result = simulate_kuhr(
        geography, out, years=1, seed=5, start_year=2019, params=SimulationParameters(scale=0.02)
    )
    return (
        result,
        pl.read_parquet(result.files[0]),
        pl.read_csv(result.ground_truth, try_parse_dates=True),
    )


def test_columns_and_volume(simulated):
    result, records, _ = simulated
    assert tuple(records.columns) == KUHR_COLUMNS
    assert result.rows == records.height
    consultations = records["consultation_id"].n_unique()
    assert consultations == result.consultations
    # 2.3 consultations per person-year × 2 % of 5.33 million people ≈ 245 000.
    assert 220_000 < consultations < 270_000
    assert records["practice_municipality"].n_unique() > 300
    assert is_simulated(result.files[0])  # ingest marks the store's consultations simulated


def test_weekends_holidays_and_out_of_hours(simulated):
    _, records, _ = simulated
    per_day = (
        records.unique("consultation_id")
        .group_by("consultation_date", "practice_type")
        .len()
        .with_columns(pl.col("consultation_date").dt.weekday().alias("weekday"))
    )
    gp = per_day.filter(pl.col("practice_type") == "gp")
    monday = gp.filter(pl.col("weekday") == 1)["len"].mean()
    sunday = gp.filter(pl.col("weekday") == 7)["len"].mean()
    assert sunday < 0.1 * monday
    christmas = gp.filter(pl.col("consultation_date") == pl.date(2019, 12, 25))["len"].sum()
    assert christmas < 0.1 * monday
    out_of_hours = per_day.filter(pl.col("practice_type") == "out_of_hours")
    assert (
        out_of_hours.filter(pl.col("weekday") == 7)["len"].mean()
        > out_of_hours.filter(pl.col("weekday") == 3)["len"].mean()
    )


def test_winter_seasonality(simulated):
    _, records, _ = simulated
    month = pl.col("consultation_date").dt.month()
    respiratory = records.filter(pl.col("icpc2_code").is_in(["R74", "R05"]))
    winter = respiratory.filter(month.is_in([1, 2])).height
    summer = respiratory.filter(month.is_in([7, 8])).height
    assert winter > 2 * summer
    influenza = records.filter(pl.col("icpc2_code") == "R80")
    assert influenza.filter(month <= 3).height > 5 * influenza.filter(month.is_in([6, 7, 8])).height


def test_outbreaks_written_and_present(simulated):
    _, records, truth = simulated
    assert truth.height == 24
    assert (truth["end_date"] >= truth["start_date"]).all()
    biggest = truth.sort("injected_consultations", descending=True).row(0, named=True)
    inside = records.filter(
        pl.col("practice_municipality") == biggest["location_code"].removeprefix("municip"),
        pl.col("icpc2_code") == biggest["icpc2_code"],
        pl.col("consultation_date").is_between(biggest["start_date"], biggest["end_date"]),
    )["consultation_id"].n_unique()
    assert inside >= biggest["injected_consultations"]


def test_csv_output_same_records(geography, tmp_path):
    params = SimulationParameters(scale=0.001)
    a = simulate_kuhr(geography, tmp_path / "a", years=1, seed=2, start_year=2020, params=params)
    b = simulate_kuhr(
        geography,
        tmp_path / "b",
        years=1,
        seed=2,
        start_year=2020,
        params=params,
        output_format=OutputFormat.CSV,
    )
    parquet = pl.read_parquet(a.files[0]).with_columns(pl.all().cast(pl.String))
    csv = pl.read_csv(b.files[0], infer_schema=False)
    assert parquet.equals(csv)
