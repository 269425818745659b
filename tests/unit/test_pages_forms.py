"""The form readers in korona.web.forms that the pages share."""

from __future__ import annotations

from starlette.datastructures import FormData

from korona.web.forms import number_text


def test_number_text_reads_a_decimal_comma_as_a_point_and_blank_as_none() -> None:
    form = FormData([("weight", " 2,5 "), ("months", "12"), ("blank", "  "), ("word", "many")])
    assert number_text(form, "weight") == "2.5"
    assert number_text(form, "months") == "12"
    assert number_text(form, "blank") is None
    assert number_text(form, "missing") is None
    assert number_text(form, "word") == "many"  # the model refuses it, naming the field
