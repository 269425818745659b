"""Tests for KUHR ingestion: every data rule of spec §1 on a hand-checkable file."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from korona.surveillance.calendar import Frequency
from korona.surveillance.sources import IngestError
from korona.surveillance.sources.kuhr import (
    KUHR_COLUMNS,
    aggregate_kuhr,
    ingest_kuhr,
    load_syndromes,
)
from korona.surveillance.sources.kuhr_read import SIMULATED_MARK, is_simulated
from korona.surveillance.store import SurveillanceStore

DAY = "2020-01-06"  # a Monday


def row(cid, code, fee="2ad", *, age="34", muni="0301", patient="3001", day=DAY, practice="gp"):
    return {
        "consultation_id": cid,
        "icpc2_code": code,
        "patient_age": age,
        "patient_municipality": patient,
        "practice_municipality": muni,
        "consultation_date": day,
        "fee_code": fee,
        "practice_type": practice,
    }


def write_csv(path: Path, rows) -> Path:
    pl.DataFrame(rows, schema={c: pl.String for c in KUHR_COLUMNS}).write_csv(path)
    return path


@pytest.fixture
def ingest(geography, icpc2):
    """Return a function that ingests KUHR rows into a new store under ``tmp_path``."""

    def run(tmp_path, rows, name="kuhr.csv"):
        store = SurveillanceStore(tmp_path / "store")
        report = ingest_kuhr(write_csv(tmp_path / name, rows), store, geography, icpc2)
        return store, report

    return run


def cell(
    store,
    *,
    location="municip0301",
    age="total",
    syndrome="gastro",
    contact=None,
    practice=None,
    day=DAY,
    frequency=Frequency.DAILY,
):
    """Return (n, denominator) summed over the contact/practice types not given."""
    frame = store.consultations(frequency).filter(
        pl.col("location_code") == location,
        pl.col("age") == age,
        pl.col("syndrome") == syndrome,
        pl.col("date") == dt.date.fromisoformat(day),
    )
    if contact:
        frame = frame.filter(pl.col("contact_type") == contact)
    if practice:
        frame = frame.filter(pl.col("practice_type") == practice)
    out = frame.select(pl.col("n").sum(), pl.col("denominator").sum()).collect()
    return out.row(0)


def test_consultation_counted_once_per_syndrome(ingest, tmp_path):
    rows = [
        row("a", "D11"),
        row("a", "D70"),
        row("a", "D11"),  # one consultation, gastro once
        row("a", "R80"),  # same consultation is also influenza
        row("b", "A04"),
    ]
    store, report = ingest(tmp_path, rows)
    assert report.rows_rejected == 0
    assert cell(store, syndrome="gastro", contact="in_person", practice="gp") == (1, 1)
    # Influenza denominators count all consultations (2); gastro's exclude the influenza one.
    assert cell(store, syndrome="influensa", contact="in_person", practice="gp") == (1, 2)


def test_denominator_rules(ingest, tmp_path):
    rows = [row("1", "R80"), row("2", "D11"), row("3", "A04"), row("4", "R74")]
    store, _ = ingest(tmp_path, rows)
    q = dict(contact="in_person", practice="gp")
    assert cell(store, syndrome="influensa", **q) == (1, 4)
    assert cell(store, syndrome="gastro", **q) == (1, 3)
    assert cell(store, syndrome="respiratoryexternal", **q) == (1, 3)
    assert cell(store, syndrome="lungebetennelse", **q) == (0, 4)
    # A stratum without consultations has denominator 1, not 0.
    assert cell(store, syndrome="gastro", contact="telephone", practice="gp") == (0, 1)


def test_contact_type_from_fee_code_and_telephone_dropped(ingest, tmp_path):
    rows = [
        row("p", "D11", "2ad"),
        row("t", "D11", "1ad"),
        row("e", "D11", "1be"),
        row("pt", "D11", "11ak"),
        row("pt", "D11", "1ak"),  # in person + telephone → in person
        row("x", "D11", "701a"),  # no contact fee: not counted
    ]
    store, report = ingest(tmp_path, rows)
    assert cell(store, contact="in_person", practice="gp") == (2, 2)
    assert cell(store, contact="telephone", practice="gp") == (1, 1)
    assert cell(store, contact="e_consultation", practice="gp") == (1, 1)
    assert any("no contact fee code" in note for note in report.notes)


def test_practice_municipality_and_practice_type(ingest, tmp_path):
    rows = [
        row("1", "D11", muni="3001", patient="0301"),
        row("2", "D11", muni="3001", practice="legevakt"),
    ]
    store, _ = ingest(tmp_path, rows)
    assert cell(store, location="municip3001", contact="in_person", practice="gp") == (1, 1)
    assert cell(store, location="municip3001", contact="in_person", practice="out_of_hours") == (
        1,
        1,
    )
    assert cell(store, location="municip0301") == (0, 6)  # 6 empty strata, each floored to 1


def test_age_groups_and_coarse_folding(ingest, tmp_path):
    rows = [
        row("1", "D11", age="3"),
        row("2", "D11", age="0-9"),  # folded into 5-14
        row("3", "D11", age="10-19"),  # folded into 15-19
        row("4", "D11", age="70"),
        row("5", "D11", age="65+"),
    ]
    store, _ = ingest(tmp_path, rows)
    q = dict(contact="in_person", practice="gp")
    assert cell(store, age="0-4", **q)[0] == 1
    assert cell(store, age="5-14", **q)[0] == 1
    assert cell(store, age="15-19", **q)[0] == 1
    assert cell(store, age="65+", **q)[0] == 2
    assert cell(store, age="total", **q)[0] == 5


def test_geography_rules(ingest, tmp_path):
    rows = [
        *(row(f"t{i}", "D11", muni="1850") for i in range(5)),  # Tysfjord 0.5/0.5: 2.5 → 2
        row("o", "D11", muni="0314"),  # Oslo district → 0301
        row("u", "D11", muni="9999"),  # dropped
        row("h", "D11", muni="0101"),  # Halden's pre-2020 code → 3001
    ]
    store, report = ingest(tmp_path, rows)
    q = dict(contact="in_person", practice="gp")
    assert cell(store, location="municip1806", **q)[0] == 2
    assert cell(store, location="municip1875", **q)[0] == 2
    assert cell(store, location="municip0301", **q)[0] == 1
    assert cell(store, location="municip3001", **q)[0] == 1
    assert report.rows_dropped == 1
    # Counties sum their municipalities (after rounding), the nation sums the counties.
    assert cell(store, location="county18", **q)[0] == 4
    assert cell(store, location="county03", **q)[0] == 1
    assert cell(store, location="county30", **q)[0] == 1
    assert cell(store, location="norge", **q)[0] == 6


def test_zero_filled_grid_and_weekly_sums(ingest, tmp_path):
    rows = [row("1", "D11", day="2020-01-06"), row("2", "D11", day="2020-01-12")]
    store, _ = ingest(tmp_path, rows)
    daily = store.consultations(Frequency.DAILY)
    days = daily.select(pl.col("date").n_unique()).collect().item()
    assert days == 7
    locations = daily.select(pl.col("location_code").n_unique()).collect().item()
    assert locations == 368
    weekly = cell(
        store, day="2020-01-12", contact="in_person", practice="gp", frequency=Frequency.WEEKLY
    )
    assert weekly == (2, 2)


def test_bad_rows_reported_with_line_and_reason(ingest, tmp_path):
    rows = [
        row("1", "D11"),
        row("2", "D11", day="2020-13-45"),
        row("3", "XYZ"),
        row("4", "D11", muni="7777"),
        row("5", "D11", age="-3"),
        row("", "D11"),
        row("6", "D11", practice="hospital"),
        row("7", "D11", age="old"),
        row("8", "D11"),
        row("9", "D11"),
        row("10", "D11"),
        row("11", "D11"),
        row("12", "D11"),
        row("13", "D11"),
    ]
    store, report = ingest(tmp_path, rows)
    bad = dict(zip(report.bad_rows["line"], report.bad_rows["reason"], strict=True))
    assert bad == {
        3: "bad consultation date",
        4: "unknown ICPC-2 code",
        5: "unknown practice municipality",
        6: "negative age",
        7: "missing consultation id",
        8: "unknown practice type",
        9: "unreadable age",
    }
    assert report.rows_read == 14 and report.rows_accepted == 7
    assert cell(store, contact="in_person", practice="gp")[0] == 7


def test_file_failing_as_a_whole_changes_nothing(geography, icpc2, ingest, tmp_path):
    store, _ = ingest(tmp_path, [row("1", "D11")])
    before = store.consultations(Frequency.DAILY).collect()
    wrong_columns = tmp_path / "wrong.csv"
    wrong_columns.write_text("id,code\n1,D11\n", encoding="utf-8")
    with pytest.raises(IngestError, match="missing columns"):
        ingest_kuhr(wrong_columns, store, geography, icpc2)
    latin1 = tmp_path / "latin1.csv"
    text = ",".join(KUHR_COLUMNS) + "\n1,D11,34,Bærum,0301,2020-01-06,2ad,gp\n"
    latin1.write_bytes(text.encode("latin-1"))
    with pytest.raises(IngestError, match="UTF-8"):
        ingest_kuhr(latin1, store, geography, icpc2)
    mostly_bad = write_csv(
        tmp_path / "bad.csv", [row("1", "D11", day="x"), row("2", "D11", day="y")]
    )
    with pytest.raises(IngestError, match="2 of 2 rows are bad"):
        ingest_kuhr(mostly_bad, store, geography, icpc2)
    keys = ["location_code", "age", "syndrome", "contact_type", "practice_type", "date"]
    assert store.consultations(Frequency.DAILY).collect().sort(keys).equals(before.sort(keys))


def test_idempotent_and_correction_replaces_period(geography, icpc2, ingest, tmp_path):
    rows = [row("1", "D11"), row("2", "D11", day="2020-01-07")]
    store, _ = ingest(tmp_path, rows)
    ingest_kuhr(tmp_path / "kuhr.csv", store, geography, icpc2)
    q = dict(contact="in_person", practice="gp")
    assert cell(store, **q)[0] == 1
    assert cell(store, day="2020-01-07", **q)[0] == 1
    corrected = write_csv(tmp_path / "fix.csv", [row("3", "A04", day="2020-01-07")])
    ingest_kuhr(corrected, store, geography, icpc2)
    assert cell(store, day="2020-01-07", **q) == (0, 1)
    assert cell(store, **q)[0] == 1  # 2020-01-06 was not in the corrected file


def test_parquet_input_matches_csv(geography, icpc2, tmp_path):
    rows = [row("1", "D11", age="4"), row("2", "R80", fee="1ad", muni="1850"), row("2", "R74")]
    csv_path = write_csv(tmp_path / "k.csv", rows)
    parquet_path = tmp_path / "k.parquet"
    frame = pl.read_csv(csv_path, infer_schema=False).with_columns(
        pl.col("consultation_id").cast(pl.Int64),
        pl.col("patient_age").cast(pl.Int32),
        pl.col("consultation_date").str.to_date(),
        pl.col("icpc2_code").cast(pl.Enum(["D11", "R80", "R74"])),
    )
    frame.write_parquet(parquet_path)
    from_csv, _, _ = aggregate_kuhr(csv_path, geography, icpc2)
    from_parquet, _, _ = aggregate_kuhr(parquet_path, geography, icpc2)
    keys = ["location_code", "age", "contact_type", "practice_type", "date"]
    assert from_csv.sort(keys).equals(from_parquet.sort(keys))


def test_the_store_marks_consultations_from_simulated_files(geography, icpc2, tmp_path):
    """Only a Parquet file with the simulator's mark makes the store say its consultations
    are simulated; a later reported file does not clear it (other days stay simulated)."""
    rows = [row("1", "D11"), row("2", "R74", day="2020-01-07")]
    csv_path = write_csv(tmp_path / "k.csv", rows)
    frame = pl.read_csv(csv_path, infer_schema=False)
    frame.write_parquet(tmp_path / "reported.parquet")
    frame.write_parquet(tmp_path / "simulated.parquet", metadata=SIMULATED_MARK)
    assert [is_simulated(tmp_path / n) for n in ("k.csv", "reported.parquet")] == [False, False]
    assert is_simulated(tmp_path / "simulated.parquet")

    store = SurveillanceStore(tmp_path / "store")
    for name in ("k.csv", "reported.parquet"):
        report = ingest_kuhr(tmp_path / name, store, geography, icpc2)
        assert not store.holds_simulated("consultations") and not report.notes
        assert not store.status().notes
    report = ingest_kuhr(tmp_path / "simulated.parquet", store, geography, icpc2)
    assert store.holds_simulated("consultations")
    assert report.notes == ["simulated records: the store marks its consultations as simulated"]
    ingest_kuhr(csv_path, store, geography, icpc2)
    assert SurveillanceStore(tmp_path / "store").holds_simulated("consultations")
    assert not store.holds_simulated("cases")
    assert store.status().notes == [
        "consultations hold simulated figures "
        "(files of `korona surveillance simulate` were ingested)"
    ]


def test_syndromes_are_data(geography, icpc2, tmp_path):
    table = tmp_path / "syndromes.csv"
    table.write_text(
        "syndrome,icpc2_codes,denominator,signal_contact_types,description\n"
        "hudinfeksjon,S76 S84,all,in_person telephone,Skin infection\n",
        encoding="utf-8",
    )
    syndromes = load_syndromes(table)
    assert [s.name for s in syndromes] == ["hudinfeksjon"]
    path = write_csv(tmp_path / "k.csv", [row("1", "S84"), row("2", "D11")])
    wide, names, _ = aggregate_kuhr(path, geography, icpc2, syndromes)
    assert names == ["hudinfeksjon"]
    nation = wide.filter(pl.col("location_code") == "norge", pl.col("age") == "total")
    assert nation["n__hudinfeksjon"].sum() == 1
    assert nation["denominator__hudinfeksjon"].sum() == 2
    assert {s.name for s in load_syndromes()} >= {"gastro", "influensa", "covid19"}


def test_batched_aggregation_equals_single_pass(geography, icpc2, tmp_path):
    rows = [
        row(str(i), code, fee, age=str(age), muni=muni)
        for i, (code, fee, age, muni) in enumerate(
            [
                ("D11", "2ad", 3, "0301"),
                ("R80", "1ad", 40, "1850"),
                ("R74", "1be", 70, "3001"),
                ("A04", "2ad", 12, "0314"),
                ("D70", "11ad", 25, "5012"),
                ("R05", "2ad", 33, "4601"),
            ]
            * 5
        )
    ]
    rows.insert(7, row("bad", "D11", day="2020-02-30"))
    path = write_csv(tmp_path / "k.csv", rows)
    single, _, report = aggregate_kuhr(path, geography, icpc2)
    batched, _, batched_report = aggregate_kuhr(path, geography, icpc2, max_rows_per_batch=4)
    keys = ["location_code", "age", "contact_type", "practice_type", "date"]
    assert single.sort(keys).equals(batched.sort(keys))
    assert report.bad_rows.equals(batched_report.bad_rows)
    assert batched_report.bad_rows.row(0) == (9, "bad consultation date")


def test_documented_example_file(geography, icpc2, tmp_path):
    example = Path(__file__).resolve().parents[3] / "docs" / "examples" / "kuhr_example.csv"
    store = SurveillanceStore(tmp_path / "store")
    report = ingest_kuhr(example, store, geography, icpc2)
    assert (report.rows_read, report.rows_accepted, report.rows_dropped) == (20, 17, 1)
    assert report.bad_rows.rows() == [(20, "negative age"), (21, "unknown ICPC-2 code")]
    nation = dict(syndrome="gastro", location="norge", contact="in_person", practice="gp")
    assert cell(store, **nation)[0] == 1  # K0001 once, although it has D11 and D70
    assert (
        cell(
            store,
            location="municip3001",
            syndrome="respiratoryexternal",
            contact="in_person",
            practice="gp",
        )[0]
        == 1
    )  # K0004: telephone fee dropped
    assert cell(store, location="norge", syndrome="skabb", day="2019-12-30") == (0, 6)


def test_encoding_error_late_in_file_changes_nothing(geography, icpc2, ingest, tmp_path):
    store, _ = ingest(tmp_path, [row("1", "D11")])
    path = write_csv(tmp_path / "late.csv", [row(str(i), "D11") for i in range(2, 3000)])
    with path.open("ab") as handle:
        handle.write("9999,D11,34,Bærum,0301,2020-01-06,2ad,gp\n".encode("latin-1"))
    with pytest.raises(IngestError):
        ingest_kuhr(path, store, geography, icpc2)
    assert cell(store, contact="in_person", practice="gp")[0] == 1


def test_excel_style_csv_with_bom_crlf_and_semicolons(reference_dir, tmp_path):
    from korona.surveillance.sources.ingest import ingest_file

    path = tmp_path / "excel.csv"
    lines = [
        ";".join(KUHR_COLUMNS),
        "1;D11;34;0301;0301;2020-01-06;2ad;gp",
        "2;R80;4;0301;0301;2020-01-06;1ad;legevakt",
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    store = SurveillanceStore(tmp_path / "store")
    report = ingest_file(path, store, reference_dir)
    assert (report.rows_read, report.rows_rejected) == (2, 0)
    assert cell(store, contact="in_person", practice="gp")[0] == 1
    assert cell(store, syndrome="influensa", contact="telephone", practice="out_of_hours") == (1, 1)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_field_with_a_nul_byte_refuses_the_file(geography, icpc2, tmp_path, suffix):
    rows = [row("a", "D11"), row("b\x00c", "D11"), row("d", "D11")]
    path = tmp_path / f"kuhr{suffix}"
    frame = pl.DataFrame(rows, schema={c: pl.String for c in KUHR_COLUMNS})
    if suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    store = SurveillanceStore(tmp_path / "store")
    with pytest.raises(IngestError, match="consultation_id holds a NUL byte"):
        ingest_kuhr(path, store, geography, icpc2)
    assert store.status().generation == 0
