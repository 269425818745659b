"""The portfolio office in chromium, 1280 and 390 px: history, links, merge, undo, picker, 404."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from tests.e2e.conftest import assert_accessible, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

NEED = "Digital hjemmeoppfølging av smittede i hjemmeisolasjon"
OTHER_NEED = "Oversikt over ledige intensivplasser i regionen"
#: Set to a folder to keep screenshots of the pages this test visits (to look at them).
SHOTS = os.environ.get("KORONA_E2E_SHOTS")


def submit(server: str, title: str) -> str:
    """Submit an input as the public does (the JSON API) and return its reference."""
    response = httpx.post(
        server + "/api/v1/inputs",
        json={
            "kind": "offer",
            "title": title,
            "description": f"{title}: nettbrett med video for beboere og pårørende.",
            "organisation_name": "Fjordtech AS",
            "is_public": False,
            "contact_name": "Per Leverandør",
            "contact_email": "per@fjordtech.example",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def fits(page: Page, locator: Locator) -> None:
    """Check that a block of ours is no wider than the screen."""
    box = locator.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, box


def shot(page: Page, name: str) -> None:
    if SHOTS:
        folder = Path(SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"] if page.viewport_size else 0
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_office_merges_undoes_links_and_reads_history(page: Page, server: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    kept = submit(server, f"Videoløsning for sykehjem {width}")
    dropped = submit(server, f"Video på sykehjemmet {width}")
    log_in(page, "kontor@demo.korona.no")

    # Merge from the queue with both ticked: the page says which was kept and which merged.
    page.goto("/triage?per_page=500")
    page.get_by_label(f"Velg {kept}").check()
    page.get_by_label(f"Velg {dropped}").check()
    page.locator("#bulk-action-duplicate").check()
    page.locator("#bulk-duplicate_of").fill(kept)
    page.get_by_role("button", name="Utfør for valgte").click()
    notice = page.get_by_role("status").filter(has_text="Beholdt:")
    expect(notice).to_contain_text(kept)
    expect(notice).to_contain_text(f"Slått sammen med det: {dropped}")
    expect(page.get_by_text("duplikat av seg selv")).to_have_count(0)
    assert_accessible(page)

    # The merged input's history speaks, and the office undoes the merge.
    notice.get_by_role("link", name=re.compile(dropped)).click()
    history = page.locator(".k-history")
    expect(history).to_contain_text("Innsender (uten innlogging) sendte inn innspillet.")
    expect(history).to_contain_text(f"Kari Kontor slo sammen innspillet med {kept}")
    readable = history.locator("p, .k-changes li")  # the sentences, not the folded raw diff
    expect(readable.filter(has_text="duplicate_of_id")).to_have_count(0)
    expect(readable.filter(has_text="None")).to_have_count(0)
    history.locator("summary").first.click()  # the stored change, one click away
    expect(history.locator("pre").first).to_be_visible()
    fits(page, history)
    shot(page, "input-history")
    assert_accessible(page)
    page.get_by_role("button", name="Angre sammenslåingen").click()
    expect(page.get_by_role("status")).to_contain_text("Sammenslåingen ble angret.")
    expect(history).to_contain_text(f"Kari Kontor angret sammenslåingen med {kept}")
    assert_accessible(page)

    # Link it to a need: both pages name the other by title.
    page.get_by_role("radio", name="Knytt til behov").check()
    page.locator("#need_ids").select_option(label=NEED)
    page.get_by_role("button", name="Utfør", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Endringene ble lagret.")
    expect(history).to_contain_text(f"Kari Kontor knyttet innspillet til {NEED}.")
    page.locator(".k-facts").get_by_role("link", name=NEED).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(NEED)
    linked = page.locator("section", has=page.get_by_role("heading", name="Innspill knyttet"))
    expect(linked.get_by_role("link", name=f"Video på sykehjemmet {width}")).to_be_visible()
    fits(page, linked)
    shot(page, "need-linked-inputs")
    assert_accessible(page)


@pytest.mark.parametrize("width", [1280, 390])
def test_needs_picker_searches_and_not_found_page_keeps_the_header(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "kontor@demo.korona.no")
    page.goto("/inputs/new")
    options = page.locator("#need-options")
    expect(options.get_by_label(OTHER_NEED)).to_be_visible()
    boxes = options.locator("input[type=checkbox]")
    total = boxes.count()
    assert total > 30
    page.get_by_label("Søk blant behovene").fill("hjemmeisolasjon")
    expect(options.get_by_label(NEED)).to_be_visible()
    expect(options.get_by_label(OTHER_NEED)).to_have_count(0)
    assert boxes.count() < total
    options.get_by_label(NEED).check()
    page.get_by_label("Søk blant behovene").fill("intensivplasser")
    expect(options.get_by_label(OTHER_NEED)).to_be_visible()
    expect(options.get_by_label(NEED)).to_be_checked()  # a ticked need stays in the list
    fits(page, page.locator("#need_ids"))
    shot(page, "needs-picker")
    assert_accessible(page)

    page.goto("/finnes-ikke")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finnes ikke")
    expect(page.get_by_text("Vi fant ikke denne siden")).to_be_visible()
    expect(page.get_by_role("button", name="Logg ut")).to_be_attached()
    expect(page.get_by_role("link", name="Logg inn")).to_have_count(0)
    shot(page, "not-found")
    assert_accessible(page)
