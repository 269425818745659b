"""The form and notice macros in macros.html that the page templates share."""

from __future__ import annotations

from types import SimpleNamespace

from korona.web.templating import templates


def render(call: str, **context: object) -> str:
    source = '{% from "macros.html" import id_select, checkbox, success_alert %}' + call
    return templates.env.from_string(source).render(**context)


def test_id_select_marks_the_chosen_row_whether_its_id_is_a_number_or_text() -> None:
    rows = [SimpleNamespace(id=1, name="A"), SimpleNamespace(id=12, name="B & C")]
    call = '{{ id_select("owner_id", "Owner", rows, values, errors, "None yet") }}'
    for chosen in (12, "12"):
        html = render(call, rows=rows, values={"owner_id": chosen}, errors={})
        assert '<option value="12" selected>B &amp; C</option>' in html
        assert '<option value="1">A</option>' in html
        assert '<option value="">None yet</option>' in html
    html = render(call, rows=rows, values={}, errors={"owner_id": "Choose one"})
    assert " selected" not in html
    assert 'aria-describedby="owner_id-error" aria-invalid="true"' in html
    assert 'id="owner_id-error">Choose one</p>' in html
    assert "k-optional" not in html


def test_checkbox_sends_one_when_ticked_and_shows_its_state() -> None:
    call = '{{ checkbox("f-qa", "quality_assured", "Only quality-assured", on) }}'
    ticked, unticked = render(call, on=True), render(call, on=None)
    assert 'id="f-qa" name="quality_assured" value="1" checked>' in ticked
    assert 'value="1">' in unticked and "checked" not in unticked
    assert '<label class="ds-label" for="f-qa">Only quality-assured</label>' in ticked


def test_success_alert_is_a_status_notice_with_the_message_escaped_once() -> None:
    html = render("{{ success_alert(message) }}", message="Saved <b>")
    assert html == (
        '<div class="ds-alert" data-color="success" role="status">'
        '<p class="ds-paragraph">Saved &lt;b&gt;</p></div>'
    )
