"""A run on a dask.distributed cluster gives the same results as a run in this process."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from distributed import LocalCluster
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from korona.surveillance.analysis import run_store
from korona.surveillance.calendar import Frequency
from korona.surveillance.cli import app
from korona.surveillance.detect import FarringtonDetector, SykdomspulsenDetector
from korona.surveillance.executors import DaskExecutor, ExecutorError, location_parts
from korona.surveillance.series import SeriesSet
from korona.surveillance.store import SurveillanceStore

LOCATIONS = ("norge", "county03", "county46", "municip0301", "municip4601", "municip1151")


def _store(root, seed=11) -> SurveillanceStore:
    rng = np.random.default_rng(seed)
    days = pl.date_range(dt.date(2013, 1, 1), dt.date(2019, 12, 31), eager=True)
    frames = [
        pl.DataFrame(
            {
                "location_code": location,
                "age": age,
                "syndrome": syndrome,
                "contact_type": "in_person",
                "practice_type": "gp",
                "date": days,
                "n": rng.poisson(level, days.len()),
                "denominator": rng.poisson(40 * level, days.len()),
            }
        )
        for location, level in zip(LOCATIONS, (40, 12, 9, 3, 5, 0.05), strict=True)
        for age in ("total", "0-4")
        for syndrome in ("gastro", "influensa")
    ]
    store = SurveillanceStore(root)
    store.write_consultations(pl.concat(frames))
    return store


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def _results(store: SurveillanceStore, method: str) -> dict[Frequency, pl.DataFrame]:
    frames = {f: store.results(method, f).collect() for f in Frequency}
    return {f: frame for f, frame in frames.items() if frame.height}


@pytest.mark.parametrize(
    "detector", [SykdomspulsenDetector(), FarringtonDetector()], ids=["sykdomspulsen", "farrington"]
)
def test_a_dask_run_equals_a_local_run(tmp_path, cluster, detector):
    here = _store(tmp_path / "here")
    there = _store(tmp_path / "there")
    local = run_store(here, detector, [2018, 2019])
    remote = run_store(there, detector, [2018, 2019], executor=DaskExecutor(cluster))
    assert remote.analyses == local.analyses
    assert sum(a.fits for a in local.analyses) > 0
    expected, got = _results(here, detector.method.value), _results(there, detector.method.value)
    assert expected.keys() == got.keys() and expected
    for frequency, frame in expected.items():
        assert frame.height > 0
        assert_frame_equal(got[frequency], frame)


def test_parts_keep_whole_locations_in_row_order():
    keys = pl.DataFrame(
        {
            "location_code": ["a", "a", "b", "c", "c", "c", "d"],
            "age": ["total", "0-4", "total", "total", "0-4", "5-14", "total"],
        }
    )
    dates = np.array(["2020-01-05"], dtype="datetime64[D]")
    series = SeriesSet(keys, Frequency.WEEKLY, dates, np.zeros((7, 1), dtype=np.int64), None)
    parts = location_parts(series, 3)
    assert [p.tolist() for p in parts] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [p.tolist() for p in location_parts(series, 10)] == [[0, 1], [2], [3, 4, 5], [6]]
    shuffled = SeriesSet(
        pl.DataFrame({"location_code": ["a", "b", "a"], "age": ["total", "total", "0-4"]}),
        Frequency.WEEKLY,
        dates,
        np.zeros((3, 1), dtype=np.int64),
        None,
    )
    with pytest.raises(ExecutorError, match="grouped by location"):
        location_parts(shuffled, 2)


def test_cli_asks_for_a_scheduler_and_names_an_unreachable_one(tmp_path, monkeypatch):
    _store(tmp_path / "surveillance")
    monkeypatch.setenv("KORONA_DATA_DIR", str(tmp_path))
    missing = CliRunner().invoke(app, ["run", "--years", "2019", "--executor", "dask"])
    assert missing.exit_code == 2
    assert "needs --scheduler" in " ".join(missing.output.split())
    stray = CliRunner().invoke(app, ["run", "--years", "2019", "--scheduler", "tcp://x:1"])
    assert stray.exit_code == 2 and "only used with --executor dask" in stray.output
    unreachable = CliRunner().invoke(
        app,
        [
            *("run", "--years", "2019", "--executor", "dask"),
            *("--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1"),
        ],
    )
    assert unreachable.exit_code == 2
    assert "cannot reach the Dask scheduler" in " ".join(unreachable.output.split())
    assert "Traceback" not in unreachable.output


def test_cli_runs_on_the_cluster(tmp_path, monkeypatch, cluster):
    store = _store(tmp_path / "surveillance")
    monkeypatch.setenv("KORONA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        app, ["run", "--years", "2019", "--executor", "dask", "--scheduler", cluster]
    )
    assert result.exit_code == 0, result.output
    assert store.results("sykdomspulsen", Frequency.WEEKLY).collect().height > 0
