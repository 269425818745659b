"""The municipal doctor on Bergen's surveillance page in chromium: share infected, the signal
chart and table, neighbours, a neighbour's page, a CSV download; the public's Utsira page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, demo_data_dir, korona_env, log_in, serve
from tests.surveillance_store import copy_store

from korona.config import Settings

#: Its own server (not the shared one of group "e2e"), so xdist may run it beside that group.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-surveillance-location")]


@pytest.fixture(scope="module")
def surveillance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the demo with the test surveillance store (the demo's own store replaced)."""
    reference_dir = Settings().reference_dir
    data_dir = demo_data_dir(tmp_path_factory, "e2e-surveillance")
    shutil.rmtree(data_dir / "surveillance", ignore_errors=True)
    copy_store(tmp_path_factory, reference_dir, data_dir / "surveillance")
    env = {**korona_env(data_dir), "KORONA_REFERENCE_DIR": str(reference_dir)}
    with serve(data_dir, env) as base:
        yield base


@pytest.fixture
def doctor_page(browser: Browser, surveillance_server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=surveillance_server, bypass_csp=True, locale="nb-NO", accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"browser errors: {errors}"


def fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_municipal_doctor_sees_bergen_opens_a_neighbour_and_downloads_a_csv(
    doctor_page: Page, tmp_path: Path
) -> None:
    page = doctor_page
    log_in(page, "kommunelege@demo.korona.no")
    page.goto("/surveillance/municip4601")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bergen")
    expect(page.get_by_test_id("share-infected")).to_contain_text("%")
    expect(page.get_by_text("Andel innbyggere smittet")).to_be_visible()
    expect(page.get_by_test_id("signal-chart").locator("svg.k-svg")).to_be_visible()
    expect(page.get_by_test_id("tile-chart").locator("svg.k-svg")).to_be_visible()
    table = page.get_by_test_id("signals-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_text("Antall fra 1 til 4 vises som")).to_have_count(0)  # full detail
    neighbours = page.locator("section[aria-labelledby=neighbours-heading]")
    for name in ("Askøy", "Øygarden", "Vaksdal", "Samnanger", "Bjørnafjorden"):
        expect(neighbours.get_by_role("link", name=name)).to_be_visible()
    assert_accessible(page)

    # Sort the signals table by z-score: the header says how it is sorted.
    table.get_by_role("link", name="z-skår").click()
    expect(page.get_by_test_id("signals-table").locator("th[aria-sort]")).to_have_count(1)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Signaler (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("municip4601-signals-")
    saved = tmp_path / "signals.csv"
    download.save_as(saved)
    header = saved.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("uke;ISO-år;ISO-uke;Dato (søndag);Syndrom;Alder;Antall;")  # Excel

    neighbours.get_by_role("link", name="Askøy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Askøy")
    expect(page).to_have_url(f"{page.url.split('/surveillance')[0]}/surveillance/municip4627")
    expect(page.get_by_test_id("share-infected")).to_contain_text("%")
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/surveillance/municip4601")
    assert fits_the_screen(page)


def test_the_public_sees_utsira_with_small_counts_hidden(doctor_page: Page) -> None:
    page = doctor_page
    page.goto("/surveillance/municip1151")
    expect(page.get_by_role("heading", level=1)).to_have_text("Utsira")
    expect(page.get_by_text("Antall fra 1 til 4 vises som")).to_be_visible()
    page.get_by_text("Covid-19 per uke (tabell)").click()
    expect(page.get_by_role("cell", name="<5").first).to_be_visible()
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert fits_the_screen(page)
