"""The shared input types: ids in ASCII digits and in range, text without control characters."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from korona.errors import InvalidInput
from korona.portfolio.need.schemas import NeedUpdate, Title
from korona.portfolio.solution.schemas import SolutionUpdate
from korona.validation import (
    MAX_OFFSET,
    MAX_ROW_ID,
    CleanLine,
    CleanText,
    Limit,
    MunicipalityNumber,
    Offset,
    RowId,
    check_municipality_number,
    parse_row_id,
    row_id_or_none,
)


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", 1), (" 42 ", 42), (7, 7), (str(MAX_ROW_ID), MAX_ROW_ID)]
)
def test_row_id_accepts_ascii_digits_in_range(raw: object, expected: int) -> None:
    assert TypeAdapter(RowId).validate_python(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["²", "١٢", "٣", "1_000", "-1", "0", 0, str(MAX_ROW_ID + 1), 2**70, "9" * 5000, "", "1e3"],
)
def test_row_id_refuses_other_digits_and_out_of_range(raw: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(RowId).validate_python(raw)


def test_offset_and_limit_are_bounded() -> None:
    assert TypeAdapter(Offset).validate_python("0") == 0
    assert TypeAdapter(Offset).validate_python(str(MAX_OFFSET)) == MAX_OFFSET
    for adapter, raw in ((Offset, str(2**63)), (Offset, "-1"), (Limit, "0"), (Limit, "1001")):
        with pytest.raises(ValidationError):
            TypeAdapter(adapter).validate_python(raw)


def test_parse_row_id_raises_a_domain_error_naming_the_field() -> None:
    assert parse_row_id("12") == 12
    with pytest.raises(InvalidInput) as caught:
        parse_row_id("²", field="need_ids")
    assert caught.value.field == "need_ids"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("²", None),
        ("٣", None),
        ("-1", None),
        ("0", None),
        ("", None),
        ("99" * 10, None),
    ],
)
def test_row_id_or_none_reads_an_id_or_finds_nothing(text: str, expected: int | None) -> None:
    assert row_id_or_none(text) == expected


@pytest.mark.parametrize(("raw", "expected"), [("4601", "4601"), ("", None), (None, None)])
def test_service_municipality_check_passes_four_ascii_digits(
    raw: str | None, expected: str | None
) -> None:
    assert check_municipality_number(raw) == expected


@pytest.mark.parametrize("raw", ["٤٦٠١", "460", "46011", "46a1"])
def test_service_municipality_check_refuses_other_digits_and_lengths(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_municipality_number(raw)
    assert caught.value.field == "municipality_number"


@pytest.mark.parametrize(
    "text", ["nul\x00", "bell\x07", "del\x7f", "c1\x85", "bad\ufffd", "\ud800"]
)
def test_clean_text_refuses_control_and_undecodable_characters(text: str) -> None:
    for kind in (CleanText, CleanLine):
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python(text)


def test_line_breaks_only_in_multi_line_text() -> None:
    text = "første linje\r\n\tandre linje"
    assert TypeAdapter(CleanText).validate_python(text) == text
    with pytest.raises(ValidationError, match="single line"):
        TypeAdapter(CleanLine).validate_python(text)


def test_schema_strips_before_it_checks() -> None:
    assert TypeAdapter(Title).validate_python("  En tittel\n") == "En tittel"


@pytest.mark.parametrize(("raw", "valid"), [("4601", True), ("٤٦٠١", False), ("460", False)])
def test_municipality_number_is_four_ascii_digits(raw: str, valid: bool) -> None:
    adapter = TypeAdapter(MunicipalityNumber)
    if valid:
        assert adapter.validate_python(raw) == raw
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(raw)


@pytest.mark.parametrize("model", [NeedUpdate, SolutionUpdate])
def test_patch_cannot_null_or_empty_a_required_field(model: type) -> None:
    required_list = "affected_groups" if model is NeedUpdate else "categories"
    for payload in ({required_list: None}, {required_list: []}, {"description": None}):
        with pytest.raises(ValidationError):
            model.model_validate(payload)
    assert model.model_validate({}).model_dump(exclude_unset=True) == {}


def test_patch_may_clear_an_optional_field() -> None:
    change = NeedUpdate.model_validate({"municipality_number": None})
    assert change.model_dump(exclude_unset=True) == {"municipality_number": None}
