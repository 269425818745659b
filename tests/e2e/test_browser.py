"""End to end in Debian's chromium: log in, register a need, find it, switch language, axe."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, check_accessibility, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_accessibility_check_finds_what_breaks_wcag(browser: Browser) -> None:
    """The check every browser test relies on can fail: an unlabelled field and faint text."""
    page = browser.new_page()
    try:
        page.set_content(
            '<html lang="nb"><head><title>Feil</title></head><body><main><h1>Feil</h1>'
            '<input type="text"><p style="color:#ccc;background:#fff">Svak tekst</p>'
            "</main></body></html>"
        )
        found = {violation["id"] for violation in check_accessibility(page)}
    finally:
        page.close()
    assert {"label", "color-contrast"} <= found


def test_public_pages_are_accessible(page: Page) -> None:
    for path in ("/", "/login"):
        page.goto(path)
        assert_accessible(page)
    page.goto("/needs")
    expect(page).to_have_url(re.compile(r"/login\?next=/needs"))


def test_reporter_registers_need_and_finds_it_in_the_overview(page: Page) -> None:
    log_in(page, "kommune@demo.korona.no")
    page.goto("/needs/new")
    assert_accessible(page)
    page.get_by_role("button", name="Registrer behov").click()  # empty form: messages, no need
    expect(page.get_by_role("alert")).to_contain_text("Feltet må fylles ut")
    assert_accessible(page)
    page.get_by_label("Tittel").fill("Digital innsjekk på legevakten i Bergen")
    page.get_by_label("Beskrivelse").fill(
        "Pasienter venter i trange lokaler. "
        "Vi trenger digital innsjekk og SMS når det er deres tur."
    )
    page.get_by_label("Kategori", exact=True).select_option("triage")
    page.get_by_label("Faglinje").fill("Legevakt")
    page.get_by_label(re.compile("^3 – Bør løses innen fire uker")).check()
    page.get_by_label("Innbyggere").check()
    page.get_by_role("button", name="Registrer behov").click()
    expect(page.get_by_role("status")).to_contain_text("Behovet ble registrert.")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Digital innsjekk på legevakten i Bergen"
    )
    assert_accessible(page)

    page.goto("/needs")
    page.get_by_label("Søk").fill("innsjekk")  # htmx filters while typing
    expect(page.locator("#results")).to_contain_text("Digital innsjekk på legevakten i Bergen")
    expect(page.locator("#results")).to_contain_text("1 behov")
    assert_accessible(page)

    page.goto("/needs/overview?category=triage")
    expect(page.get_by_role("img", name=re.compile("Stolpediagram"))).to_be_visible()
    expect(page.get_by_role("table", name="Innmeldende virksomhet")).to_contain_text(
        "Bergen kommune"
    )
    assert_accessible(page)


def test_language_switch(page: Page) -> None:
    log_in(page, "observator@demo.korona.no")
    page.goto("/needs/overview")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Needs overview")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page)
    page.get_by_role("button", name="Norsk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Behovsoversikt")


def test_observer_cannot_reach_office_pages(page: Page) -> None:
    log_in(page, "observator@demo.korona.no")
    response = page.goto("/admin/categories")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingen tilgang")
    expect(page.get_by_role("link", name="Kategorier")).to_have_count(0)
