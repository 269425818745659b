"""The store commits each ingest whole: kill -9 at any point leaves the old or the new store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from korona.surveillance.calendar import Frequency
from korona.surveillance.cli import app
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.store import CRASH_VARIABLE, StoreError, SurveillanceStore

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "kuhr_example.csv"


def snapshot(root: Path) -> dict[str, object]:
    """Return what the store holds: every file its manifest names, read back, and the tables
    kept in the manifest (not the zero-filled grid: 368 locations × 127 days is too big)."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    seen: dict[str, object] = {
        name: pl.read_parquet(root / physical).sort(pl.all()).rows()
        for name, physical in manifest["files"].items()
    }
    store = SurveillanceStore(root)
    seen["dimensions"], seen["syndromes"] = store.dimensions(), store.syndrome_table()
    seen["tables"] = sorted(manifest["ingest_log"])
    oslo = store.consultations(Frequency.WEEKLY).filter(pl.col("location_code") == "municip0301")
    seen["oslo weekly"] = oslo.collect().sort(pl.all()).rows()  # as a reader sees it
    return seen


def corrected_example(tmp_path: Path) -> Path:
    """The example file with one more day and a changed diagnosis: a second ingest changes
    daily rows, weekly rows and the dimensions."""
    text = EXAMPLE.read_text(encoding="utf-8").replace(",D11,", ",R74,")
    extra = "K9001,D11,40,0301,3024,2020-01-07,2ad,legevakt\n"
    path = tmp_path / "kuhr_corrected.csv"
    path.write_text(text + extra, encoding="utf-8")
    return path


def korona_surveillance(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``korona surveillance ARGS`` in a new process (the surveillance app alone: the
    same command without importing the web app, which makes each run seconds faster)."""
    command = "from korona.surveillance.cli import app; app(prog_name='korona surveillance')"
    return subprocess.run(
        [sys.executable, "-c", command, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def status(data: Path):
    return CliRunner().invoke(app, ["status", "--data-dir", str(data)], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def stores(tmp_path_factory, reference_dir):
    """The store before the second ingest (old) and after it (new), built in this process."""
    base = tmp_path_factory.mktemp("stores")
    old = base / "old" / "surveillance"
    ingest_file(EXAMPLE, SurveillanceStore(old), reference_dir)
    second = corrected_example(base)
    new = base / "new" / "surveillance"
    shutil.copytree(old, new)
    ingest_file(second, SurveillanceStore(new), reference_dir)
    return old, new, second


@pytest.mark.parametrize(
    ("point", "survives"),
    [
        ("staged-daily", "old"),
        ("staged-weekly", "old"),
        ("before-commit", "old"),
        ("after-commit", "new"),
    ],
)
def test_kill_9_during_ingest_leaves_old_or_new_store(
    stores, reference_dir, tmp_path, point, survives
):
    old, new, second = stores
    data = tmp_path / "var"
    shutil.copytree(old, data / "surveillance")
    env = {**os.environ, CRASH_VARIABLE: point}
    done = korona_surveillance(
        "ingest",
        second,
        "--data-dir",
        data,
        "--reference-dir",
        reference_dir,
        env=env,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    expected = snapshot(old if survives == "old" else new)
    assert snapshot(data / "surveillance") == expected
    assert snapshot(old) != snapshot(new)  # the two outcomes are distinguishable
    result = status(data)
    assert result.exit_code == 0, result.output
    if survives == "old":
        assert "interrupted write" in " ".join(result.output.split())
    repaired = CliRunner().invoke(app, ["repair", "--data-dir", str(data)])
    assert repaired.exit_code == 0
    assert "Note:" not in status(data).output
    assert snapshot(data / "surveillance") == expected


def test_kill_9_between_daily_and_weekly_cases_keeps_the_old_cases(
    covid_dir, reference_dir, tmp_path
):
    data = tmp_path / "var"
    env = {**os.environ, CRASH_VARIABLE: "staged-daily"}
    county_file = covid_dir / "data_covid19_msis_by_time_location_latest.csv"
    done = korona_surveillance(
        "ingest",
        county_file,
        "--data-dir",
        data,
        "--reference-dir",
        reference_dir,
        env=env,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    store = SurveillanceStore(data / "surveillance")
    assert store.cases(Frequency.DAILY).collect().height == 0
    assert store.cases(Frequency.WEEKLY).collect().height == 0
    result = status(data)
    assert result.exit_code == 0 and "interrupted write" in " ".join(result.output.split())


def test_status_says_when_the_store_is_inconsistent_and_how_to_repair(stores, tmp_path):
    old, _, _ = stores
    root = tmp_path / "var" / "surveillance"
    shutil.copytree(old, root)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    lost = next(iter(manifest["files"].values()))
    (root / lost).unlink()
    result = status(tmp_path / "var")
    words = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "inconsistent" in words and lost in words and "korona surveillance repair" in words
    with pytest.raises(StoreError, match="inconsistent"):
        SurveillanceStore(root).consultations(Frequency.DAILY)
    repaired = CliRunner().invoke(app, ["repair", "--data-dir", str(tmp_path / "var")])
    assert repaired.exit_code == 2 and "ingest the source files again" in repaired.output

    (root / "manifest.json").write_text("{not json", encoding="utf-8")
    result = status(tmp_path / "var")
    assert result.exit_code == 2 and "damaged" in result.output


def test_a_store_from_before_the_manifest_is_adopted_by_repair(stores, tmp_path):
    old, _, _ = stores
    root = tmp_path / "var" / "surveillance"
    shutil.copytree(old, root)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    # Rebuild the older layout: plain file names, dimensions.json and ingest_log.json.
    for name, physical in manifest["files"].items():
        (root / physical).rename(root / f"{name}.parquet")
    (root / "consultations" / "dimensions.json").write_text(json.dumps(manifest["dimensions"]))
    (root / "ingest_log.json").write_text(json.dumps(manifest["ingest_log"]))
    (root / "manifest.json").unlink()
    result = status(tmp_path / "var")
    assert result.exit_code == 2 and "older korona" in result.output
    repaired = CliRunner().invoke(app, ["repair", "--data-dir", str(tmp_path / "var")])
    assert repaired.exit_code == 0 and "adopted" in repaired.output
    assert status(tmp_path / "var").exit_code == 0
    seen, before = snapshot(root), snapshot(old)
    seen.pop("syndromes"), before.pop("syndromes")  # the old layout did not record the table
    assert seen == before
