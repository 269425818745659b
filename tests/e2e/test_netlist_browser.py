"""The decision group in chromium: approve, publish, public net list, progress, delivery."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

#: The demo's second meeting has net list version 2 in draft on its agenda.
MEETING = "Beslutningsgruppen – møte 2"
#: The demo gives measures to owners in turn; Siri Sykehus works at this one.
OWNER = "Oslo universitetssykehus HF"
#: A need that Siri Sykehus reported (the demo's reporters stand behind their organisation's needs).
OUS_NEED = "Digital screening av pasienter før poliklinisk time"


def _new_page(browser: Browser, server: str) -> Page:
    return browser.new_context(base_url=server, bypass_csp=True, locale="nb-NO").new_page()


def _csrf(page: Page) -> str:
    value = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert value
    return value


def test_draft_is_approved_published_reported_on_and_delivered(
    page: Page, browser: Browser, server: str
) -> None:
    # An observer reads the meeting but cannot approve: no button, and a forged post is refused.
    observer = _new_page(browser, server)
    log_in(observer, "observator@demo.korona.no")
    observer.goto("/meetings")
    observer.get_by_role("link", name=MEETING).click()
    expect(observer.get_by_role("heading", level=1)).to_have_text(MEETING)
    expect(observer.get_by_role("button", name="Vedta versjon 2")).to_have_count(0)
    meeting_url = observer.url
    refused = observer.request.post(
        meeting_url + "/approve/2", form={"csrf_token": _csrf(observer)}, max_redirects=0
    )
    assert refused.status == 403
    assert_accessible(observer)
    observer.context.close()

    # A decision member approves version 2 in the meeting.
    member = _new_page(browser, server)
    log_in(member, "beslutter@demo.korona.no")
    member.goto(meeting_url)
    member.get_by_role("button", name="Vedta versjon 2").click()
    expect(member.get_by_role("status")).to_contain_text("Nettolisten ble vedtatt.")
    expect(member.get_by_text("Nettoliste versjon 2 vedtatt")).to_be_visible()
    assert_accessible(member)
    member.context.close()

    # The office publishes it; the public page shows it with the changes from version 1.
    log_in(page, "kontor@demo.korona.no")
    page.goto("/decisions/versions/2")
    assert_accessible(page)
    page.get_by_role("button", name="Publiser versjon 2").click()
    expect(page).to_have_url(re.compile(r"/netlist/versions/2$"))
    public = _new_page(browser, server)
    public.goto("/netlist")
    expect(public.get_by_role("heading", level=1)).to_have_text("Nettoliste – versjon 2")
    changes = public.get_by_role("region", name="Endringer fra versjon 1")
    expect(changes).to_contain_text("Inn")
    expect(changes).to_contain_text("Ut")
    expect(changes).to_contain_text("Flyttet")
    expect(changes).to_contain_text("Haster etter utbruddene i nord.")
    assert_accessible(public)
    pdf = public.request.get("/netlist/versions/2.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    api = public.request.get("/api/v1/netlist").json()
    assert api["number"] == 2 and 15 <= len(api["items"]) <= 20
    assert {row["change"] for row in api["changes"]} >= {"in", "out", "moved"}
    public.context.close()

    # The owner organisation's user files a red progress report; the overview shows it.
    owner = _new_page(browser, server)
    log_in(owner, "sykehus@demo.korona.no")
    owner.goto("/measures?status=in_progress")
    mine = owner.get_by_role("row").filter(has_text=OWNER).first.get_by_role("link")
    measure = mine.inner_text()
    mine.click()
    owner.get_by_label("Rød").check()
    owner.get_by_label("Kort rapport").fill("Leverandøren har stanset arbeidet.")
    owner.get_by_role("button", name="Send fremdriftsrapport").click()
    expect(owner.get_by_role("status")).to_contain_text("Endringene ble lagret.")
    assert_accessible(owner)
    owner.goto("/progress")
    row = owner.get_by_role("row").filter(has_text=measure).first
    expect(row).to_contain_text("Rød")
    expect(row).to_contain_text("Leverandøren har stanset arbeidet.")
    assert_accessible(owner)
    owner.context.close()

    # The office links the reporter's need, delivers the measure; the letter is in the outbox.
    page.goto("/measures")
    page.get_by_role("link", name=measure, exact=True).click()
    measure_url = page.url
    page.get_by_role("link", name="Rediger").click()
    page.get_by_label("Behov som dekkes").select_option(label=OUS_NEED)
    page.get_by_role("button", name="Lagre endringer").click()
    expect(page.get_by_role("region", name="Behov som dekkes")).to_contain_text(OUS_NEED)
    page.get_by_label("Ny status").select_option(label="Levert")
    page.get_by_role("button", name="Endre status").click()
    expect(page.locator(".k-titlebar")).to_contain_text("Levert")
    page.goto("/outbox")
    letter = page.get_by_role("row").filter(has_text="sykehus@demo.korona.no")
    expect(letter.first).to_contain_text(f"Tiltaket «{measure}» er levert")
    page.goto(measure_url)
    assert_accessible(page)
