"""The Sykdomspulsen quasi-Poisson detector against a plain-R ``glm`` implementation of §2."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.detect.base import Detection
from korona.surveillance.detect.sykdomspulsen import SykdomspulsenDetector
from korona.surveillance.series import SeriesSet, Status

from .rscript import read_results, require_r, run_script, write_counts, write_rows

pytestmark = [pytest.mark.reference, pytest.mark.xdist_group("r-sykdomspulsen")]

RTOL = 1e-6


def _generate(first: str, last: str, step: int, seed: int) -> SeriesSet:
    """Count series with denominators: small to huge, outbreaks, failures by construction."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64(first), np.datetime64(last) + 1, step)
    t = np.arange(dates.size) * step / 365.25  # years
    season = np.exp(0.5 * np.cos(2 * np.pi * (t - 0.05)))
    weekday = 1.0 if step == 7 else np.where((np.arange(dates.size) + 3) % 7 >= 5, 0.3, 1.2)
    share = 1.0 if step == 7 else 1 / 7
    counts: dict[str, np.ndarray] = {}
    dens: dict[str, np.ndarray] = {}
    for name, level, size, den in [
        ("low", 0.8, 3.0, 400.0),
        ("mid", 6.0, 6.0, 3000.0),
        ("high", 80.0, 15.0, 20_000.0),
        ("huge", 400_000.0, 60.0, 9_000_000.0),
    ]:
        mean = level * share * season * weekday * np.exp(0.05 * t)
        counts[name] = rng.negative_binomial(size, size / (size + mean))
        dens[name] = np.round(den * share * weekday * rng.uniform(0.8, 1.2, dates.size))
    dens["low"][rng.choice(dates.size, 10, replace=False)] = 0  # a denominator below 1 is 1
    outbreaks = rng.negative_binomial(4, 4 / (4 + 5 * share * season * weekday))
    for start in rng.choice(dates.size - 8, size=15, replace=False):
        outbreaks[start : start + 3] += rng.integers(10, 40)
    counts["outbreaks"], dens["outbreaks"] = outbreaks, np.full(dates.size, 2000.0 * share)
    # Failure by construction: no cases in the training years (R warns, fitted rates 0) ...
    late = np.zeros(dates.size, dtype=np.int64)
    late[t > t[-1] - 1.2] = rng.poisson(3.0, int(np.count_nonzero(t > t[-1] - 1.2)))
    counts["no_cases_yet"], dens["no_cases_yet"] = late, np.full(dates.size, 1000.0 * share)
    # ... and a series growing tenfold a year, predicted above 1e10 in its last year.
    counts["explosive"] = rng.poisson(1e11 * share * 10.0 ** (t - t[-1]))
    dens["explosive"] = np.full(dates.size, 1.0)
    return SeriesSet(
        keys=pl.DataFrame({"series": list(counts)}),
        frequency=Frequency.WEEKLY if step == 7 else Frequency.DAILY,
        dates=dates,
        observed=np.vstack(list(counts.values())),
        denominator=np.vstack(list(dens.values())),
    )


CASES = {
    # weekly; 2020-W53 (Sunday 2021-01-03) belongs to 2021
    "weekly": (lambda: _generate("2013-01-06", "2021-03-28", 7, seed=20), [2019, 2020, 2021]),
    # data starting later than Y-5: the first five years train, early years in-sample
    "weekly-late-start": (lambda: _generate("2016-07-03", "2021-06-27", 7, seed=21), [2016, 2017]),
    "daily": (lambda: _generate("2014-01-01", "2020-12-31", 1, seed=22), [2019, 2020]),
}


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    """Run the R implementation once for every case; return (korona detection, R frame)."""
    rscript = require_r()
    folder = tmp_path_factory.mktemp("sykdomspulsen-r")
    data, jobs = {}, []
    for number, (name, (make, years)) in enumerate(CASES.items()):
        series = data[name] = make()
        assert series.denominator is not None
        names = [str(k) for k in series.keys["series"]]
        counts = write_counts(
            folder / f"{name}-n.csv", series.dates, dict(zip(names, series.observed, strict=True))
        )
        dens = write_counts(
            folder / f"{name}-d.csv",
            series.dates,
            dict(zip(names, series.denominator, strict=True)),
        )
        jobs.append(
            {
                "job": number,
                "counts": str(counts),
                "denominators": str(dens),
                "frequency": series.frequency.value,
                "years": ";".join(map(str, years)),
            }
        )
    run_script(rscript, "sykdomspulsen.R", write_rows(folder / "jobs.csv", jobs), folder / "r.csv")
    r = read_results(folder / "r.csv")
    out = {}
    for number, (name, (_, years)) in enumerate(CASES.items()):
        detection = SykdomspulsenDetector().detect(data[name], years=years)
        out[name] = (detection, r.filter(pl.col("job") == number), years)
    return out


def _r_matrix(frame: pl.DataFrame, column: str, series: SeriesSet, columns: np.ndarray):
    wide = frame.pivot(on="series", index="date", values=column).sort("date")
    assert wide["date"].to_list() == [str(d) for d in series.dates[columns]]
    names = [str(k) for k in series.keys["series"]]
    return np.vstack([wide[n].cast(pl.Float64).fill_null(np.nan).to_numpy() for n in names])


def _status(n: np.ndarray, u2: np.ndarray, u4: np.ndarray) -> np.ndarray:
    """Spec §2 step 7, spelled out."""
    high = (n >= 4) & (n > u4)
    medium = ~high & (n >= 3) & (n > u2)
    return np.where(high, Status.HIGH.code, np.where(medium, Status.MEDIUM.code, 0))


@pytest.mark.parametrize("name", list(CASES))
def test_sykdomspulsen_equals_plain_r_glm(compared, name):
    detection, r, years = compared[name]
    got = detection.series
    assert got.predicted is not None and got.failed is not None
    columns = np.flatnonzero(got.predicted[0])
    assert np.array_equal(columns, np.flatnonzero(np.isin(got.years(), years)))
    r_failed = _r_matrix(r, "failed", got, columns) == 1
    assert np.array_equal(got.failed[:, columns], r_failed), name
    for ours, theirs in [
        ("expected", "expected"),
        ("threshold2", "u2"),
        ("threshold4", "u4"),
        ("threshold6", "u6"),
    ]:
        np.testing.assert_allclose(
            getattr(got, ours)[:, columns],
            _r_matrix(r, theirs, got, columns),
            rtol=RTOL,
            err_msg=f"{name}: {ours}",
        )
    # The z-score is a difference; compare it on the scale of its terms.
    sd_scale = 1 + np.abs(_r_matrix(r, "z", got, columns))
    np.testing.assert_allclose(
        got.zscore[:, columns] / sd_scale,
        _r_matrix(r, "z", got, columns) / sd_scale,
        atol=RTOL,
        err_msg=f"{name}: zscore",
    )
    status = _status(
        got.observed[:, columns],
        _r_matrix(r, "u2", got, columns),
        _r_matrix(r, "u4", got, columns),
    )
    assert np.array_equal(got.status[:, columns], status), name
    _check_dispersion(detection, r, got, columns, years)


def _check_dispersion(
    detection: Detection, r: pl.DataFrame, got: SeriesSet, columns: np.ndarray, years: list[int]
) -> None:
    """φ of each (series, year) fit equals R's, unfloored (spec §2 step 4)."""
    phi = _r_matrix(r, "phi", got, columns)
    year_of = got.years()[columns]
    for j, year in enumerate(years):
        theirs = phi[:, np.flatnonzero(year_of == year)[0]]
        np.testing.assert_allclose(detection.dispersion[:, j], theirs, rtol=RTOL)
    assert np.nanmin(phi) < 1  # a dispersion below 1 is kept, not floored


@pytest.mark.parametrize("name", ["weekly", "daily"])
def test_the_failure_rule_is_exercised(compared, name):
    """Both failure causes occur: no cases to train on, and a prediction above 1e10."""
    detection, _, _ = compared[name]
    got = detection.series
    assert got.failed is not None
    names = got.keys["series"].to_list()
    failed = got.failed.any(axis=1)
    assert failed[names.index("no_cases_yet")] and failed[names.index("explosive")]
    assert not failed[names.index("mid")]
