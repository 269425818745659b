"""A surveillance store with weekly cases, lab tests and signal results, for report tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance.calendar import Frequency, parse_iso_week, week_sunday
from korona.surveillance.geo import AgeGroup, Geography
from korona.surveillance.store import SurveillanceStore

SYNDROMES = ("covid19", "gastro", "influensa", "respiratoryexternal")
#: (location, syndrome, age) made a high signal in the last week of every filled store.
HIGH = (("municip4601", "gastro", "65+"), ("municip4601", "influensa", "total"))


def fill_store(
    root: Path,
    geography: Geography,
    *,
    last_week: str = "2020-W20",
    weeks: int = 20,
    seed: int = 1,
    high: Sequence[tuple[str, str, str]] = HIGH,
    short_week: str | None = None,
) -> SurveillanceStore:
    """Write weeks of cases, lab tests and sykdomspulsen results ending with ``last_week``.

    Every municipality, county and the nation get results for every age group and syndrome;
    ``high`` series are high in the last week (z-score above 4), the others normal.
    ``short_week``: that week's consultation totals are a tenth of the usual (incomplete).
    """
    rng = np.random.default_rng(seed)
    store = SurveillanceStore(root)
    last = week_sunday(*parse_iso_week(last_week))
    sundays = [last - dt.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    municipalities = geography.municipalities["location_code"].to_list()
    n_m = len(municipalities)
    cases = pl.DataFrame(
        {
            "location_code": np.repeat(municipalities, weeks),
            "date": sundays * n_m,
            "n": rng.poisson(4, n_m * weeks),
        }
    )
    store.write_cases(cases, Frequency.WEEKLY)
    lab = pl.DataFrame(
        {
            "location_code": np.repeat(municipalities, weeks),
            "date": sundays * n_m,
            "n_pos": rng.poisson(5, n_m * weeks),
            "n_neg": rng.poisson(200, n_m * weeks),
        }
    )
    store.write_lab_tests(lab, Frequency.WEEKLY)
    locations = geography.location_codes
    ages = [a.value for a in AgeGroup]
    keys = (
        pl.DataFrame({"location_code": locations})
        .join(pl.DataFrame({"age": ages}), how="cross")
        .join(pl.DataFrame({"syndrome": list(SYNDROMES)}), how="cross")
        .join(pl.DataFrame({"date": sundays}), how="cross")
    )
    rows = keys.height
    expected = rng.uniform(5, 40, rows)
    short = week_sunday(*parse_iso_week(short_week)) if short_week else dt.date(1900, 1, 7)
    frame = keys.with_columns(
        pl.Series("n", rng.poisson(expected)).cast(pl.Int64),
        pl.when(pl.col("date") == short)
        .then(100)
        .otherwise(1000)
        .cast(pl.Int64)
        .alias("denominator"),
        pl.Series("expected", expected),
        pl.Series("zscore", rng.normal(0, 1, rows)),
        pl.lit("normal").alias("status"),
        pl.lit(0.0).alias("excess"),
    )
    for index, (code, syndrome, age) in enumerate(high):
        hit = (
            (pl.col("location_code") == code)
            & (pl.col("syndrome") == syndrome)
            & (pl.col("age") == age)
            & (pl.col("date") == last)
        )
        frame = frame.with_columns(
            pl.when(hit).then(pl.lit("high")).otherwise(pl.col("status")).alias("status"),
            pl.when(hit).then(90).otherwise(pl.col("n")).alias("n"),
            pl.when(hit).then(20.0).otherwise(pl.col("expected")).alias("expected"),
            pl.when(hit).then(9.0 - index).otherwise(pl.col("zscore")).alias("zscore"),
            pl.when(hit).then(70.0 - index).otherwise(pl.col("excess")).alias("excess"),
        )
    years = sorted({d.year for d in sundays})
    store.write_results("sykdomspulsen", Frequency.WEEKLY, frame, years)
    return store
