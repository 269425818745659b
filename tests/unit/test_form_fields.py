"""The form readers in korona.web.forms that the pages share."""

from __future__ import annotations

import io

from starlette.datastructures import FormData, UploadFile

from korona.web.forms import number_text, row_ids, texts


def test_number_text_reads_a_decimal_comma_as_a_point_and_blank_as_none() -> None:
    form = FormData([("weight", " 2,5 "), ("months", "12"), ("blank", "  "), ("word", "many")])
    assert number_text(form, "weight") == "2.5"
    assert number_text(form, "months") == "12"
    assert number_text(form, "blank") is None
    assert number_text(form, "missing") is None
    assert number_text(form, "word") == "many"  # the model refuses it, naming the field


def test_texts_and_row_ids_keep_only_what_a_multiple_choice_may_hold() -> None:
    upload = UploadFile(io.BytesIO(b"x"), filename="a.txt")
    form = FormData(
        [("ids", "3"), ("ids", "x1"), ("ids", upload), ("ids", ""), ("ids", "12"), ("ids", "²")]
    )
    assert texts(form, "ids") == ["3", "x1", "", "12", "²"]
    # What is no id stays for the model to refuse with a message (int("²") raised).
    assert row_ids(form, "ids") == ["3", "x1", "12", "²"]
    assert texts(form, "missing") == [] and row_ids(form, "missing") == []
