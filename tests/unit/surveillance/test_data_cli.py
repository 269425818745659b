"""Tests for the surveillance data command line: simulate → ingest → status, and bad files."""

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from korona.surveillance.calendar import Frequency
from korona.surveillance.cli import app
from korona.surveillance.store import SurveillanceStore

runner = CliRunner()


def invoke(*args):
    return runner.invoke(
        app, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": "200"}
    )


def test_simulate_ingest_status(reference_dir, tmp_path):
    sim = tmp_path / "sim"
    ref = ["--reference-dir", reference_dir]
    result = invoke(
        "simulate",
        "--years",
        1,
        "--seed",
        7,
        "--out",
        sim,
        "--start-year",
        2019,
        "--scale",
        0.002,
        *ref,
    )
    assert result.exit_code == 0, result.output
    assert (sim / "kuhr_2019.parquet").exists()
    truth = pl.read_csv(sim / "outbreaks.csv")
    assert truth.height == 24 and set(truth["syndrome"]) <= {
        "gastro",
        "respiratoryexternal",
        "influensa",
    }

    data = tmp_path / "var"
    result = invoke("ingest", sim / "kuhr_2019.parquet", "--data-dir", data, *ref)
    assert result.exit_code == 0, result.output
    assert "Ingest report" in result.output
    records = pl.read_parquet(sim / "kuhr_2019.parquet")
    store = SurveillanceStore(data / "surveillance")
    nation = (
        store.consultations(Frequency.WEEKLY)
        .filter(
            pl.col("location_code") == "norge",
            pl.col("age") == "total",
            pl.col("syndrome") == "influensa",
        )
        .select(pl.col("n").sum())
        .collect()
        .item()
    )
    influenza_consultations = records.filter(pl.col("icpc2_code") == "R80")[
        "consultation_id"
    ].n_unique()
    assert nation == influenza_consultations

    result = invoke("status", "--data-dir", data)
    assert result.exit_code == 0
    assert "consultations" in result.output and "2019-12-31" in result.output


def test_simulation_is_reproducible(reference_dir, tmp_path):
    args = [
        "--years",
        1,
        "--seed",
        11,
        "--start-year",
        2018,
        "--scale",
        0.001,
        "--reference-dir",
        reference_dir,
    ]
    assert invoke("simulate", "--out", tmp_path / "a", *args).exit_code == 0
    assert invoke("simulate", "--out", tmp_path / "b", *args).exit_code == 0
    a = pl.read_parquet(tmp_path / "a" / "kuhr_2018.parquet")
    assert a.equals(pl.read_parquet(tmp_path / "b" / "kuhr_2018.parquet"))
    assert (tmp_path / "a" / "outbreaks.csv").read_bytes() == (
        tmp_path / "b" / "outbreaks.csv"
    ).read_bytes()


def test_malformed_files_report_without_traceback(reference_dir, tmp_path):
    data = tmp_path / "var"
    ref = ["--reference-dir", reference_dir]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("consultation_id,whatever\n1,2\n", encoding="utf-8")
    result = invoke("ingest", wrong, "--data-dir", data, *ref)
    assert result.exit_code == 2
    assert "Error:" in result.output and "Traceback" not in result.output

    some_bad = tmp_path / "kuhr.csv"
    header = (
        "consultation_id,icpc2_code,patient_age,patient_municipality,practice_municipality,"
        "consultation_date,fee_code,practice_type\n"
    )
    good = "".join(f"{i},D11,30,0301,0301,2020-01-06,2ad,gp\n" for i in range(5))
    some_bad.write_text(header + good + "9,D11,-4,0301,0301,2020-01-06,2ad,gp\n", encoding="utf-8")
    result = invoke("ingest", some_bad, "--data-dir", data, *ref)
    assert result.exit_code == 1
    assert "line 7: negative age" in result.output
    saved = data / "surveillance" / "ingest_reports" / "kuhr.bad_rows.csv"
    assert pl.read_csv(saved).row(0) == (7, "negative age")

    result = invoke("ingest", tmp_path / "missing.csv", "--data-dir", data, *ref)
    assert result.exit_code == 2 and "file not found" in result.output


def test_a_directory_or_a_bad_option_file_is_one_line_error(reference_dir, tmp_path):
    data = tmp_path / "var"
    folder = tmp_path / "folder"
    folder.mkdir()
    result = invoke("ingest", folder, "--data-dir", data, "--reference-dir", reference_dir)
    assert result.exit_code == 2
    assert "is not a file" in result.output and "Traceback" not in result.output
    example = Path(__file__).resolve().parents[3] / "docs" / "examples" / "kuhr_example.csv"
    result = invoke(
        "ingest",
        example,
        "--syndromes",
        folder,
        "--data-dir",
        data,
        "--reference-dir",
        reference_dir,
    )
    assert result.exit_code == 2
    assert "cannot read the syndrome definitions" in result.output


def test_run_uses_the_syndrome_table_the_ingest_used(reference_dir, tmp_path):
    shipped = (
        Path(__file__).resolve().parents[3] / "src/korona/surveillance/sources/syndromes.csv"
    ).read_text(encoding="utf-8")
    table = tmp_path / "syndromes.csv"
    table.write_text(
        shipped.rstrip("\n") + "\nhoste,R05,all,in_person telephone,cough\n", encoding="utf-8"
    )
    rows = [
        f"{day}{i},R05,30,0301,0301,2020-{1 + day // 28:02d}-{1 + day % 28:02d},2ad,gp\n"
        for day in range(300)
        for i in range(3)
    ]
    kuhr = tmp_path / "kuhr.csv"
    kuhr.write_text(
        "consultation_id,icpc2_code,patient_age,patient_municipality,practice_municipality,"
        "consultation_date,fee_code,practice_type\n" + "".join(rows),
        encoding="utf-8",
    )
    data = tmp_path / "var"
    ref = ["--reference-dir", reference_dir]
    result = invoke("ingest", kuhr, "--syndromes", table, "--data-dir", data, *ref)
    assert result.exit_code == 0, result.output
    result = invoke("run", "--data-dir", data, "--years", "2020")
    assert result.exit_code == 0, result.output
    weekly = SurveillanceStore(data / "surveillance").results("sykdomspulsen", Frequency.WEEKLY)
    assert "hoste" in weekly.collect()["syndrome"].unique().to_list()
