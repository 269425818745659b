"""Simulate KUHR-like consultation records for all municipalities, with known injected outbreaks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import polars as pl

from korona.surveillance.calendar import holidays_between
from korona.surveillance.consultation import PracticeType
from korona.surveillance.geo import AGE_BANDS, Geography
from korona.surveillance.sources.kuhr_read import SIMULATED_MARK

__all__ = ["OutputFormat", "SimulationParameters", "SimulationResult", "simulate_kuhr"]


class OutputFormat(StrEnum):
    """File format of simulated records."""

    PARQUET = "parquet"
    CSV = "csv"


# Diagnosis categories drawn per consultation; "other" draws from _OTHER_CODES.
_CODES = ("R80", "R05", "R74", "R78", "R83", "R81", "D11", "D70", "D73", "S72", "R991", "R992")
_OTHER_CODES = ("A04", "L03", "K86", "P76", "T90", "L86", "A97", "S88", "F70", "U71", "N01", "-30")
_CATEGORY_CODES = (*_CODES, "OTHER")
# Youngest and oldest age (years) drawn inside each band.
_BAND_AGES = {"0-4": (0, 4), "5-14": (5, 14), "15-19": (15, 19), "20-29": (20, 29),
              "30-64": (30, 64), "65+": (65, 95)}  # fmt: skip
# GP: in person, telephone, e-consultation; out-of-hours: the same; then lab fees (no contact
# type) and the telephone fee sometimes billed beside an in-person consultation.
_FEES = ("2ad", "1ad", "1be", "11ad", "1bd", "2ae", "701a", "705b", "707", "1ak")
_OUTBREAK_CODES = {"gastro": "D11", "respiratoryexternal": "R74", "influensa": "R80"}


@dataclass(frozen=True)
class SimulationParameters:
    """Parameters of the consultation model (see docs/data.md for the model).

    Rates are consultations per person per day; shares are fractions of all consultations.
    """

    consultations_per_person_year: float = 2.3
    age_rate_ratio: tuple[float, ...] = (1.3, 0.6, 0.7, 0.8, 1.0, 1.8)  # per AGE_BANDS
    gp_day_of_week: tuple[float, ...] = (1.25, 1.1, 1.05, 1.0, 0.9, 0.04, 0.02)  # Mon..Sun
    gp_holiday: float = 0.03
    out_of_hours_share_weekday: float = 0.08
    out_of_hours_weekend_or_holiday: float = 0.45
    share_influensa_base: float = 0.001
    share_influensa_peak: float = 0.03
    share_respiratory: tuple[float, ...] = (0.012, 0.025, 0.008, 0.010)  # R05 R74 R78 R83
    respiratory_winter_amplitude: float = 0.6
    share_pneumonia: float = 0.004
    share_gastro: tuple[float, ...] = (0.008, 0.004, 0.003)  # D11 D70 D73
    gastro_winter_amplitude: float = 0.35
    share_scabies: float = 0.0008
    share_covid: tuple[float, ...] = (0.004, 0.002)  # R991 R992 from March 2020
    telephone_share: float = 0.18
    e_consultation_share: float = 0.06
    second_diagnosis_share: float = 0.4
    extra_fee_share: float = 0.2
    extra_telephone_fee_share: float = 0.02
    patient_elsewhere_share: float = 0.05
    outbreaks_per_year: int = 24
    outbreak_size_weeks: tuple[float, float] = (1.0, 3.0)  # × the syndrome's weekly baseline
    outbreak_days: tuple[int, int] = (7, 21)
    scale: float = 1.0  # fraction of the national volume to simulate (for fast tests)


@dataclass
class SimulationResult:
    """Files written by one simulation and how much they hold."""

    files: list[Path] = field(default_factory=list)
    ground_truth: Path | None = None
    rows: int = 0
    consultations: int = 0
    outbreaks: int = 0


def _seasonal_shares(
    days: np.ndarray, flu_peak: tuple[float, float, float], params: SimulationParameters
) -> np.ndarray:
    """Return (n_days, n_categories) shares of consultations per diagnosis category.

    ``flu_peak`` is (day of year of the peak, width in days, peak share of consultations).
    """
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    winter = np.cos(2 * np.pi * (doy - 20) / 365.25)
    centre, width, height = flu_peak
    flu = params.share_influensa_base + height * np.exp(-0.5 * ((doy - centre) / width) ** 2)
    shares = np.zeros((len(days), len(_CATEGORY_CODES)))
    shares[:, 0] = flu
    for i, share in enumerate(params.share_respiratory):
        shares[:, 1 + i] = share * (1 + params.respiratory_winter_amplitude * winter)
    shares[:, 5] = params.share_pneumonia * (1 + params.respiratory_winter_amplitude * winter)
    for i, share in enumerate(params.share_gastro):
        shares[:, 6 + i] = share * (1 + params.gastro_winter_amplitude * winter)
    shares[:, 9] = params.share_scabies
    covid_start = np.array([d >= dt.date(2020, 3, 6) for d in days])
    shares[:, 10] = np.where(covid_start, params.share_covid[0], 0.0)
    shares[:, 11] = np.where(np.array([d >= dt.date(2020, 5, 4) for d in days]),
                             params.share_covid[1], 0.0)  # fmt: skip
    shares[:, 12] = np.clip(1.0 - shares[:, :12].sum(axis=1), 0.0, 1.0)
    return shares


def _simulate_year(
    year: int,
    geography: Geography,
    params: SimulationParameters,
    rng: np.random.Generator,
    first_id: int,
) -> tuple[pl.DataFrame, int, list[dict[str, object]]]:
    """Simulate one calendar year; return records, consultations and injected outbreaks."""
    first = dt.date(year, 1, 1)
    days = np.array(
        [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]
    )
    pop = geography.population([year]).filter(pl.col("location_code").str.starts_with("municip"))
    municipalities = geography.municipalities["location_code"].to_list()
    bands = [b.value for b in AGE_BANDS]
    table = (
        pl.DataFrame({"location_code": municipalities})
        .join(pl.DataFrame({"age": bands}), how="cross")
        .join(
            pop.select("location_code", "age", "population"),
            on=["location_code", "age"],
            how="left",
        )
        .with_columns(pl.col("population").fill_null(0))
    )
    population = table["population"].to_numpy().reshape(len(municipalities), len(bands))
    holidays = set(holidays_between(days[0], days[-1]))
    weekday = np.array([d.weekday() for d in days])
    is_holiday = np.array([d in holidays for d in days])
    gp_effect = np.where(is_holiday, params.gp_holiday, np.array(params.gp_day_of_week)[weekday])
    off = is_holiday | (weekday >= 5)
    ooh_effect = np.where(
        off, params.out_of_hours_weekend_or_holiday, params.out_of_hours_share_weekday
    )
    # Normalise so a year holds consultations_per_person_year per person on average.
    daily_rate = params.consultations_per_person_year / (gp_effect + ooh_effect).sum()
    age_ratio = np.array(params.age_rate_ratio)
    # Expected consultations: (days, municipalities, bands, practice types).
    base = population[None, :, :] * age_ratio[None, None, :] * daily_rate * params.scale
    expected = np.stack(
        [base * gp_effect[:, None, None], base * ooh_effect[:, None, None]], axis=-1
    )
    flu_peak = (
        float(rng.uniform(15, 60)),
        float(rng.uniform(8, 18)),
        params.share_influensa_peak * float(rng.uniform(0.5, 1.5)),
    )
    shares = _seasonal_shares(days, flu_peak, params)
    # Poisson per category: splitting a Poisson total multinomially gives the same law.
    lam = expected[..., None] * shares[:, None, None, None, :]
    counts = rng.poisson(lam).astype(np.int64)
    outbreaks = _inject_outbreaks(year, days, counts, lam, population, geography, params, rng)
    records = _expand(counts, days, municipalities, bands, params, rng, first_id)
    return records, int(counts.sum()), outbreaks


def _inject_outbreaks(
    year: int,
    days: np.ndarray,
    counts: np.ndarray,
    lam: np.ndarray,
    population: np.ndarray,
    geography: Geography,
    params: SimulationParameters,
    rng: np.random.Generator,
) -> list[dict[str, object]]:
    """Add extra consultations in place; return one ground-truth record per outbreak."""
    municipalities = geography.municipalities["location_code"].to_list()
    totals = population.sum(axis=1).astype(float)
    weights = np.sqrt(totals) / np.sqrt(totals).sum()
    syndromes = list(_OUTBREAK_CODES)
    records: list[dict[str, object]] = []
    for number in range(params.outbreaks_per_year):
        m = int(rng.choice(len(municipalities), p=weights))
        syndrome = syndromes[int(rng.integers(len(syndromes)))]
        category = _CATEGORY_CODES.index(_OUTBREAK_CODES[syndrome])
        length = int(rng.integers(params.outbreak_days[0], params.outbreak_days[1] + 1))
        start = int(rng.integers(0, len(days) - length))
        weekly_baseline = lam[:, m, :, :, category].sum() / len(days) * 7
        size = max(5.0, float(rng.uniform(*params.outbreak_size_weeks)) * weekly_baseline)
        profile = np.bartlett(length + 2)[1:-1]
        # Extra consultations follow the age mix and the GP/out-of-hours pattern of that place.
        mix = lam[start : start + length, m, :, :, category].copy() + 1e-9
        mix /= mix.sum(axis=(1, 2), keepdims=True)
        extra_mean = size * profile[:, None, None] / profile.sum() * mix
        extra = rng.poisson(extra_mean)
        counts[start : start + length, m, :, :, category] += extra
        records.append(
            {
                "outbreak_id": f"{year}-{number + 1:03d}",
                "location_code": municipalities[m],
                "syndrome": syndrome,
                "icpc2_code": _OUTBREAK_CODES[syndrome],
                "start_date": days[start],
                "end_date": days[start + length - 1],
                "injected_consultations": int(extra.sum()),
                "weekly_baseline": round(float(weekly_baseline), 3),
            }
        )
    return records


def _labels(categories: list[str], codes: np.ndarray) -> pl.Series:
    """Return the labels of integer codes as an Enum column (no per-row string building)."""
    return pl.Series(categories, dtype=pl.Enum(categories)).gather(codes)


def _expand(
    counts: np.ndarray,
    days: np.ndarray,
    municipalities: list[str],
    bands: list[str],
    params: SimulationParameters,
    rng: np.random.Generator,
    first_id: int,
) -> pl.DataFrame:
    """Turn cell counts into one row per diagnosis × fee code of each consultation."""
    flat = counts.reshape(-1)
    cell = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    n = cell.size
    # Unravel in int32 steps (numpy's unravel_index would hold five int64 copies at once).
    rest = cell.astype(np.int32)
    del cell
    shape = counts.shape
    c_i = rest % shape[4]
    rest //= shape[4]
    p_i = rest % shape[3]
    rest //= shape[3]
    b_i = rest % shape[2]
    rest //= shape[2]
    m_i = rest % shape[1]
    d_i = rest // shape[1]
    del rest
    low = np.array([_BAND_AGES[b][0] for b in bands], dtype=np.int32)
    span = np.array([_BAND_AGES[b][1] - _BAND_AGES[b][0] + 1 for b in bands], dtype=np.int32)
    ages = low[b_i] + (rng.random(n, dtype=np.float32) * span[b_i]).astype(np.int32)
    code_i = np.where(
        c_i == len(_CODES), len(_CODES) + rng.integers(0, len(_OTHER_CODES), n, dtype=np.int32), c_i
    )
    # Fee codes: index into _FEES; GP office and out-of-hours use their own codes.
    contact = rng.random(n, dtype=np.float32)
    kind = (contact >= params.telephone_share).astype(np.int32) + (
        contact >= params.telephone_share + params.e_consultation_share
    ).astype(np.int32)
    # kind: 0 telephone, 1 e-consultation, 2 in person
    fee = np.where(
        p_i == 0, np.array([1, 2, 0], np.int32)[kind], np.array([4, 5, 3], np.int32)[kind]
    )
    patient = np.where(
        rng.random(n, dtype=np.float32) < params.patient_elsewhere_share,
        rng.integers(0, len(municipalities), n, dtype=np.int32),
        m_i,
    )
    second = np.flatnonzero(rng.random(n, dtype=np.float32) < params.second_diagnosis_share)
    extra_telephone = (kind == 2) & (
        rng.random(n, dtype=np.float32) < params.extra_telephone_fee_share
    )
    extra = np.flatnonzero(
        (rng.random(n, dtype=np.float32) < params.extra_fee_share) | extra_telephone
    )
    extra_fee = np.where(
        extra_telephone[extra], 9, 6 + rng.integers(0, 3, extra.size, dtype=np.int32)
    )
    second_code = len(_CODES) + rng.integers(0, len(_OTHER_CODES), second.size, dtype=np.int32)
    # Rows of a consultation, in order: the first diagnosis with its contact fee, then the
    # second diagnosis (same fee), then the extra fee (first diagnosis).
    has_second = np.zeros(n, dtype=bool)
    has_second[second] = True
    has_extra = np.zeros(n, dtype=bool)
    has_extra[extra] = True
    second_code_all = np.zeros(n, dtype=np.int32)
    second_code_all[second] = second_code
    extra_fee_all = np.zeros(n, dtype=np.int32)
    extra_fee_all[extra] = extra_fee
    per_consultation = 1 + has_second.astype(np.int8) + has_extra.astype(np.int8)
    row = np.repeat(np.arange(n, dtype=np.int32), per_consultation)
    first_row = np.cumsum(per_consultation, dtype=np.int32) - per_consultation
    position = np.arange(row.size, dtype=np.int32) - first_row[row]
    del first_row
    is_second = (position == 1) & has_second[row]
    is_extra = (position >= 1) & ~is_second
    row_code = np.where(is_second, second_code_all[row], code_i[row])
    row_fee = np.where(is_extra, extra_fee_all[row], fee[row])
    numbers = [c.removeprefix("municip") for c in municipalities]
    practice_names = [PracticeType.GP.value, PracticeType.OUT_OF_HOURS.value]
    day_numbers = np.array(days, dtype="datetime64[D]").astype(np.int32)
    return pl.DataFrame(
        {
            "consultation_id": first_id + row.astype(np.int64),
            "icpc2_code": _labels([*_CODES, *_OTHER_CODES], row_code),
            "patient_age": ages[row],
            "patient_municipality": _labels(numbers, patient[row]),
            "practice_municipality": _labels(numbers, m_i[row]),
            "consultation_date": pl.Series(day_numbers[d_i[row]]).cast(pl.Date),
            "fee_code": _labels(list(_FEES), row_fee),
            "practice_type": _labels(practice_names, p_i[row]),
        }
    )


def simulate_kuhr(
    geography: Geography,
    out_dir: Path,
    *,
    years: int,
    seed: int,
    start_year: int = 2015,
    output_format: OutputFormat = OutputFormat.PARQUET,
    params: SimulationParameters | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Write one file of simulated KUHR records per year plus ``outbreaks.csv`` (ground truth).

    Reproducible: the same seed, years and parameters give byte-identical records.
    ``progress`` is called with each finished year.
    """
    params = params or SimulationParameters()
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = SimulationResult()
    all_outbreaks: list[dict[str, object]] = []
    next_id = 1
    for year in range(start_year, start_year + years):
        records, consultations, outbreaks = _simulate_year(year, geography, params, rng, next_id)
        next_id += consultations
        path = out_dir / f"kuhr_{year}.{output_format.value}"
        if output_format is OutputFormat.PARQUET:
            records.write_parquet(
                path, compression="zstd", statistics=False, metadata=SIMULATED_MARK
            )
        else:
            records.write_csv(path)
        result.files.append(path)
        result.rows += records.height
        result.consultations += consultations
        all_outbreaks.extend(outbreaks)
        if progress is not None:
            progress(year)
    truth = out_dir / "outbreaks.csv"
    pl.DataFrame(
        all_outbreaks,
        schema={
            "outbreak_id": pl.String,
            "location_code": pl.String,
            "syndrome": pl.String,
            "icpc2_code": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
            "injected_consultations": pl.Int64,
            "weekly_baseline": pl.Float64,
        },
        orient="row",
    ).write_csv(truth)
    result.ground_truth = truth
    result.outbreaks = len(all_outbreaks)
    return result
