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


def _same_tables(a, b) -> None:
    assert a.generation == b.generation
    assert a.rates_all.equals(b.rates_all) and a.sources == b.sources
    for name in ("covid", "signals", "rates"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.keys() == right.keys(), name
        for code in left:
            assert left[code].equals(right[code]), (name, code)
            assert left[code].schema == right[code].schema, (name, code)
    for name in ("cases", "consultations", "signals"):
        left, right = getattr(a.masks, name), getattr(b.masks, name)
        assert (left is None) == (right is None), name
        if left is not None:  # (a group_by's row order differs from one run to the next)
            keys = [c for c in ("location_code", "age", "syndrome", "date") if c in left.columns]
            assert left.schema == right.schema, name
            assert left.sort(keys).equals(right.sort(keys)), name


def test_a_generation_computed_by_one_process_is_loaded_by_the_others(reference_dir, tmp_path):
    """The table cache: the first reader computes and keeps the generation, a second reader
    (another server process) loads the same tables, views and public suppression; a commit
    is a new entry; a broken entry is computed again."""
    store = build_store(tmp_path / "store", reference_dir)
    cache = tmp_path / "cache"
    first = SurveillanceReader(SurveillanceStore(store.root), reference_dir, cache_dir=cache)
    computed = first.tables()
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    assert (entry / "sources.json").is_file() and first.shared_folder(computed.generation)
    plain = SurveillanceReader(SurveillanceStore(store.root), reference_dir).tables()
    _same_tables(computed, plain)
    second = SurveillanceReader(SurveillanceStore(store.root), reference_dir, cache_dir=cache)
    loaded = second.tables()
    _same_tables(computed, loaded)
    for code in ("norge", "municip4601", "municip1151"):
        assert second.public_view(code).covid.equals(first.public_view(code).covid)
        assert second.public_view(code).signals.equals(first.public_view(code).signals)
    store.write_cases(
        pl.DataFrame({"location_code": ["municip1151"], "date": [dt.date(2022, 1, 2)], "n": [2]}),
        Frequency.WEEKLY,
    )
    newer = second.tables()
    assert newer.generation == computed.generation + 1
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2
    (latest,) = [p for p in cache.iterdir() if p.name.startswith(f"g{newer.generation}-")]
    (latest / "signals.arrow").write_bytes(b"broken")
    third = SurveillanceReader(SurveillanceStore(store.root), reference_dir, cache_dir=cache)
    _same_tables(third.tables(), newer)


def test_named_render_caches_are_shared_between_processes(tmp_path):
    """A named cache keeps its entries in the generation's shared folder, where another
    process's cache (another instance) finds them; keys are the same text in every process."""
    from korona.web.surveillance_context import share_renders

    folders = {7: tmp_path / "g7" / "rendered"}
    (tmp_path / "g7").mkdir()
    share_renders(folders.get)
    try:
        one, other = RenderCache(size=4, name="pages"), RenderCache(size=4, name="pages")
        key = (7, "municip4601", frozenset({"b", "a", "c"}), "nb")
        rendered(one, key, lambda: b"<p>Bergen</p>")
        assert other.shared((7, "municip4601", frozenset({"c", "a", "b"}), "nb"))
        assert other.get(key) == b"<p>Bergen</p>"
        rendered(one, (8, "x"), lambda: b"not shared")  # generation without a folder
        assert not other.shared((8, "x")) and not (tmp_path / "g8").exists()
        assert RenderCache(size=4).shared(key) is False  # unnamed: this process only
    finally:
        share_renders(None)
