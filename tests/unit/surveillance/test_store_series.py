"""The aggregated series read equals summing the zero-filled consultation strata."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.consultation import ContactType, PracticeType
from korona.surveillance.store import SurveillanceStore

CONTACT_TYPES = {"gastro": ["in_person", "telephone"], "covid19": list(ContactType)}


def random_strata(seed: int) -> pl.DataFrame:
    """Sparse daily strata: some cells missing, some denominators 0, three syndromes."""
    rng = np.random.default_rng(seed)
    rows = []
    start = dt.date(2020, 3, 2)
    for location in ("norge", "county03", "municip0301", "municip3001"):
        for age in ("total", "0-4"):
            for contact in ContactType:
                for practice in PracticeType:
                    for day in range(21):
                        if rng.random() < 0.4:
                            continue  # a missing stratum reads back as zeros
                        for syndrome in ("gastro", "covid19", "skabb"):
                            denominator = int(rng.integers(0, 4))
                            rows.append(
                                {
                                    "location_code": location,
                                    "age": age,
                                    "syndrome": syndrome,
                                    "contact_type": contact.value,
                                    "practice_type": practice.value,
                                    "date": start + dt.timedelta(days=day),
                                    "n": int(rng.integers(0, denominator + 1)),
                                    "denominator": denominator,
                                }
                            )
    return pl.DataFrame(rows)


def summed_consultations(
    store: SurveillanceStore, frequency: Frequency, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """The obvious reference: expand every stratum, then sum the signal contact types."""
    pairs = pl.DataFrame(
        [
            {"syndrome": s, "contact_type": str(c)}
            for s, types in CONTACT_TYPES.items()
            for c in types
        ]
    ).lazy()
    return (
        store.consultations(frequency)
        .filter(pl.col("date").is_between(first, last))
        .join(pairs, on=["syndrome", "contact_type"], how="semi")
        .group_by("location_code", "age", "syndrome", "date")
        .agg(pl.col("n").sum(), pl.col("denominator").sum())
        .collect()
    )


@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("seed", [1, 2])
def test_syndrome_series_equals_summing_the_strata(tmp_path, frequency, seed) -> None:
    store = SurveillanceStore(tmp_path)
    store.write_consultations(random_strata(seed), locations=["municip5001"])
    first, last = dt.date(2020, 3, 1), dt.date(2020, 3, 31)
    expected = summed_consultations(store, frequency, first, last)
    types = {syndrome: [str(c) for c in contacts] for syndrome, contacts in CONTACT_TYPES.items()}
    got = store.syndrome_series(frequency, types, first=first, last=last)
    keys = ["location_code", "age", "syndrome", "date"]
    assert got.height == expected.height > 0
    assert got.sort(keys).equals(expected.select(got.columns).sort(keys))
    assert set(got["syndrome"]) == {"gastro", "covid19"}  # skabb has no contact types here
    assert got.filter(pl.col("location_code") == "municip5001")["n"].sum() == 0


def test_syndrome_series_location_filter_and_empty_store(tmp_path) -> None:
    store = SurveillanceStore(tmp_path)
    window = {"first": dt.date(2020, 1, 1), "last": dt.date(2020, 12, 31)}
    assert store.syndrome_series(Frequency.DAILY, CONTACT_TYPES, **window).height == 0
    store.write_consultations(random_strata(3))
    counties = store.syndrome_series(
        Frequency.DAILY,
        {"gastro": ["in_person"]},
        **window,
        locations=pl.col("location_code").str.starts_with("county"),
    )
    assert set(counties["location_code"]) == {"county03"}


@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("seed", [1, 2])
def test_series_arrays_from_stored_cells_equal_the_zero_filled_frame(tmp_path, frequency, seed):
    from korona.surveillance.analysis import load_store_series, signal_contact_types
    from korona.surveillance.series import SeriesSet

    store = SurveillanceStore(tmp_path)
    store.write_consultations(random_strata(seed), locations=["municip5001"])
    first, last = dt.date(2020, 3, 1), dt.date(2020, 3, 31)
    got = load_store_series(store, frequency, first, last)
    code = pl.col("location_code")
    frame = store.syndrome_series(
        frequency,
        signal_contact_types(store),
        first=first,
        last=last,
        locations=(code == "norge") | code.str.starts_with("county")
        if frequency is Frequency.DAILY
        else None,
    )
    expected = SeriesSet.from_long(
        frame.with_columns(pl.col("denominator").cast(pl.Float64)),
        frequency=frequency,
        key_columns=["location_code", "age", "syndrome"],
    )
    assert got is not None and got.n_series == expected.n_series > 0
    assert got.keys.equals(expected.keys)
    assert np.array_equal(got.dates, expected.dates)
    assert np.array_equal(got.observed, expected.observed)
    assert np.array_equal(got.denominator, expected.denominator)
    assert got.observed.sum() > 0
