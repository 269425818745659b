"""Every page, staff and public, fits a 390 px phone and a 1280 px screen and passes axe-core.

This is the one walk through every page with axe-core; the other browser tests run axe on the
states they create (a filled form, a filtered list, an error), not on pages listed here.

To cover a new page, add its path to PAGES under the user who opens it: the last test fails
when a page route is in no list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, collect_browser_errors, log_in

from korona.app import ROUTERS

PUBLIC = None
#: Stands for the private status link of an input submitted by the test itself.
STATUS_LINK = "{status}"

#: Who opens which pages (PUBLIC: nobody logged in), with the demo data's ids.
PAGES: dict[str | None, list[str]] = {
    PUBLIC: [
        "/",
        "/login",
        "/solutions",
        "/solutions/1",
        "/inputs/new",
        STATUS_LINK,
        "/password/no-such-link",
        "/netlist",
        "/netlist/versions/1",
        "/surveillance",
        "/surveillance/map/county46",
        "/surveillance/county46",
        "/surveillance/municip1151",
        # A bad signature answers 400 with a page that says the link is not valid.
        "/subscriptions/unsubscribe/8/alerts/00",
    ],
    "kontor@demo.korona.no": [
        "/needs",
        "/needs/overview",
        "/needs/new",
        "/needs/1",
        "/needs/1/edit",
        "/solutions",
        "/solutions/1",
        "/solutions/new",
        "/solutions/1/edit",
        "/inputs",
        "/inputs/1",
        "/triage",
        "/triage/templates",
        "/portfolio/dashboard",
        "/portfolio/dashboard?by=category",
        "/portfolio/import",
        "/outbox",
        "/audit",
        "/admin/categories",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/1",
        "/account",
        "/assessment/groups",
        "/assessment/settings",
        "/prioritisation",
        "/prioritisation/drafts",
        "/prioritisation/drafts/2",
        "/measures",
        "/measures/new",
        "/measures/1",
        "/measures/1/edit",
        "/programmes",
        "/letters/measures",
        "/progress",
        "/coverage",
        "/meetings",
        "/meetings/1",
        "/decisions/versions/1",
        "/decisions/versions/2",
        "/netlist/versions/1",
        "/situation",
        "/situation/county/46",
        "/situation/reports/new",
        "/situation/reports/2",
        "/situation/reports/2/edit",
        "/situation/reports/61/need",
        "/situation/needs/44/indicators",
        "/situation/import",
        "/subscriptions",
        "/subscriptions/users/8",
    ],
    "vurderer@demo.korona.no": ["/assessment", "/assessment/inputs/1"],
    "beslutter@demo.korona.no": ["/assessment/weights", "/meetings/2", "/decisions/versions/2"],
    "kommune@demo.korona.no": ["/situation/reports/new", "/situation/reports/2/edit"],
    "innsender@demo.korona.no": ["/inputs/mine"],
    "kommunelege@demo.korona.no": [
        "/needs",
        "/account",
        "/surveillance/municip4601",
        "/subscriptions",
    ],
}

#: Pages that answer with another status than 200 on purpose.
EXPECTED_STATUS = {"/password/no-such-link": 404, "/subscriptions/unsubscribe/8/alerts/00": 400}
#: GET routes that are not pages: downloads (.svg pictures, .{fmt} exports, .csv tables, the
#: meeting report .pdf, attachments), htmx fragments swapped into a page (the live match
#: preview, the needs picker's options) and the health probe.
NOT_PAGES = re.compile(
    r"^/api/|\.svg$|\.\{fmt\}$|\.csv$|\.pdf$|/attachments/|^/healthz$"
    r"|/match-preview$|/need-options$"
)

WIDTHS = (390, 1280)
#: At most this many pages a walk: the office's long list is walked in equal parts, so that
#: xdist can share them out.
WALK = 30


def _walks() -> list[tuple[str | None, list[str]]]:
    walks = []
    for who, paths in PAGES.items():
        size = math.ceil(len(paths) / math.ceil(len(paths) / WALK))
        walks += [(who, paths[start : start + size]) for start in range(0, len(paths), size)]
    return walks


WALKS = _walks()


@pytest.fixture(scope="module")
def status_path(browser: Browser, server: str) -> Iterator[str]:
    """Submit an input as the public and return its private status page's path."""
    context = browser.new_context(base_url=server, locale="nb-NO")
    page = context.new_page()
    page.goto("/inputs/new")
    page.get_by_label("Forslag").check()
    page.get_by_label("Tittel").fill("Skjerm for videokonsultasjon på legevakt")
    page.get_by_label("Beskrivelse").fill(
        "Legevakten trenger en enkel skjermløsning for video med pasienter hjemme."
    )
    page.get_by_label("Innsendende virksomhet").fill("Skjermfabrikken AS")
    page.get_by_label("Privat virksomhet").check()
    page.get_by_label("Kontaktperson").fill("Per Skjerm")
    page.get_by_label("E-post", exact=True).fill("per@skjermfabrikken.example")
    page.get_by_role("button", name="Send inn innspillet").click()
    expect(page.get_by_role("status")).to_contain_text("referansenummer INN-")
    path = "/" + page.url.split("/", 3)[3].split("?")[0]
    context.close()
    yield path


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    ("who", "paths"), WALKS, ids=[f"{who or 'public'}-{paths[0]}" for who, paths in WALKS]
)
def test_every_page_fits_the_screen_and_is_accessible(
    browser: Browser, server: str, status_path: str, who: str | None, paths: list[str], width: int
) -> None:
    context = browser.new_context(
        base_url=server, bypass_csp=True, locale="nb-NO", viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    errors = collect_browser_errors(page)
    try:
        if who is not PUBLIC:
            log_in(page, who)
        too_wide = {}
        for path in paths:
            target = status_path if path == STATUS_LINK else path
            response = page.goto(target)
            assert response is not None
            assert response.status == EXPECTED_STATUS.get(path, 200), target
            page.wait_for_load_state("load")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                too_wide[target] = scroll_width
            assert_accessible(page)
        assert too_wide == {}, f"pages wider than {width} px: {too_wide}"
        assert errors == [], f"browser errors: {errors}"
    finally:
        context.close()


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$")


def test_every_page_route_is_in_the_list() -> None:
    listed = [path.split("?")[0] for paths in PAGES.values() for path in paths]
    listed.append("/inputs/status/token")  # STATUS_LINK
    routes = {
        route.path
        for router in ROUTERS
        for route in router.routes
        if "GET" in route.methods and not NOT_PAGES.search(route.path)  # type: ignore[attr-defined]
    }
    missing = sorted(
        path for path in routes if not any(_route_pattern(path).match(item) for item in listed)
    )
    assert missing == [], f"add these pages to PAGES in {__file__}: {missing}"


def test_a_page_wider_than_the_screen_is_caught(page: Page) -> None:
    """The width check itself can fail: a 600 px wide element widens a 390 px page."""
    page.set_viewport_size({"width": 390, "height": 600})
    page.goto("/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<div style=\"width:600px;height:1px\"></div>')"
    )
    assert page.evaluate("document.documentElement.scrollWidth") > 390
