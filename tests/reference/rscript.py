"""Run the R scripts of this folder through Rscript, exchanging data as CSV files."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest

HERE = Path(__file__).parent
INSTALL_HINT = (
    "R is not installed; the R reference suite needs Rscript and the surveillance package: "
    "apt-get install --no-install-recommends r-base-core r-cran-surveillance"
)


def require_r() -> str:
    """Return the Rscript path; skip without R locally, fail without it in CI (CI=true)."""
    rscript = shutil.which("Rscript")
    problem = None
    if rscript is None:
        problem = INSTALL_HINT
    else:
        probe = subprocess.run(
            [rscript, "--vanilla", "-e", "library(surveillance)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            problem = f"{INSTALL_HINT} ({probe.stderr.strip().splitlines()[-1]})"
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem, pytrace=False)
        pytest.skip(problem)
    assert rscript is not None
    return rscript


def run_script(rscript: str, script: str, *paths: Path) -> None:
    """Run ``script`` (a file of this folder) with ``paths`` as arguments; raise on failure."""
    done = subprocess.run(
        [rscript, "--vanilla", str(HERE / script), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{script} failed ({done.returncode}):\n{done.stderr}")


def write_counts(path: Path, dates: np.ndarray, columns: Mapping[str, np.ndarray]) -> Path:
    """Write one CSV with a ``date`` column and one column per named series."""
    frame = pl.DataFrame({"date": [str(d) for d in dates], **{k: v for k, v in columns.items()}})
    frame.write_csv(path)
    return path


def write_rows(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    """Write dictionaries (one per row, same keys) as a CSV."""
    pl.DataFrame(list(rows)).write_csv(path)
    return path


def read_results(path: Path) -> pl.DataFrame:
    """Read an R results CSV; R's NA becomes null."""
    return pl.read_csv(path, null_values="NA", infer_schema_length=None)
