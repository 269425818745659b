"""In chromium: the demo doctor's subscriptions page, and the report waiting in the outbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_demo_doctor_follows_places_and_the_office_sees_the_report(
    page: Page, tmp_path: Path
) -> None:
    log_in(page, "kommunelege@demo.korona.no")
    page.goto("/account")
    page.get_by_role("link", name="E-post fra Sykdomspulsen: ukentlig oversikt og varsler").click()
    table = page.get_by_role("table", name="Steder som følges")
    expect(table).to_contain_text("Bergen")
    expect(table).to_contain_text("Automatisk: din kommune")
    expect(table).to_contain_text("Askøy")
    assert_accessible(page)
    page.get_by_label("Kommune, fylke eller hele landet").select_option(label="Oslo")
    page.get_by_role("button", name="Følg", exact=True).click()
    expect(page.get_by_role("table", name="Steder som følges")).to_contain_text("Oslo")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / f"subscriptions-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name="Logg ut").click()

    log_in(page, "kontor@demo.korona.no")
    page.goto("/outbox")
    expect(page.get_by_role("main")).to_contain_text("Ukentlig oversikt")
    expect(page.get_by_role("main")).to_contain_text("kommunelege@demo.korona.no")

    # The doctor's "stop" link in that e-mail, opened without a login: it asks first (mail
    # scanners open links too), and the button stops it.
    body = page.locator("details").filter(has_text="Ukentlig oversikt").first
    link = re.search(
        r"/subscriptions/unsubscribe/\d+/weekly_report/[0-9a-f]+", body.text_content() or ""
    )
    assert link is not None
    page.get_by_role("button", name="Logg ut").click()
    page.goto(link.group(0))
    main = page.get_by_role("main")
    expect(main).to_contain_text("Vil du stoppe denne e-posten: Ukentlig oversikt?")
    expect(main).to_contain_text("Ingenting er endret ennå")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Stopp denne e-posten").click()
    expect(page.get_by_role("status")).to_contain_text("Ferdig")
    page.goto(link.group(0)[:-1] + ("0" if link.group(0)[-1] != "0" else "1"))
    expect(page.get_by_role("alert")).to_contain_text("ikke gyldig")
