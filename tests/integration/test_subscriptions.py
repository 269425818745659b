"""Subscription pages: one's own, the office for anyone, refused roles, bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import login, make_organisation, make_user

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
    return {(f.location_code, f.kind, f.automatic) for f in service.followed(db, user)}


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
