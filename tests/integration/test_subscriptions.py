"""Subscription pages: one's own, the office for anyone, refused roles, bad input."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import TEST_SECRET, login, make_organisation, make_user

from korona.audit import AuditEntry
from korona.auth.models import Role, User
from korona.surveillance_mail import service
from korona.surveillance_mail.models import Subscription, SubscriptionKind

WEEKLY, ALERTS = SubscriptionKind.WEEKLY_REPORT, SubscriptionKind.ALERTS


def doctor(db: Session, email: str = "lege@example.no") -> User:
    user = make_user(db, Role.MUNICIPAL_DOCTOR, organisation=make_organisation(db), email=email)
    user.municipality_number = "4601"
    db.flush()
    return user


def followed(db: Session, user_id: int) -> set[tuple[str, SubscriptionKind, bool]]:
    db.expire_all()
    user = db.get(User, user_id)
    assert user is not None
    return {(f.location_code, f.kind, f.automatic) for f in service.followed(user, session=db)}


def test_a_doctor_follows_their_municipality_and_adds_a_county(
    client: TestClient, db: Session
) -> None:
    user = doctor(db)
    db.commit()
    token = login(client, user.email)
    page = client.get("/subscriptions")
    assert page.status_code == 200
    assert "Bergen" in page.text and "Automatisk: din kommune" in page.text
    answer = client.post(
        "/subscriptions",
        data={"csrf_token": token, "location_code": "county46", "kinds": ["weekly_report"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    stop = client.post(
        "/subscriptions/stop",
        data={"csrf_token": token, "location_code": "municip4601", "kind": "weekly_report"},
        follow_redirects=False,
    )
    assert stop.status_code == 303
    assert followed(db, user.id) == {("county46", WEEKLY, False), ("municip4601", ALERTS, True)}
    # Stopped stays stopped: the automatic subscription is not brought back.
    assert "Vestland" in client.get("/subscriptions").text
    assert followed(db, user.id) == {("county46", WEEKLY, False), ("municip4601", ALERTS, True)}
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "subscription"))
    assert sorted(actions) == ["create", "create"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"location_code": "municip9999", "kinds": ["alerts"]}, "Ukjent sted municip9999."),
        ({"location_code": "county46"}, "Velg ukentlig oversikt, varsler eller begge."),
        ({"location_code": "county46", "kinds": ["daily"]}, "Velg ukentlig oversikt"),
    ],
)
def test_bad_input_is_refused_in_norwegian_and_nothing_is_stored(
    client: TestClient, db: Session, form: dict[str, object], message: str
) -> None:
    user = doctor(db)
    db.commit()
    token = login(client, user.email)
    answer = client.post("/subscriptions", data={"csrf_token": token, **form})
    assert answer.status_code == 422
    assert message in answer.text
    assert db.scalars(select(Subscription)).all() == []


def test_a_malformed_location_code_is_a_422(client: TestClient, db: Session) -> None:
    user = doctor(db)
    db.commit()
    token = login(client, user.email)
    answer = client.post(
        "/subscriptions", data={"csrf_token": token, "location_code": "<script>", "kinds": "alerts"}
    )
    assert answer.status_code == 422


def test_the_office_manages_anyones_subscriptions_and_a_doctor_only_their_own(
    client: TestClient, db: Session
) -> None:
    user = doctor(db)
    other = doctor(db, "annen.lege@example.no")
    office = make_user(db, Role.PORTFOLIO_OFFICE, email="kontor@example.no")
    db.commit()
    token = login(client, user.email)
    assert client.get(f"/subscriptions/users/{other.id}").status_code == 403
    refused = client.post(
        f"/subscriptions/users/{other.id}",
        data={"csrf_token": token, "location_code": "norge", "kinds": "alerts"},
    )
    assert refused.status_code == 403
    client.cookies.clear()
    token = login(client, office.email)
    page = client.get(f"/subscriptions/users/{user.id}")
    assert page.status_code == 200 and user.email in page.text
    answer = client.post(
        f"/subscriptions/users/{user.id}",
        data={"csrf_token": token, "location_code": "norge", "kinds": "alerts"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert ("norge", ALERTS, False) in followed(db, user.id)
    assert client.get("/subscriptions/users/999999").status_code == 404


@pytest.mark.parametrize("role", [Role.SUBMITTER, Role.NEEDS_REPORTER, Role.ASSESSOR])
def test_roles_without_surveillance_mail_are_refused(
    client: TestClient, db: Session, role: Role
) -> None:
    user = make_user(db, role)
    db.commit()
    token = login(client, user.email)
    assert client.get("/subscriptions").status_code == 403
    answer = client.post(
        "/subscriptions", data={"csrf_token": token, "location_code": "norge", "kinds": "alerts"}
    )
    assert answer.status_code == 403
    assert db.scalars(select(Subscription)).all() == []


def test_anonymous_visitors_are_sent_to_the_login(client: TestClient) -> None:
    answer = client.get("/subscriptions", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def unsubscribe_path(user_id: int, kind: SubscriptionKind = WEEKLY) -> str:
    return service.unsubscribe_path(TEST_SECRET, user_id, kind)


def test_opening_the_unsubscribe_link_asks_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    """Mail scanners and link previews open every link: a GET must not unsubscribe."""
    user = doctor(db)
    db.commit()
    before = followed(db, user.id)
    for _ in range(2):
        page = client.get(unsubscribe_path(user.id))
        assert page.status_code == 200
        assert "Vil du stoppe denne e-posten: Ukentlig oversikt?" in page.text
        assert "Bergen" in page.text and "Ingenting er endret ennå" in page.text
        assert 'method="post" class="k-form"' in page.text  # one button, posting here
    assert followed(db, user.id) == before
    client.cookies.set("korona_lang", "en")
    english = client.get(unsubscribe_path(user.id, ALERTS))
    assert "Do you want to stop this e-mail: Alerts for high signals?" in english.text
    # Without a language chosen on the site, the page speaks the user's (that of the e-mail).
    client.cookies.clear()
    db.get(User, user.id).language = "en"  # type: ignore[union-attr]
    db.commit()
    assert "Do you want to stop" in client.get(unsubscribe_path(user.id)).text
    client.cookies.set("korona_lang", "nb")
    assert "Vil du stoppe" in client.get(unsubscribe_path(user.id)).text
    assert followed(db, user.id) == before


def test_the_button_on_the_page_stops_the_mail(client: TestClient, db: Session) -> None:
    user = doctor(db)
    db.commit()
    page = client.get(unsubscribe_path(user.id))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(unsubscribe_path(user.id), data={"csrf_token": token.group(1)})
    assert answer.status_code == 200 and "Ferdig" in answer.text
    assert followed(db, user.id) == {("municip4601", ALERTS, True)}  # alerts kept


def test_one_click_post_works_without_cookies(client: TestClient, db: Session) -> None:
    """RFC 8058: the mail provider POSTs List-Unsubscribe=One-Click, with no cookie or token."""
    user = doctor(db)
    db.commit()
    client.cookies.clear()
    answer = client.post(
        unsubscribe_path(user.id, ALERTS),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert followed(db, user.id) == {("municip4601", WEEKLY, True)}
    again = client.post(unsubscribe_path(user.id, ALERTS), data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200  # stopping what is stopped is fine


def test_a_tampered_link_is_refused_in_norwegian_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    user = doctor(db)
    other = doctor(db, "annen@example.no")
    db.commit()
    before, before_other = followed(db, user.id), followed(db, other.id)
    good = unsubscribe_path(user.id)
    tampered = [
        good[:-1] + ("0" if good[-1] != "0" else "1"),  # one hex digit changed
        good.replace(f"/{user.id}/", f"/{other.id}/"),  # someone else's number
        good.replace("/weekly_report/", "/alerts/"),  # another kind
        good[:-4],  # cut short
    ]
    for path in tampered:
        page = client.get(path)
        assert page.status_code == 400, path
        assert "Denne lenken for å avslutte er ikke gyldig" in page.text
        assert "Ingenting er endret" in page.text
        # Without a valid signature there is no CSRF exemption: a cross-site or cookieless
        # POST is refused, and one with the page's token meets the same 400.
        client.cookies.clear()
        assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 403
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        answer = client.post(path, data={"csrf_token": token.group(1)})
        assert answer.status_code == 400, path
    assert followed(db, user.id) == before
    assert followed(db, other.id) == before_other
