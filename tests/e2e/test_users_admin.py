"""User administration in the browser: invite, set a password by link, log in, deactivate."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import assert_accessible, log_in

NEW_PASSWORD = "grønne fjell og blå hav"


def invitation_link(office: Page, email: str) -> str:
    """Open the outbox and return the path of the set-password link e-mailed to the address."""
    office.goto("/outbox")
    row = office.get_by_role("row").filter(has_text=email).first
    body = row.locator(".k-description").text_content() or ""
    match = re.search(r"https?://[^/\s]+(/password/[\w-]+)", body)
    assert match, f"no set-password link in the e-mail: {body}"
    return match.group(1)


def test_office_invites_a_user_who_sets_a_password_and_is_deactivated(
    page: Page, browser: Browser, server: str
) -> None:
    log_in(page, "kontor@demo.korona.no")
    page.goto("/admin/users")
    page.get_by_role("link", name="Legg til bruker").click()
    assert_accessible(page)
    page.get_by_role("button", name="Opprett bruker og send invitasjon").click()
    expect(page.get_by_role("alert")).to_contain_text("Feltet må fylles ut")
    page.get_by_label("E-postadresse").fill("ny.vurderer@example.no")
    page.get_by_label("Navn").fill("Nora Vurderer")
    page.get_by_label("Arbeidsgruppe (vurderer)").check()
    page.get_by_label("Virksomhet").select_option(label="Helsedirektoratet")
    page.get_by_role("button", name="Opprett bruker og send invitasjon").click()
    expect(page.get_by_role("status")).to_contain_text("En invitasjon med lenke")
    assert_accessible(page)
    user_page = page.url.split("?")[0]

    link = invitation_link(page, "ny.vurderer@example.no")
    invitee_context = browser.new_context(base_url=server, bypass_csp=True, locale="nb-NO")
    invitee = invitee_context.new_page()
    invitee.set_viewport_size({"width": 390, "height": 800})
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Velg passord")
    assert invitee.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(invitee)
    invitee.get_by_label("Nytt passord").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Lagre passord").click()
    expect(invitee.get_by_role("status")).to_contain_text("Logg inn med det nye passordet")
    invitee.get_by_label("E-postadresse").fill("ny.vurderer@example.no")
    invitee.get_by_label("Passord").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Logg inn").click()
    expect(invitee.get_by_role("button", name="Logg ut")).to_be_visible()
    invitee.goto("/inputs")
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Innspill")

    # A used link does not work again.
    invitee.goto(link)
    expect(invitee.get_by_role("alert")).to_contain_text("Lenken er brukt, utløpt eller ukjent")

    # Deactivating ends the invitee's session at once.
    page.goto(user_page)
    page.get_by_role("button", name="Deaktiver bruker").click()
    expect(page.get_by_role("status")).to_contain_text("Brukeren er deaktivert")
    assert_accessible(page)
    invitee.goto("/inputs")
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Logg inn")
    invitee_context.close()


def test_a_non_office_role_cannot_manage_users(page: Page) -> None:
    log_in(page, "observator@demo.korona.no")
    page.goto("/admin/users")
    expect(page.get_by_role("heading", level=1)).to_have_text("Brukere")
    expect(page.get_by_role("link", name="Legg til bruker")).to_have_count(0)
    response = page.goto("/admin/users/new")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Ingen tilgang")
