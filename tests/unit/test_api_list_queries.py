"""The list filters' search words and the API's paged answers (korona.web.forms)."""

from __future__ import annotations

from fastapi import Response

from korona.web.forms import InputQuery, ListQuery, NeedQuery, Page, SolutionQuery, answer_page


def test_search_words_are_trimmed_and_absent_when_not_typed() -> None:
    for query in (NeedQuery, InputQuery, SolutionQuery):
        assert query.model_validate({"q": "  video  "}).to_filter().text == "video"
        assert query.model_validate({"q": ""}).to_filter().text is None
        assert query.model_validate({}).to_filter().text is None


def test_answer_page_returns_the_rows_and_tells_the_total() -> None:
    response = Response()
    page = Page.of(list(range(7)), ListQuery(page=2, per_page=3))
    assert answer_page(response, page) == [3, 4, 5]
    assert response.headers["X-Total-Count"] == "7"
