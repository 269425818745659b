"""Reference data for the surveillance tests, from the one ``reference_dir`` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from korona.surveillance.geo import Geography, load_geography
from korona.surveillance.sources.kuhr import icpc2_codes


@pytest.fixture(scope="session")
def geography(reference_dir: Path) -> Geography:
    """Return Norway's locations at 2020 borders from the reference data."""
    return load_geography(reference_dir)


@pytest.fixture(scope="session")
def icpc2(reference_dir: Path) -> list[str]:
    """Return the known ICPC-2 codes from the reference data."""
    return icpc2_codes(reference_dir)


@pytest.fixture(scope="session")
def covid_dir(reference_dir: Path) -> Path:
    """Return FHI's covid-19 files in the reference data."""
    return reference_dir / "covid19"
