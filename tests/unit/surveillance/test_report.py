"""The weekly report's figures and rendering, on a store filled by tests/report_store.py."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import polars as pl
import pypdf
import pytest
from tests.report_store import fill_store

from korona.surveillance.calendar import Frequency
from korona.surveillance.geo import Geography
from korona.surveillance.report.alerts import area_codes, latest_high_signals
from korona.surveillance.report.data import WeeklyData, report_weeks
from korona.surveillance.report.render import ReportRenderer, ReportRequest
from korona.surveillance.series import Status
from korona.surveillance.sources.kuhr import ingest_kuhr
from korona.surveillance.sources.kuhr_read import SIMULATED_MARK
from korona.surveillance.store import SurveillanceStore


@pytest.fixture(scope="module")
def data(geography: Geography, tmp_path_factory: pytest.TempPathFactory) -> WeeklyData:
    root = tmp_path_factory.mktemp("report") / "surveillance"
    store = fill_store(root, geography, short_week="2020-W19")
    return WeeklyData.build(store, geography, "2020-W20")


def test_report_weeks_are_the_four_latest_iso_weeks() -> None:
    assert [str(d) for d in report_weeks("2020-W02")] == [
        "2019-12-22",
        "2019-12-29",
        "2020-01-05",
        "2020-01-12",
    ]
    with pytest.raises(ValueError, match="no week 54"):
        report_weeks("2020-W54")


def test_the_short_week_is_marked_possibly_incomplete(data: WeeklyData) -> None:
    bergen = data.location("municip4601")
    assert bergen.weeks == ("2020-W17", "2020-W18", "2020-W19", "2020-W20")
    assert bergen.incomplete == (False, False, True, False)
    assert [week.incomplete for week in bergen.covid] == [False, False, True, False]
    assert data.location("norge").incomplete == (False, False, True, False)


def test_covid_figures_follow_the_stored_cases(data: WeeklyData, geography: Geography) -> None:
    store_cases = data._cases["municip4601"].sort("date")
    bergen = data.location("municip4601")
    population = geography.population([2020]).filter(
        pl.col("location_code") == "municip4601", pl.col("age") == "total"
    )["population"][0]
    for week, row in zip(bergen.covid, store_cases.iter_rows(named=True), strict=True):
        assert week.cases == row["n"]
        assert week.per_100k == pytest.approx(row["n"] / population * 100_000)
    vestland = data.location("county46").covid[-1].cases
    members = geography.municipalities.filter(pl.col("county_code") == "county46")
    total = sum(data.location(code).covid[-1].cases or 0 for code in members["location_code"])
    assert vestland == total
    assert data.location("norge").covid[-1].cases == sum(
        data.location(code).covid[-1].cases or 0 for code in geography.counties["location_code"]
    )


def test_signal_tables_hold_the_high_signals(data: WeeklyData) -> None:
    bergen = data.location("municip4601")
    assert bergen.has_signals
    (gastro_65,) = [r for r in bergen.signals if (r.syndrome, r.age) == ("gastro", "65+")]
    assert gastro_65.cells[-1] is not None and gastro_65.cells[-1].status is Status.HIGH
    assert all(r.syndrome != "covid19" for r in bergen.signals)
    assert not data.location("municip0301").has_signals


def test_the_html_is_inline_safe_and_the_pdf_holds_the_places(data: WeeklyData) -> None:
    renderer = ReportRenderer(data, base_url="https://korona.example/")
    report = renderer.render(
        ReportRequest("Kari", "en", ("municip4601", "county46"), "https://korona.example/u")
    )
    assert report.subject == "Weekly overview 2020-W20: Bergen, Vestland"
    assert re.search(r"<img|<script|<link|src=|url\(", report.html) is None
    assert 'href="https://korona.example/surveillance/county46"' in report.html
    assert "much higher than expected" in report.html and "2020-W19 *" in report.html
    pdf = pypdf.PdfReader(io.BytesIO(report.pdf))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Bergen" in text and "Vestland" in text and "2020-W20" in text
    nb = renderer.render(ReportRequest("Kari", "nb", ("municip4601",)))
    assert "Covid-19-konsultasjoner" in nb.html and "forventet" in nb.text
    assert nb.filename == "ukentlig-oversikt-2020-W20-4601.pdf"
    assert "simulert" not in nb.text  # the store's consultations are not marked simulated


def test_the_report_says_when_the_consultations_are_simulated(
    data: WeeklyData, geography: Geography, icpc2: list[str], tmp_path: Path
) -> None:
    kuhr = tmp_path / "kuhr.parquet"
    row = {"consultation_id": 1, "icpc2_code": "R74", "patient_age": 34}
    row |= {"patient_municipality": "4601", "practice_municipality": "4601"}
    row |= {"consultation_date": dt.date(2020, 5, 11), "fee_code": "2ad", "practice_type": "gp"}
    pl.DataFrame([row]).write_parquet(kuhr, metadata=SIMULATED_MARK)
    store = SurveillanceStore(tmp_path / "store")
    ingest_kuhr(kuhr, store, geography, icpc2)
    assert WeeklyData.build(store, geography, "2020-W20").simulated
    assert not data.simulated
    data.simulated = True  # as build sets it for that store, on the fixture's figures
    try:
        nb = ReportRenderer(data, base_url="https://x/").render(
            ReportRequest("Kari", "nb", ("municip4601",))
        )
    finally:
        data.simulated = False
    pdf = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(nb.pdf)).pages)
    for shown in (nb.text, nb.html, " ".join(pdf.split())):
        assert "Konsultasjonstallene er simulert." in shown


def test_the_pdf_is_compact_while_the_html_keeps_every_table(data: WeeklyData) -> None:
    renderer = ReportRenderer(data, base_url="https://korona.example/")
    report = renderer.render(ReportRequest("Kari", "nb", ("municip4601", "municip0301")))
    text = " ".join(
        " ".join(page.extract_text().split())
        for page in pypdf.PdfReader(io.BytesIO(report.pdf)).pages
    )
    # One matrix of the latest week per place, with the legend that says what the marks mean.
    assert text.count("Alle syndromer og aldersgrupper, uke 2020-W20") == 2
    assert "betydelig høyere enn forventet" in text and "alle aldre" in text
    # Only Bergen's two signal series get the four weeks, with the possibly incomplete week.
    assert "Serier med signal, 2020-W17–2020-W20" in text and "2020-W19 *" in text
    assert re.search(r"gastro 65\+ [\d ]+ [\d ]+ [\d ]+ \d+", text)
    assert "Ingen signaler for andre syndromer disse ukene." in text  # Oslo
    # The HTML keeps one table per syndrome, every age group and week.
    assert report.html.count("<table") == 2 * (
        1 + len({r.syndrome for r in data.location("municip4601").signals})
    )
    section = json.loads(renderer.section_pdf("municip4601", "nb"))
    assert len(section["matrix"]["levels"]) == len(section["matrix"]["cells"])
    assert [c for c in section["detail"]["cells"] if "▲▲" in c]
    assert section["matrix"]["levels"].count("h") == 2


def test_high_signals_rank_by_z_score_and_cover_the_followed_area(
    data: WeeklyData, geography: Geography, tmp_path: Path
) -> None:
    store = fill_store(
        tmp_path / "s",
        geography,
        weeks=2,
        high=[("municip0301", "gastro", "total"), ("municip4601", "influensa", "0-4")],
    )
    signals = latest_high_signals(store, geography, "sykdomspulsen")
    assert [(s.location_code, s.zscore) for s in signals] == [
        ("municip0301", 9.0),
        ("municip4601", 8.0),
    ]
    assert signals[0].key == "sykdomspulsen|municip0301|total|gastro|2020-W20"
    vestland = area_codes(geography, ["county46"])
    assert "municip4601" in vestland and "municip0301" not in vestland
    assert len(area_codes(geography, ["norge"])) == 368
    assert store.results("farrington", Frequency.WEEKLY).collect().height == 0
    assert latest_high_signals(store, geography, "farrington") == []
