"""The covid-19 rule (spec §4) against a plain-R implementation with ``qpois``."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.covid19 import Covid19Detector, Covid19Source
from korona.surveillance.series import SeriesSet, Status

from .rscript import read_results, require_r, run_script, write_counts

pytestmark = [pytest.mark.reference, pytest.mark.xdist_group("r-covid19")]


def _series() -> SeriesSet:
    """Weekly covid counts and all consultations for locations of every size, 2020–2021."""
    rng = np.random.default_rng(30)
    dates = np.arange(np.datetime64("2020-01-05"), np.datetime64("2021-06-27") + 1, 7)
    t = np.arange(dates.size)
    wave = np.exp(3 * np.sin(np.pi * t / 40) ** 2)  # waves from near zero to ~20×
    counts, consultations = [], []
    for level, size in [(0.05, 30), (0.4, 200), (3.0, 1500), (40.0, 20_000), (900.0, 400_000)]:
        counts.append(rng.poisson(level * wave * rng.uniform(0.5, 2.0, dates.size)))
        consultations.append(rng.poisson(size, dates.size) + counts[-1])
    counts.append(np.zeros(dates.size, dtype=np.int64))  # never a case
    consultations.append(rng.poisson(50, dates.size))
    quiet = rng.poisson(2.0, dates.size)  # a practice closed some weeks: no consultations
    closed = rng.choice(np.arange(12, dates.size), 8, replace=False)
    quiet[closed] = 0
    counts.append(quiet)
    consultations.append(np.where(np.isin(t, closed), 0, rng.poisson(80, dates.size) + quiet))
    return SeriesSet(
        keys=pl.DataFrame({"series": [f"loc{i}" for i in range(len(counts))]}),
        frequency=Frequency.WEEKLY,
        dates=dates,
        observed=np.vstack(counts),
        denominator=np.vstack(consultations).astype(np.float64),
    )


@pytest.fixture(scope="module")
def r_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[SeriesSet, pl.DataFrame]:
    rscript = require_r()
    folder = tmp_path_factory.mktemp("covid19-r")
    series = _series()
    assert series.denominator is not None
    names = series.keys["series"].to_list()
    counts = write_counts(folder / "n.csv", series.dates, dict(zip(names, series.observed)))
    dens = write_counts(folder / "d.csv", series.dates, dict(zip(names, series.denominator)))
    run_script(rscript, "covid19.R", counts, dens, folder / "r.csv")
    return series, read_results(folder / "r.csv")


def _r_matrix(frame: pl.DataFrame, column: str, names: list[str]) -> np.ndarray:
    wide = frame.pivot(on="series", index="date", values=column).sort("date")
    return np.vstack([wide[n].cast(pl.Float64).fill_null(np.nan).to_numpy() for n in names])


@pytest.mark.parametrize("source", list(Covid19Source))
def test_covid19_equals_r_qpois(r_results, source):
    series, r = r_results
    names = series.keys["series"].to_list()
    r = r.filter(pl.col("source") == source.value)
    detector = Covid19Detector(source=source)
    got = detector.detect(series).series
    assert got.predicted is not None and got.status is not None and got.failed is not None
    columns = np.flatnonzero(got.predicted[0])
    assert [str(d) for d in got.dates[columns]] == sorted(set(r["date"].cast(pl.Utf8)))
    high = got.status[:, columns] == Status.HIGH.code
    r_high = _r_matrix(r, "high", names) == 1
    assert np.array_equal(high, r_high)
    assert high.any() and not high.all()
    assert np.array_equal(got.failed[:, columns], _r_matrix(r, "failed", names) == 1)
    np.testing.assert_array_equal(got.expected[:, columns], _r_matrix(r, "expected", names))
    if source is Covid19Source.CASES:
        np.testing.assert_array_equal(got.threshold4[:, columns], _r_matrix(r, "threshold", names))
    else:
        assert series.denominator is not None
        failed = got.failed[:, columns]
        assert failed.any()  # weeks without consultations
        percent = detector.percent_threshold(
            got.threshold4[:, columns], series.denominator[:, columns]
        )
        r_percent = _r_matrix(r, "percent", names)
        np.testing.assert_allclose(percent[~failed], r_percent[~failed], rtol=1e-12)
        assert np.isnan(r_percent[failed]).all()
