"""The Sykdomspulsen demo: FHI's files and simulated signals in one store commit, once."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from tests.conftest import TEST_SECRET, cli_env
from typer.testing import CliRunner

from korona.cli import app
from korona.config import Environment, Settings
from korona.demo import surveillance as demo
from korona.surveillance.calendar import Frequency
from korona.surveillance.store import SurveillanceStore

#: A thin national volume keeps the test quick; detection runs on every series all the same.
SCALE = 0.002


@pytest.fixture
def demo_settings(tmp_path: Path, reference_dir: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        reference_dir=reference_dir,
    )


def test_demo_fills_the_store_once(demo_settings: Settings) -> None:
    steps: list[tuple[str, int, int]] = []
    result = demo.load_surveillance_demo(
        demo_settings, years=(2020,), scale=SCALE, step=lambda *s: steps.append(s)
    )
    assert result.loaded and result.consultations > 0
    assert steps[-1][1] == steps[-1][2] == demo.demo_steps((2020,))
    store = SurveillanceStore(demo_settings.surveillance_dir)
    cases = store.cases(Frequency.WEEKLY).collect()
    # FHI's weekly municipal file: Oslo 2020-W52 as in the file (and the HISTORIC daily file,
    # ingested first, does not cut 2020-W33 short).
    oslo = cases.filter(pl.col("location_code") == "municip0301")
    assert oslo.filter(pl.col("week") == "2020-W33")["n"].item() == 156
    assert cases["location_code"].n_unique() == 1 + 11 + 356
    assert store.lab_tests(Frequency.WEEKLY).collect().height > 100
    signals = store.results("sykdomspulsen", Frequency.WEEKLY).collect()
    assert set(signals["syndrome"].unique()) == set(demo.DEMO_SYNDROMES)
    assert signals["date"].dt.year().unique().to_list() == [2020]
    assert store.results("covid19_cases", Frequency.WEEKLY).collect().height > 0
    manifest = (store.root / "manifest.json").read_bytes()
    again = demo.load_surveillance_demo(demo_settings, years=(2020,), scale=SCALE)
    assert not again.loaded
    env = cli_env(demo_settings.data_dir) | {
        "KORONA_REFERENCE_DIR": str(demo_settings.reference_dir)
    }
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    cli = runner.invoke(app, ["demo", "--password", "demo-password-1"], env=env)
    assert cli.exit_code == 0, cli.output
    assert "Sykdomspulsen demo already in the store" in cli.output
    assert (store.root / "manifest.json").read_bytes() == manifest


def test_a_failing_demo_leaves_the_store_as_it_was(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def failing_run(*args: object, **kwargs: object) -> object:
        calls.append(args)
        raise OSError("disk full")

    monkeypatch.setattr(demo, "run_store", failing_run)
    with pytest.raises(OSError, match="disk full"):
        demo.load_surveillance_demo(demo_settings, years=(2020,), scale=SCALE)
    assert calls  # it got as far as the detection, everything ingested before it
    store = SurveillanceStore(demo_settings.surveillance_dir)
    assert store.cases(Frequency.WEEKLY).collect().height == 0
    assert store.consultations(Frequency.WEEKLY).head(1).collect().height == 0
    assert not demo.is_loaded(store)
    leftovers = [p.name for p in store.root.iterdir() if p.name not in {".lock"}]
    assert all(not name.endswith(".parquet") for name in leftovers), leftovers


def test_cli_demo_says_why_the_surveillance_demo_failed(demo_settings: Settings) -> None:
    env = cli_env(demo_settings.data_dir) | {
        "KORONA_REFERENCE_DIR": str(demo_settings.data_dir / "no-reference-data")
    }
    assert CliRunner().invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    failed = CliRunner().invoke(app, ["demo"], env=env)
    assert failed.exit_code == 2
    assert "surveillance demo not loaded" in failed.output
    assert "reference file not found" in failed.output
