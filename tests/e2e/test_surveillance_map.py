"""The Sykdomspulsen map in chromium on the `korona demo` data: choose, zoom, click through."""

from __future__ import annotations

import re

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(autouse=True, scope="module")
def warm(server: str) -> None:
    """Build the store generation's shared tables once (about 5 s of CPU on the demo store,
    docs/benchmarks.md) before the browser's 30 s navigation timeout starts counting."""
    response = httpx.get(server + "/surveillance", timeout=600)
    assert response.status_code == 200


def test_public_map_indicator_county_table_and_click_through(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Se kartet over Norge etter kommune").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sykdomspulsen: Norge etter kommune")
    norway = page.locator("figure.k-map > svg")
    expect(norway).to_be_visible()
    expect(norway.locator("a")).to_have_count(356)
    assert_accessible(page)

    page.get_by_label("Indikator").select_option("incidence_14d")
    page.get_by_role("button", name="Vis").click()
    expect(page).to_have_url(re.compile(r"/surveillance\?indicator=incidence_14d"))
    expect(page.get_by_role("heading", name=re.compile("14-dagers insidens"))).to_be_visible()

    # The text alternative: the same municipalities in a table, each a link.
    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(357)
    expect(table.get_by_role("link", name="Utsira", exact=True)).to_be_visible()

    page.get_by_role("link", name="Vestland", exact=True).click()
    expect(page).to_have_url(re.compile(r"/surveillance/map/county46\?indicator=incidence_14d"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vestland etter kommune")
    expect(page.locator("figure.k-map > svg a")).to_have_count(43)
    assert_accessible(page)

    page.get_by_label("Indikator").select_option("signal")
    page.get_by_role("button", name="Vis").click()
    expect(page.get_by_role("heading", name=re.compile("Signalstatus"))).to_be_visible()
    assert_accessible(page)

    page.locator('figure.k-map a[href="/surveillance/municip4601"]').click()
    expect(page).to_have_url(re.compile(r"/surveillance/municip4601$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bergen")


def test_public_sees_utsiras_small_counts_as_less_than_five(page: Page, server: str) -> None:
    # A week in which Utsira (192 inhabitants) had 1–4 cases, found from FHI's data via the API.
    weeks = httpx.get(server + "/api/v1/surveillance/map", timeout=60).json()["weeks"]
    small_week = None
    for week in reversed(weeks):
        body = httpx.get(
            server + "/api/v1/surveillance/map",
            params={"indicator": "incidence_14d", "week": week, "county": "county11"},
            timeout=60,
        ).json()
        utsira = next(r for r in body["municipalities"] if r["location_code"] == "municip1151")
        assert utsira["n"] not in (1, 2, 3, 4)
        if utsira["n"] == "<5":
            small_week = week
            break
    assert small_week is not None
    page.goto(f"/surveillance/map/county11?indicator=incidence_14d&week={small_week}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Utsira", exact=True))
    expect(row.get_by_role("cell", name="<5").first).to_be_visible()
    row.get_by_role("link", name="Utsira", exact=True).click()
    expect(page).to_have_url(re.compile(r"/surveillance/municip1151$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Utsira")
    expect(page.get_by_text("Antall fra 1 til 4 vises som <5", exact=False)).to_be_visible()
    assert_accessible(page)


def test_municipal_doctor_lands_on_bergen_and_reaches_the_map(page: Page) -> None:
    log_in(page, "kommunelege@demo.korona.no")
    expect(page).to_have_url(re.compile(r"/surveillance/municip4601$"))
    page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name="Sykdomspulsen"
    ).click()
    expect(page).to_have_url(re.compile(r"/surveillance$"))
    expect(page.locator("figure.k-map > svg")).to_be_visible()
