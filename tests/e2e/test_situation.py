"""A municipality's situation report in chromium: a bad value is refused in Norwegian and nothing
is stored, the corrected report is received, its free-text need becomes a registered need, and
the need's page shows the municipality's indicators. Every page is checked with axe-core and at
390 px nothing is wider than the screen."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import assert_accessible, log_in

from korona.surveillance.calendar import iso_week_label

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

NEED_TEXT = "Trenger flere smittesporere i helgene. Teamet rekker ikke alle nærkontakter."


#: Elements whose right edge lies past the screen (inside a scrolling box they may).
WIDER_THAN_SCREEN = """(root) => {
  const limit = document.documentElement.clientWidth;
  const inScroller = (el) => el.closest('.k-scroll');
  return [...document.querySelectorAll(`${root}, ${root} *`)]
    .filter((el) => !inScroller(el) && el.getBoundingClientRect().right > limit + 1)
    .slice(0, 5)
    .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
}"""


def reports_stored(page: Page, week: str) -> str:
    """Return how many reports Bergen has for the week, asked through the JSON API."""
    response = page.request.get(f"/api/v1/situation-reports?municipality_number=4601&week={week}")
    assert response.ok
    return response.headers["x-total-count"]


def check_both_widths(page: Page, shots: Path, name: str, root: str = "body") -> None:
    """Take screenshots at 1280 and 390 px; nothing in ``root`` may be wider than the screen."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
        too_wide = page.evaluate(WIDER_THAN_SCREEN, root)
        assert too_wide == [], f"{name} at {width} px: wider than the screen: {too_wide}"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_municipality_reports_corrects_and_registers_a_need(page: Page, tmp_path: Path) -> None:
    week = iso_week_label(date.today())
    log_in(page, "kommune@demo.korona.no")
    page.goto("/situation")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kommunale situasjonsrapporter")
    expect(
        page.get_by_role("group", name="Belastning i hjemmetjenesten per kommune")
    ).to_be_visible()
    assert_accessible(page)
    check_both_widths(page, tmp_path, "dashboard")
    page.get_by_role("link", name="Rapporter ukens situasjon").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapporter ukens situasjon")
    assert_accessible(page)

    page.get_by_label("Ledige sykehjemsplasser").fill("14")
    page.get_by_label("Ledige kommunale akutte døgnplasser (KAD)").fill("3")
    page.get_by_label("Testkapasitet per døgn").fill("900")
    page.get_by_label("Fravær blant ansatte (prosent)").fill("140")  # a bad value
    page.get_by_label("4 – Stor").check()
    page.get_by_label("Smittesporingskapasitet (tilfeller per døgn)").fill("60")
    page.get_by_label("Behov (fritekst)").fill(NEED_TEXT)
    page.get_by_role("button", name="Send rapporten").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Fravær blant ansatte (prosent): Må være høyst 100")
    expect(page.get_by_label("Fravær blant ansatte (prosent)")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert reports_stored(page, week) == "0"  # nothing stored
    assert_accessible(page)
    check_both_widths(page, tmp_path, "form-errors")

    page.get_by_label("Fravær blant ansatte (prosent)").fill("12,5")
    page.get_by_role("button", name="Send rapporten").click()
    expect(page.get_by_role("status")).to_contain_text("Rapporten er mottatt.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bergen, uke {week}")
    expect(page.locator(".k-facts")).to_contain_text("12,5")
    assert reports_stored(page, week) == "1"
    assert_accessible(page)
    check_both_widths(page, tmp_path, "report")

    page.get_by_role("link", name="Registrer som behov").click()
    expect(page.get_by_label("Tittel")).to_have_value("Trenger flere smittesporere i helgene")
    expect(page.get_by_label("Beskrivelse")).to_have_value(NEED_TEXT)
    assert_accessible(page)
    page.get_by_label("Kategori").select_option(label="Smittesporing")
    page.get_by_role("button", name="Registrer behov").click()

    expect(page.get_by_role("status")).to_contain_text("Behovet ble registrert.")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Trenger flere smittesporere i helgene"
    )
    indicators = page.locator("section", has=page.locator("#indicators-heading"))
    expect(indicators.get_by_role("heading", name="Bergen (4601)")).to_be_visible()
    for label in ("Andel smittet", "14-dagers insidens per 100 000", "Covid-19-signal"):
        expect(indicators).to_contain_text(label)
    expect(indicators).to_contain_text(f"situasjonsrapporten fra Bergen, uke {week}")
    expect(indicators.locator("dd").filter(has_text="12,5")).to_be_visible()  # latest capacity
    assert_accessible(page)
    # The rest of the need page is another feature's; the indicators section is this one's.
    check_both_widths(page, tmp_path, "need", root="section:has(#indicators-heading)")

    # The report links to its registered need.
    page.get_by_role("link", name=f"situasjonsrapporten fra Bergen, uke {week}").click()
    expect(page.get_by_role("link", name="Trenger flere smittesporere i helgene")).to_be_visible()
