"""The detect (CSV) and run (store) commands, through Typer's CliRunner."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from korona.surveillance.calendar import Frequency
from korona.surveillance.cli import app as surveillance_app
from korona.surveillance.detect import Method


@pytest.fixture
def app():
    return surveillance_app


def weekly_csv(path, n_weeks=52 * 6, series=("a", "b"), seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    first = dt.date(2014, 12, 28)
    for name in series:
        for i in range(n_weeks):
            iso = (first + dt.timedelta(weeks=i)).isocalendar()
            rows.append(
                {
                    "series": name,
                    "week": f"{iso.year}-W{iso.week:02d}",
                    "n": int(rng.poisson(20)),
                    "denominator": int(rng.poisson(800)),
                }
            )
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.mark.parametrize("method", ["sykdomspulsen", "farrington", "covid19"])
def test_detect_writes_one_row_per_predicted_point(app, tmp_path, method):
    source = weekly_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["detect", "--method", method, "--input", str(source), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out)
    assert frame.columns[:4] == ["series", "week", "n", "expected"]
    assert {"status", "excess", "failed"} <= set(frame.columns)
    assert ("threshold2" in frame.columns) == (method == "sykdomspulsen")
    assert set(frame["status"].unique()) <= {"normal", "medium", "high"}
    assert frame.height > 0 and frame.select(pl.struct("series", "week").is_unique().all()).item()


def test_detect_daily_with_settings(app, tmp_path):
    rng = np.random.default_rng(2)
    days = [dt.date(2017, 1, 1) + dt.timedelta(days=i) for i in range(365 * 3)]
    pl.DataFrame(
        {
            "series": ["x"] * len(days),
            "date": [d.isoformat() for d in days],
            "n": rng.poisson(30, len(days)),
            "denominator": rng.poisson(900, len(days)),
        }
    ).write_csv(tmp_path / "daily.csv")
    out = tmp_path / "daily_out.csv"
    result = CliRunner().invoke(
        app,
        [
            "detect",
            "--method",
            "sykdomspulsen",
            "--frequency",
            "daily",
            "--input",
            str(tmp_path / "daily.csv"),
            "--output",
            str(out),
            "--set",
            "years_back=2",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out)
    assert frame.columns[:2] == ["series", "date"] and frame.height == len(days)


@pytest.mark.parametrize(
    ("edit", "extra", "message"),
    [
        (lambda f: f.drop("n"), [], "lacks the column(s) n"),
        (lambda f: f.with_columns(pl.lit(-1).alias("n")), [], "negative counts"),
        (lambda f: f.with_columns(pl.lit("x").alias("n")), [], "whole numbers"),
        (lambda f: pl.concat([f, f.head(1)]), [], "duplicate rows for series 'a'"),
        (lambda f: f.with_columns(pl.lit("2019-05").alias("week")), [], "unparseable week"),
        (lambda f: f.with_columns(pl.lit("2019-W54").alias("week")), [], "unparseable week"),
        (lambda f: f, ["--set", "b=5"], "unknown parameter 'b'"),
        (lambda f: f, ["--set", "years_back=five"], "must be an integer"),
        (lambda f: f, ["--set", "years_back"], "NAME=VALUE"),
    ],
)
def test_bad_input_gives_a_clear_error_and_no_output(app, tmp_path, edit, extra, message):
    source = weekly_csv(tmp_path / "in.csv", n_weeks=20)
    edit(pl.read_csv(source)).write_csv(source)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "detect",
            "--method",
            "sykdomspulsen",
            "--input",
            str(source),
            "--output",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source]  # no temporary file left behind


def test_run_analyses_the_store_and_replaces_results(app, tmp_path, monkeypatch):
    from korona.surveillance.store import SurveillanceStore

    rng = np.random.default_rng(5)
    days = pl.date_range(dt.date(2016, 1, 1), dt.date(2019, 12, 31), eager=True)
    frames = []
    for location in ("norge", "county03", "municip0301"):
        for syndrome in ("gastro", "influensa"):
            for contact in ("in_person", "telephone", "e_consultation"):
                frames.append(
                    pl.DataFrame(
                        {
                            "location_code": location,
                            "age": "total",
                            "syndrome": syndrome,
                            "contact_type": contact,
                            "practice_type": "gp",
                            "date": days,
                            "n": rng.poisson(5, days.len()),
                            "denominator": rng.poisson(200, days.len()),
                        }
                    )
                )
    store = SurveillanceStore(tmp_path / "surveillance")
    store.write_consultations(pl.concat(frames))
    monkeypatch.setenv("KORONA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["run", "--years", "2018-2019"])
    assert result.exit_code == 0, result.output
    weekly = store.results("sykdomspulsen", Frequency.WEEKLY).collect()
    daily = store.results("sykdomspulsen", Frequency.DAILY).collect()
    assert weekly.height == 3 * 2 * weekly["week"].n_unique()
    assert set(daily["location_code"].unique()) == {"norge", "county03"}  # daily: no municipalities
    assert set(weekly["date"].dt.year().unique()) == {2018, 2019}
    # in_person + telephone only: e-consultations do not count for gastro
    stored = (
        store.consultations(Frequency.WEEKLY)
        .filter(
            pl.col("syndrome") == "gastro",
            pl.col("location_code") == "norge",
            pl.col("contact_type") != "e_consultation",
            pl.col("date") == weekly["date"].max(),
        )
        .collect()
    )
    row = weekly.filter(
        pl.col("syndrome") == "gastro",
        pl.col("location_code") == "norge",
        pl.col("date") == weekly["date"].max(),
    )
    assert row["n"].item() == stored["n"].sum()
    # a second run for one year replaces only that year
    again = CliRunner().invoke(app, ["run", "--years", "2019"])
    assert again.exit_code == 0, again.output
    assert store.results("sykdomspulsen", Frequency.WEEKLY).collect().height == weekly.height
    bad = CliRunner().invoke(app, ["run", "--years", "2019-2017"])
    assert bad.exit_code == 2 and "backwards" in bad.output


def test_run_covid19_judges_consultations_and_cases(app, tmp_path):
    from korona.surveillance.store import SurveillanceStore

    rng = np.random.default_rng(8)
    days = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 6, 30), eager=True)
    frames = [
        pl.DataFrame(
            {
                "location_code": location,
                "age": "total",
                "syndrome": syndrome,
                "contact_type": contact,
                "practice_type": "gp",
                "date": days,
                "n": rng.poisson(3, days.len()),
                "denominator": rng.poisson(150, days.len()),
            }
        )
        for location in ("norge", "municip0301")
        for syndrome in ("covid19", "gastro")
        for contact in ("in_person", "e_consultation")
    ]
    store = SurveillanceStore(tmp_path / "surveillance")
    store.write_consultations(pl.concat(frames))
    store.write_cases(
        pl.DataFrame({"location_code": "norge", "date": days, "n": rng.poisson(20, days.len())}),
        Frequency.DAILY,
    )
    weekly_cases = (
        store.cases(Frequency.DAILY)
        .collect()
        .group_by_dynamic("date", every="1w", start_by="monday")
        .agg(pl.col("n").sum(), pl.col("location_code").first())
    )
    store.write_cases(weekly_cases, Frequency.WEEKLY)
    result = CliRunner().invoke(
        app, ["run", "--data-dir", str(tmp_path), "--method", "covid19", "--years", "2020"]
    )
    assert result.exit_code == 0, result.output
    consultations = store.results("covid19", Frequency.WEEKLY).collect()
    cases = store.results("covid19_cases", Frequency.WEEKLY).collect()
    assert set(consultations["syndrome"].unique()) == {"covid19"}
    assert consultations["date"].min() >= dt.date(2020, 3, 9)
    assert set(cases["location_code"].unique()) == {"norge"}
    assert "MSIS cases" in " ".join(result.output.split())


def test_csv_results_keep_full_double_precision(app, tmp_path):
    from korona.surveillance.detect import SykdomspulsenDetector
    from korona.surveillance.detect_csv import read_detect_csv, result_frame

    source = weekly_csv(tmp_path / "in.csv", series=("a",))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["detect", "--method", "sykdomspulsen", "--input", str(source), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    detection = SykdomspulsenDetector().detect(read_detect_csv(source, Frequency.WEEKLY))
    expected = result_frame(detection, Method.SYKDOMSPULSEN)
    written = pl.read_csv(out, schema=expected.schema)
    for column in ("expected", "threshold2", "threshold4", "threshold6", "zscore"):
        assert written[column].equals(expected[column]), column  # bit for bit
    assert any(len(text) > 12 for text in out.read_text().split(","))  # not 6 decimals


def test_farrington_csv_uses_r_names(app, tmp_path):
    source = weekly_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["detect", "--method", "farrington", "--input", str(source), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_csv(out)
    assert frame.columns == [
        "series",
        "week",
        "n",
        "expected",
        "upperbound",
        "alarm",
        "zscore",
        "status",
        "excess",
        "failed",
    ]
    assert frame["alarm"].equals((frame["status"] == "high").alias("alarm"))


def test_detect_with_a_folder_for_input_or_output_is_one_line_error(app, tmp_path):
    source = weekly_csv(tmp_path / "in.csv")
    for args in (
        ["--input", str(tmp_path), "--output", str(tmp_path / "o.csv")],
        ["--input", str(source), "--output", str(tmp_path)],
    ):
        result = CliRunner().invoke(app, ["detect", "--method", "covid19", *args])
        assert result.exit_code == 2, result.output
        assert "Error:" in result.output and "Traceback" not in result.output


def test_farrington_run_loads_the_history_its_first_weeks_need(app, tmp_path):
    from korona.surveillance.store import SurveillanceStore

    rng = np.random.default_rng(2)
    days = pl.date_range(dt.date(2014, 1, 1), dt.date(2020, 12, 31), eager=True)
    store = SurveillanceStore(tmp_path / "surveillance")
    store.write_consultations(
        pl.DataFrame(
            {
                "location_code": "norge",
                "age": "total",
                "syndrome": "gastro",
                "contact_type": "in_person",
                "practice_type": "gp",
                "date": days,
                "n": rng.poisson(20, days.len()),
                "denominator": rng.poisson(900, days.len()),
            }
        )
    )
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--data-dir",
            str(tmp_path),
            "--method",
            "farrington",
            "--years",
            "2020",
        ],
    )
    assert result.exit_code == 0, result.output
    weekly = store.results("farrington", Frequency.WEEKLY).collect()
    first_weeks = weekly.filter(pl.col("week").is_in(["2020-W01", "2020-W02", "2020-W03"]))
    assert first_weeks.height == 3
    assert not first_weeks["failed"].any()
    assert weekly["failed"].sum() == 0
