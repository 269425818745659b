"""A small surveillance store for page and API tests: FHI's real covid-19 files, simulated
covid and gastro consultations and signals for the last weeks (built in a few seconds)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from korona.surveillance.analysis import run_store
from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import Covid19Detector
from korona.surveillance.geo import AgeGroup, load_geography
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.store import SurveillanceStore

COVID_FILES = (
    "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv",
    "data_covid19_msis_by_time_location_latest.csv",
    "data_covid19_lab_by_time_latest.csv",
)
#: Consultations are simulated for these weeks (Mondays), enough for the covid signal and
#: the completeness rule; signals are written for the last SIGNAL_WEEKS of them.
FIRST_MONDAY = dt.date(2021, 6, 7)
WEEKS = 30
SIGNAL_WEEKS = 12
SYNDROMES = ("covid19", "gastro")


def build_store(root: Path, reference_dir: Path, *, seed: int = 13) -> SurveillanceStore:
    """Return a store with real cases and lab tests and simulated consultations and signals.

    Consultations: every location (municipalities, rolled up to counties and the nation),
    every age band and total, covid19 and gastro, one day a week, Poisson counts scaled by
    population so small municipalities have counts of 1–4. Week 10 of Bergen's totals is cut
    to a fifth, so the completeness rule flags it.
    """
    store = SurveillanceStore(root)
    covid_dir = reference_dir / "covid19"
    for name in COVID_FILES:
        ingest_file(covid_dir / name, store, reference_dir)
    geography = load_geography(reference_dir)
    rng = np.random.default_rng(seed)
    population = geography.population([2021]).filter(
        pl.col("location_code").str.starts_with("municip")
    )
    bands = population.filter(pl.col("age") != AgeGroup.TOTAL.value)
    rows = []
    for week in range(WEEKS):
        day = FIRST_MONDAY + dt.timedelta(weeks=week)
        # Consultations per person a week ≈ 2.3 / 52; covid about 1 %, gastro about 1.5 %.
        expected_all = bands["population"].to_numpy() * 2.3 / 52
        cut = (bands["location_code"] == "municip4601").to_numpy() & (week == 10)
        expected_all = np.where(cut, expected_all / 5, expected_all)
        for contact, share in (("in_person", 0.8), ("telephone", 0.2)):
            total = rng.poisson(expected_all * share)
            for syndrome, rate in (("covid19", 0.01), ("gastro", 0.015)):
                n = rng.binomial(total, rate)
                rows.append(
                    pl.DataFrame(
                        {
                            "location_code": bands["location_code"],
                            "age": bands["age"],
                            "syndrome": syndrome,
                            "contact_type": contact,
                            "practice_type": "gp",
                            "date": day,
                            "n": n,
                            "denominator": total,
                        }
                    )
                )
    municipal = pl.concat(rows)
    with_total = pl.concat(
        [
            municipal,
            municipal.group_by("location_code", "syndrome", "contact_type", "practice_type", "date")
            .agg(pl.col("n").sum(), pl.col("denominator").sum())
            .with_columns(pl.lit(AgeGroup.TOTAL.value).alias("age"))
            .select(municipal.columns),
        ]
    )
    values = ["n", "denominator"]
    every = geography.roll_up(with_total.lazy(), values).collect()
    store.write_consultations(every, locations=geography.location_codes)
    run_store(store, Covid19Detector(), [2021])
    _write_signals(store, rng)
    return store


def copy_store(
    tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, root: Path
) -> SurveillanceStore:
    """Return a copy at ``root`` of ``build_store(…, reference_dir)``'s store.

    The store is built once per test run and shared by the xdist workers
    (tests.conftest.build_once); each caller gets its own copy, which it may write.
    """
    from tests.conftest import build_once

    shared = build_once(
        tmp_path_factory,
        "surveillance-store",
        lambda path: build_store(path / "store", reference_dir),
    )
    shutil.copytree(shared / "store", root, dirs_exist_ok=True)
    return SurveillanceStore(root)


def _write_signals(store: SurveillanceStore, rng: np.random.Generator) -> None:
    """Write Sykdomspulsen-shaped results for gastro: expected near the count, some weeks
    medium or high by the spec's status rule (§2.7)."""
    counts = (
        store.syndrome_series(
            Frequency.WEEKLY,
            {"gastro": ["in_person", "telephone"]},
            first=FIRST_MONDAY,
            last=FIRST_MONDAY + dt.timedelta(weeks=WEEKS),
        )
        .filter(pl.col("date") > pl.col("date").max() - dt.timedelta(weeks=SIGNAL_WEEKS))
        .sort("location_code", "age", "syndrome", "date")
    )
    n = counts["n"].to_numpy().astype(float)
    expected = np.maximum(n * rng.uniform(0.6, 1.3, n.size), 0.5)
    sd = np.sqrt(4 / 9 * expected ** (1 / 3) * 1.2)
    threshold2 = np.maximum((expected ** (2 / 3) + 2 * sd) ** 1.5, 2.5)
    threshold4 = np.maximum((expected ** (2 / 3) + 4 * sd) ** 1.5, 3.0)
    status = np.where(
        (n >= 4) & (n > threshold4),
        "high",
        np.where((n >= 3) & (n > threshold2), "medium", "normal"),
    )
    results = counts.with_columns(
        pl.Series("expected", expected),
        pl.Series("threshold2", threshold2),
        pl.Series("threshold4", threshold4),
        pl.Series("threshold6", threshold4 * 1.3),
        pl.Series("zscore", (n ** (2 / 3) - expected ** (2 / 3)) / sd),
        pl.Series("status", status),
        pl.Series("excess", np.ceil(np.maximum(0, n - threshold2)).astype(np.int64)),
        pl.lit(False).alias("failed"),
        pl.col("date").dt.iso_year().cast(pl.Int32).alias("iso_year"),
        pl.col("date").dt.week().cast(pl.Int32).alias("iso_week"),
        pl.col("date").dt.strftime("%G-W%V").alias("week"),  # as the detector run writes
    )
    years = sorted(set(results["date"].dt.year().to_list()))
    store.write_results("sykdomspulsen", Frequency.WEEKLY, results, years)


__all__ = ["build_store", "copy_store"]
