"""What makes the surveillance pages fast gives the same answers as the slow way: the
column-wise CSV, the page's number format, the snapshot per generation and its warm-up."""

import datetime as dt
import random
import time

import polars as pl
import pytest
from tests.surveillance_store import build_store

from korona.surveillance.calendar import Frequency
from korona.surveillance.location_view import SurveillanceReader, Warmer
from korona.surveillance.store import SurveillanceStore
from korona.tabular import Audience
from korona.web import i18n
from korona.web.exports import export_response
from korona.web.pages.surveillance_location import table_rows
from korona.web.surveillance_context import RenderCache, rendered
from korona.web.surveillance_csv import HEADERS, csv_response
from korona.web.surveillance_numbers import babel_number as _babel_number
from korona.web.surveillance_numbers import number as _number


@pytest.fixture(scope="module")
def reader(reference_dir, tmp_path_factory):
    store = build_store(tmp_path_factory.mktemp("store"), reference_dir)
    return SurveillanceReader(store, reference_dir)


@pytest.mark.parametrize("code", ["norge", "county46", "municip4601", "municip1151"])
@pytest.mark.parametrize("language", ["nb", "en"])
def test_csv_is_byte_for_byte_the_generic_export(reader, code, language):
    token = i18n.current_language.set(language)
    try:
        for view in (reader.view(code), reader.public_view(code)):
            for table in ("covid", "signals", "comparison"):
                columns, rows = table_rows(view, table)
                frame = {"covid": view.covid, "signals": view.signals}.get(table, view.comparison)
                for audience in Audience:
                    english = [HEADERS.get(c, c) for c in columns]
                    named = english if audience is Audience.PEOPLE else columns
                    slow = export_response("csv", named, rows, name="x", audience=audience)
                    fast = csv_response(frame, name="x", audience=audience)
                    assert fast.body == slow.body, (code, table, audience)
                    assert (
                        fast.headers["content-disposition"] == slow.headers["content-disposition"]
                    )
    finally:
        i18n.current_language.reset(token)


def test_people_csv_headers_are_norwegian(reader):
    response = csv_response(reader.view("municip4601").signals, name="x", audience=Audience.PEOPLE)
    header = response.body.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[:8] == [
        "uke", "ISO-år", "ISO-uke", "Dato (søndag)", "Syndrom", "Alder", "Antall",
        "Alle konsultasjoner",
    ]  # fmt: skip
    assert "z-skår" in header and "Modellen feilet" in header


def test_page_numbers_are_babels():
    chance = random.Random(7)
    values = [0.25, 0.35, 2.5, -0.04, 1e20, 1234567, float("nan"), 0.0, -1234.5]
    values += [chance.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [chance.randint(-(10**7), 10**7) for _ in range(500)]
    for language in ("nb", "en"):
        token = i18n.current_language.set(language)
        try:
            for value in values:
                for digits in (0, 1, 2):
                    assert _number(value, digits) == _babel_number(value, digits, language)
        finally:
            i18n.current_language.reset(token)


def test_render_cache_keeps_the_latest_entries():
    cache = RenderCache(size=2)
    calls = []
    for key in ("a", "b", "a", "c", "b"):
        rendered(cache, key, lambda key=key: calls.append(key) or key.encode() * 1000)
    assert calls == ["a", "b", "c", "b"]  # "b" was pushed out by "c" after "a" was used
    assert len(cache) == 2 and cache.get("a") is None


def test_views_belong_to_the_generation_they_are_read_from(reference_dir, tmp_path):
    store = build_store(tmp_path / "store", reference_dir)
    reader = SurveillanceReader(store, reference_dir)
    first = reader.tables()
    assert reader.tables() is first  # one read per generation
    before = reader.view("municip4601").covid
    # A commit: Bergen's latest case week changes; the next view reads the new generation.
    last = before.filter(pl.col("n").is_not_null())["date"].max()
    assert isinstance(last, dt.date)
    store.write_cases(
        pl.DataFrame({"location_code": ["municip4601"], "date": [last], "n": [123_456]}),
        Frequency.WEEKLY,
    )
    after = reader.view("municip4601").covid
    assert reader.tables().generation == first.generation + 1
    assert after.filter(pl.col("date") == last)["n"].item() == 123_456


def test_the_warmer_reads_each_new_generation_in_the_background(reference_dir, tmp_path):
    store = build_store(tmp_path / "store", reference_dir)
    reader = SurveillanceReader(SurveillanceStore(store.root), reference_dir)
    warmer = Warmer(store, [reader.warm], interval=0.05).start()
    try:
        deadline = time.monotonic() + 120
        while warmer.warmed != store.generation and time.monotonic() < deadline:
            time.sleep(0.05)
        assert warmer.warmed == store.generation
        tables = reader.tables()
        assert len(tables.views) == 2 * 368  # every location, full and public
        store.write_cases(
            pl.DataFrame(
                {"location_code": ["municip1151"], "date": [dt.date(2022, 1, 2)], "n": [2]}
            ),
            Frequency.WEEKLY,
        )
        while warmer.warmed != store.generation and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.tables().generation == store.generation != tables.generation
    finally:
        warmer.stop()


@pytest.mark.parametrize("code", ["norge", "county46", "municip4601", "municip1151"])
def test_location_documents_are_the_models_json(reader, code):
    from korona.surveillance.disclosure import records
    from korona.web.api.surveillance import (
        CovidSeriesOut,
        CovidWeekOut,
        Detail,
        LocationSummaryOut,
        SignalOut,
        SignalsOut,
        _summary,
        document_json,
        rows_json,
    )

    for view, detail in (
        (reader.view(code), Detail.FULL),
        (reader.public_view(code), Detail.PUBLIC),
    ):
        summary = _summary(reader, view, detail)
        covid = records(view.covid)
        slow = CovidSeriesOut(
            **summary, weeks=[CovidWeekOut(**r, population_n=r["population"]) for r in covid]
        ).model_dump_json()
        rows = rows_json(CovidWeekOut, covid, {"population_n": "population"})
        assert document_json(LocationSummaryOut(**summary), "weeks", rows).decode() == slow
        signals = records(view.signals)
        slow = SignalsOut(
            **summary, signals=[SignalOut(**r, excess_n=r["excess"]) for r in signals]
        ).model_dump_json()
        rows = rows_json(SignalOut, signals, {"excess_n": "excess"})
        assert document_json(LocationSummaryOut(**summary), "signals", rows).decode() == slow
