"""The proposer's journey in chromium: live matches, receipt, triage, "covered by X" feedback."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_proposer_sees_matches_gets_receipt_and_later_the_covered_feedback(
    page: Page, browser: Browser, server: str
) -> None:
    # An anonymous proposer types; the "already covered" hint appears without blocking.
    page.goto("/inputs/new")
    assert_accessible(page)
    page.get_by_role("button", name="Send inn innspillet").click()  # empty: messages, no input
    expect(page.get_by_role("alert")).to_contain_text("Feltet må fylles ut")
    page.get_by_label("Idé").check()
    page.get_by_label("Tittel").fill("App for digital smittesporing")
    page.get_by_label("Beskrivelse").fill(
        "En mobilapp som varsler nærkontakter automatisk når noen får påvist smitte."
    )
    hint = page.locator("#matches")
    expect(hint).to_contain_text("Dette ser ut til å være dekket av")
    expect(hint.get_by_role("link", name="Smittestopp")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Innsendende virksomhet").fill("Appfabrikken AS")
    page.get_by_label("Privat virksomhet").check()
    page.get_by_label("Kontaktperson").fill("Ada Utvikler")
    page.get_by_label("E-post", exact=True).fill("ada@appfabrikken.example")
    page.get_by_role("button", name="Send inn innspillet").click()

    receipt = page.get_by_role("status")
    expect(receipt).to_contain_text("Innspillet ditt er mottatt med referansenummer INN-")
    reference = re.search(r"INN-\d{4}-\d{4}", receipt.inner_text())
    assert reference is not None
    status_link = page.url.split("?")[0]
    expect(page.get_by_text("Mottatt", exact=True).first).to_be_visible()
    assert_accessible(page)

    # The portfolio office finds it in the triage queue and marks it covered by Smittestopp.
    office_context = browser.new_context(base_url=server, bypass_csp=True, locale="nb-NO")
    office = office_context.new_page()
    log_in(office, "kontor@demo.korona.no")
    office.goto("/triage")
    assert_accessible(office)
    # The new input is listed, and also suggested as a match beside older demo inputs.
    office.get_by_role("link", name="App for digital smittesporing").first.click()
    expect(office.get_by_role("heading", level=1)).to_contain_text(reference.group(0))
    office.get_by_label("Dekket av en eksisterende løsning").check()
    office.locator("#solution_id").select_option(label="Smittestopp")
    office.locator("#reason").fill("Smittestopp fra FHI gjør nettopp dette, nasjonalt.")
    office.get_by_role("button", name="Utfør").click()
    expect(office.get_by_role("status")).to_contain_text("Endringene ble lagret.")
    assert_accessible(office)
    office_context.close()

    # Later, the proposer opens the private link again and sees the feedback letter.
    page.goto(status_link)
    expect(page.locator(".k-titlebar")).to_contain_text("Dekket av eksisterende løsning")
    messages = page.get_by_role("region", name="Meldinger til deg")
    expect(messages).to_contain_text(f"Innspill {reference.group(0)}: dekket av eksisterende")
    expect(messages).to_contain_text("Smittestopp")
    expect(messages).to_contain_text("Smittestopp fra FHI gjør nettopp dette, nasjonalt.")
    assert_accessible(page)
