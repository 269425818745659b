"""Norwegian number, size, duration and week formats (Babel), and chart label wrapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from korona.portfolio.intake import stats
from korona.web import charts, i18n


@pytest.fixture(params=["nb", "en"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    token = i18n.current_language.set(request.param)
    yield request.param
    i18n.current_language.reset(token)


def test_formats_follow_the_language(language: str) -> None:
    norwegian = language == "nb"
    assert i18n.format_number(12345.678, 1) == ("12\xa0345,7" if norwegian else "12,345.7")
    assert i18n.format_size(850) == "850\xa0B"
    assert i18n.format_size(12_345) == ("12,3\xa0kB" if norwegian else "12.3\xa0kB")
    assert i18n.format_size(4_100_000) == ("4,1\xa0MB" if norwegian else "4.1\xa0MB")
    assert i18n.format_hours(5.2) == ("5 timer" if norwegian else "5 hours")
    assert i18n.format_hours(None) == "–"
    assert i18n.format_week("2026-W44") == ("uke 44 2026" if norwegian else "week 44 2026")
    assert i18n.format_week("2026-W04", short=True) == ("uke 4" if norwegian else "week 4")
    assert i18n.format_week("not a week") == "not a week"


def test_week_span_includes_empty_weeks_and_crosses_years() -> None:
    assert stats.week_span(date(2026, 11, 26), date(2026, 12, 2)) == ["2026-W48", "2026-W49"]
    assert stats.week_span(date(2020, 12, 30), date(2021, 1, 12)) == [
        "2020-W53",
        "2021-W01",
        "2021-W02",
    ]


def test_long_chart_labels_wrap_without_being_cut() -> None:
    text = "Avstandsoppfølging / hjemmemonitorering"
    assert charts.wrap_label(text, 20) == "Avstandsoppfølging/|hjemmemonitorering"
    assert charts.wrap_label("Massevarsling / SMS", 20) == "Massevarsling / SMS"
    assert charts.wrap_label("a|b", 20) == "a/b"


def test_pydantic_errors_are_norwegian_even_for_rare_types() -> None:
    token = i18n.current_language.set("nb")
    try:
        short = {"type": "string_too_short", "input": "ab", "ctx": {"min_length": 3}}
        assert i18n.translate_validation_error(short) == "Må ha minst 3 tegn"
        url = {"type": "url_parsing", "input": "x", "msg": "Input should be a valid URL"}
        assert i18n.translate_validation_error(url) == "Må være en nettadresse (https://…)"
        odd = {"type": "uuid_parsing", "input": "x", "msg": "Input should be a valid UUID"}
        assert i18n.translate_validation_error(odd) == "Ugyldig verdi"
    finally:
        i18n.current_language.reset(token)
