"""The templates' gettext: Jinja's newstyle semantics, each message translated once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from korona.portfolio.intake.models import InputStatus
from korona.portfolio.need.models import NeedStatus
from korona.web import i18n
from korona.web.labels import label
from korona.web.templating import templates


def render(source: str, **context: object) -> str:
    return templates.env.from_string(source).render(**context)


def test_messages_translate_per_language_and_values_are_escaped() -> None:
    source = '{{ _("Search") }}|{{ _("Kept:") }} {{ _("%(num)d%% done", num=5) }}|{{ _(x) }}'
    token = i18n.current_language.set("nb")
    try:
        norwegian = render(source, x="<b>")
        markup = render('{{ _("Select %(reference)s", reference=ref) }}', ref="<script>")
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("en")
    try:
        english = render(source, x="<b>")
    finally:
        i18n.current_language.reset(token)
    assert norwegian.startswith("Søk|") and english.startswith("Search|")
    assert "5% done" in english  # %% becomes %, as in Jinja's own newstyle gettext
    assert "&lt;script&gt;" in markup and "<script>" not in markup
    # A message id is trusted markup (it is ours), as Jinja's newstyle gettext has it.
    assert english.endswith("|<b>")


def test_dates_are_formatted_per_language_and_in_oslo_time() -> None:
    moment = datetime(2020, 3, 12, 23, 30, tzinfo=UTC)
    token = i18n.current_language.set("nb")
    try:
        assert i18n.format_date(date(2020, 3, 12)) == "12. mars 2020"
        assert i18n.format_date(moment).startswith("13.03.2020")  # past midnight in Oslo
    finally:
        i18n.current_language.reset(token)
    token = i18n.current_language.set("en")
    try:
        assert i18n.format_date(date(2020, 3, 12)) == "12 Mar 2020"
    finally:
        i18n.current_language.reset(token)
    assert i18n.format_date(None) == ""


def test_status_tags_and_labels_tell_equal_values_of_two_enums_apart() -> None:
    """NeedStatus.COVERED == InputStatus.COVERED == "covered"; the cache must not mix them."""
    source = "{{ status_tag(a) }}|{{ status_tag(b) }}|{{ a|label }}|{{ b|label }}"
    for language in i18n.LANGUAGES:
        token = i18n.current_language.set(language)
        try:
            need_tag, input_tag, need_label, input_label = render(
                source, a=NeedStatus.COVERED, b=InputStatus.COVERED
            ).split("|")
            assert need_label == label(NeedStatus.COVERED) != label(InputStatus.COVERED)
            assert input_label == label(InputStatus.COVERED)
            assert need_label in need_tag and input_label in input_tag
            assert 'class="ds-tag k-status k-status--covered"' in need_tag
        finally:
            i18n.current_language.reset(token)
