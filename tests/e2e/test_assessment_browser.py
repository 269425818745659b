"""Assessment in chromium: two assessors score alone, the lead agrees, the office drafts a list."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

#: A demo input in the Innbyggertjenester group that no one has scored yet.
TITLE = "Kriseinformasjon på klarspråk"


def open_as(browser: Browser, server: str, email: str) -> Page:
    context = browser.new_context(base_url=server, bypass_csp=True, locale="nb-NO")
    page = context.new_page()
    log_in(page, email)
    return page


def score(page: Page, level: int, effort: int, delivery: str) -> None:
    """Fill in the gates and criteria of the form on the page (radio ids count steps from 1)."""
    page.get_by_label("Helsepersonell", exact=True).check()
    page.get_by_label("Måneder til det kan leveres").fill(delivery)
    for criterion in ("clinical_benefit", "relief", "severity", "reuse", "time_criticality"):
        page.locator(f"#{criterion}-{level + 1}").check()
    steps = {1: 1, 2: 2, 3: 3, 5: 4, 8: 5}
    page.locator(f"#effort_hospitals-{steps[effort]}").check()
    page.locator("#effort_municipalities-1").check()
    page.locator("#confidence-2").check()
    page.get_by_role("button", name="Lagre min vurdering").click()
    expect(page.get_by_role("status")).to_contain_text("Din vurdering ble lagret.")


def test_two_assessors_a_lead_and_the_office_make_a_draft_net_list(
    page: Page, browser: Browser, server: str
) -> None:
    # The first assessor finds the input among those not assessed and scores it.
    log_in(page, "vurderer@demo.korona.no")
    page.goto("/assessment?show=not_assessed")
    assert_accessible(page)
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    # The anchor text is shown beside every step of the scale.
    expect(page.get_by_text("Tas i bruk som den er (helsenorge.no, NHNs video)")).to_be_visible()
    assert_accessible(page)
    score(page, level=3, effort=2, delivery="1")
    expect(page.get_by_text("Én vurderer", exact=True)).to_be_visible()
    url = page.url.split("?")[0]

    # A second assessor first sees only that someone scored; after scoring, the spread.
    second = open_as(browser, server, "vurderer2@demo.korona.no")
    second.goto(url)
    expect(second.get_by_text("Vurder selv først")).to_be_visible()
    score(second, level=1, effort=5, delivery="2")
    spread = second.get_by_role("region", name="Hver vurderers poeng og spredningen")
    expect(spread).to_contain_text("1–3")
    expect(second.get_by_text("Vurderingene er ulike")).to_be_visible()
    assert_accessible(second)
    second.context.close()

    # The group lead records the agreed score with a reason.
    lead = open_as(browser, server, "gruppeleder@demo.korona.no")
    lead.goto(url)
    agreed = lead.locator("form[action$='/agreed']")
    agreed.locator("#agreed-clinical_benefit-3").check()
    agreed.get_by_label("Begrunnelse for den omforente vurderingen").fill(
        "Gruppen ble enig om moderat nytte."
    )
    agreed.get_by_role("button", name="Registrer omforent vurdering").click()
    expect(lead.get_by_role("status")).to_contain_text("Den omforente vurderingen ble registrert.")
    expect(lead.get_by_text("Omforent vurdering registrert", exact=True)).to_be_visible()
    expect(lead.get_by_role("heading", name="Poengsum delt opp")).to_be_visible()
    assert_accessible(lead)
    lead.context.close()

    # The office sees the exact proposal, pins the input in with a reason and drafts the list.
    office = open_as(browser, server, "kontor@demo.korona.no")
    office.goto("/prioritisation")
    expect(office.get_by_text("Løst eksakt med HiGHS, gap 0")).to_be_visible()
    expect(office.get_by_role("table", name="Vekter, versjon 2")).to_be_visible()
    assert_accessible(office)
    office.get_by_label("Innspill", exact=True).select_option(label=f"{reference(office)} {TITLE}")
    office.get_by_label("Lås", exact=True).select_option("in")
    office.get_by_label("Begrunnelse", exact=True).fill("Trengs før neste smittebølge.")
    office.get_by_role("button", name="Lås og løs på nytt").click()
    expect(office.get_by_role("status")).to_contain_text("Låsingen ble lagret")
    # The chart is 1 000 sensitivity draws: seconds of CPU when the machine is busy.
    expect(office.get_by_role("img", name="Stolpediagram")).to_be_visible(timeout=20_000)
    office.get_by_role("button", name="Lag utkast til nettoliste fra dette forslaget").click()
    expect(office.get_by_role("heading", level=1)).to_contain_text("Nettoliste, versjon")
    expect(office.get_by_role("table")).to_contain_text(TITLE)
    expect(office.get_by_role("table")).to_contain_text("Trengs før neste smittebølge.")
    assert_accessible(office)
    office.context.close()

    # An observer reads the weights but may not change them, not even by posting directly.
    observer = open_as(browser, server, "observator@demo.korona.no")
    observer.goto("/assessment/weights")
    expect(
        observer.get_by_text("Bare medlemmer av beslutningsgruppen kan endre vektene.")
    ).to_be_visible()
    expect(observer.get_by_role("button", name="Lagre ny versjon")).to_have_count(0)
    assert_accessible(observer)
    token = observer.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = observer.request.post(
        "/assessment/weights",
        form={
            "csrf_token": token or "",
            "clinical_benefit": "1",
            "relief": "1",
            "severity": "1",
            "reuse": "1",
            "time_criticality": "1",
            "need_coverage": "1",
        },
    )
    assert refused.status == 403
    observer.context.close()


def reference(page: Page) -> str:
    """Return the reference of the input with TITLE as the prioritisation page lists it."""
    row = page.get_by_role("row").filter(has_text=TITLE).first
    return row.get_by_role("link").first.inner_text()
