"""The Sykdomspulsen demo: FHI's covid-19 files and simulated consultations with signals."""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from korona.config import Settings
from korona.surveillance.analysis import run_store
from korona.surveillance.calendar import Frequency
from korona.surveillance.detect import Covid19Detector, SykdomspulsenDetector
from korona.surveillance.geo import load_geography
from korona.surveillance.sources.ingest import ingest_file
from korona.surveillance.sources.simulator import SimulationParameters, simulate_kuhr
from korona.surveillance.sources.syndromes import load_syndromes
from korona.surveillance.store import SurveillanceStore

__all__ = [
    "DEMO_SCALE",
    "DEMO_SYNDROMES",
    "SIGNAL_YEARS",
    "SurveillanceDemoResult",
    "demo_steps",
    "load_surveillance_demo",
]

#: The syndromes the demo counts: the four the pages lead with. The other six of the shipped
#: table would double the ingest and detection time (the demo must stay near half a minute).
DEMO_SYNDROMES = ("covid19", "gastro", "influensa", "respiratoryexternal")
#: Prediction years with signals: the pandemic years that FHI's covid-19 files cover.
SIGNAL_YEARS = (2020, 2021, 2022)
#: Share of the national consultation volume simulated: Bergen gets ~380 consultations a week,
#: enough for signals in the larger municipalities while simulation and ingest stay quick.
DEMO_SCALE = 0.03
DEMO_SEED = 2020
#: FHI's files in ingest order: the daily municipal file (ending on a Saturday) before the
#: weekly municipal file, so that every stored week of the weekly file is a whole week.
COVID_FILES = (
    "data_covid19_msis_by_location__HISTORIC.csv",
    "municip_weekly_cases_by_regdate_b2020__derived_from_respiranor_total_b2020_rda.csv",
    "data_covid19_msis_by_time_location_latest.csv",
    "data_covid19_lab_by_time_latest.csv",
    "data_covid19_hospital_by_time_latest.csv",
)

#: Progress callback: (what happens now, steps done so far, all steps).
Step = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SurveillanceDemoResult:
    """What loading the surveillance demo did."""

    loaded: bool
    seconds: float
    consultations: int = 0
    signals: int = 0


def demo_steps(years: Sequence[int] = SIGNAL_YEARS) -> int:
    """Return how many progress steps :func:`load_surveillance_demo` reports."""
    simulated = max(years) - min(years) + 1 + SykdomspulsenDetector().years_back
    return 2 * simulated + len(COVID_FILES) + 2


def is_loaded(store: SurveillanceStore) -> bool:
    """Return whether the store already holds the demo (cases and signals)."""
    cases = store.cases(Frequency.WEEKLY).head(1).collect().height
    results = store.results("sykdomspulsen", Frequency.WEEKLY).head(1).collect().height
    return bool(cases and results)


def load_surveillance_demo(
    settings: Settings,
    *,
    step: Step = lambda _text, _done, _total: None,
    years: Sequence[int] = SIGNAL_YEARS,
    scale: float = DEMO_SCALE,
) -> SurveillanceDemoResult:
    """Fill the surveillance store under ``settings.data_dir`` with the demo, once.

    Simulates KUHR consultations (``scale`` of the national volume, the five training years
    before ``years`` and ``years`` themselves), ingests them and FHI's covid-19 files from the
    reference folder through the ordinary ingest, and runs the Sykdomspulsen and covid-19
    detectors for ``years``. Everything is one store transaction: a crash or an error leaves
    the store as it was. A store that already holds cases and signals is left alone.
    """
    started = time.perf_counter()
    store = SurveillanceStore(settings.surveillance_dir)
    if store.root.exists() and is_loaded(store):
        return SurveillanceDemoResult(loaded=False, seconds=time.perf_counter() - started)
    reference = settings.reference_dir
    detector = SykdomspulsenDetector()
    first_year = min(years) - detector.years_back
    simulated_years = max(years) - first_year + 1
    total = demo_steps(years)
    done = 0

    def advance(text: str) -> None:
        nonlocal done
        done += 1
        step(text, done, total)

    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="korona-demo-", dir=store.root.parent) as work:
        folder = Path(work)
        syndromes = folder / "syndromes.csv"
        _write_syndromes(syndromes, DEMO_SYNDROMES)
        step(f"Simulating consultations {first_year}–{max(years)}", done, total)
        simulation = simulate_kuhr(
            load_geography(reference),
            folder / "kuhr",
            years=simulated_years,
            seed=DEMO_SEED,
            start_year=first_year,
            params=SimulationParameters(scale=scale),
            progress=lambda year: advance(f"Simulated consultations {year}"),
        )
        with store.transaction():
            for path in simulation.files:
                ingest_file(path, store, reference, syndromes_path=syndromes)
                advance(f"Ingested {path.name}")
            for name in COVID_FILES:
                ingest_file(reference / "covid19" / name, store, reference)
                advance(f"Ingested {name}")
            summary = run_store(store, detector, list(years))
            advance("Detected signals (Sykdomspulsen)")
            run_store(store, Covid19Detector(), list(years))
            advance("Detected the covid-19 signal")
    signals = sum(
        n for part in summary.analyses for status, n in part.signals.items() if status != "normal"
    )
    return SurveillanceDemoResult(
        loaded=True,
        seconds=time.perf_counter() - started,
        consultations=simulation.consultations,
        signals=signals,
    )


def _write_syndromes(path: Path, names: Sequence[str]) -> None:
    """Write the shipped syndrome table restricted to ``names``."""
    rows = [s.as_row() for s in load_syndromes() if s.name in names]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
