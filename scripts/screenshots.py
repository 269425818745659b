"""Take the README screenshots from a running server: `screenshots.py URL PASSWORD`."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"


def main(base: str, password: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 900})
        page.goto("/login")
        page.get_by_label("E-postadresse").fill("kontor@demo.korona.no")
        page.get_by_label("Passord").fill(password)
        page.get_by_role("button", name="Logg inn").click()
        page.goto("/needs/overview")
        page.screenshot(path=OUT / "needs-overview.png", full_page=True)
        page.goto("/needs")
        page.screenshot(path=OUT / "needs-list.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
