"""User administration in the browser: invite, set a password by link, edit, deactivate, reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import csrf_from, login, make_organisation, make_user

from korona.audit import AuditEntry
from korona.auth import admin
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import ApiToken, LoginSession, PasswordLink, Role, User
from korona.auth.permissions import principal_for
from korona.errors import Conflict, InvalidInput, NotFound
from korona.notify.models import OutboxMessage

NEW_PASSWORD = "blå hest spiser grønn ost"


def outbox_link(db: Session, address: str) -> str:
    """Return the path of the newest set-password link e-mailed to the address."""
    db.expire_all()
    message = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == address)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no e-mail to {address}"
    match = re.search(r"https?://[^/\s]+(/password/[\w-]+)", message.body)
    assert match, message.body
    return match.group(1)


def invite(client: TestClient, csrf: str, **fields: object) -> object:
    data = {
        "csrf_token": csrf,
        "email": "ny.bruker@example.no",
        "name": "Ny Bruker",
        "roles": ["assessor"],
        **fields,
    }
    return client.post("/admin/users", data=data, follow_redirects=False)


def test_office_invites_user_who_sets_password_and_logs_in(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    organisation = make_organisation(db, name="Sykehuset Innlandet", municipality_number=None)
    db.commit()
    csrf = login(client, office.email)
    response = invite(
        client, csrf, organisation_id=str(organisation.id), roles=["assessor", "observer"]
    )
    assert response.status_code == 303, response.text
    user = auth_service.get_user_by_email("ny.bruker@example.no", session=db)
    assert user is not None and user.password_hash is None
    assert user.roles == {Role.ASSESSOR, Role.OBSERVER}
    assert user.organisation_id == organisation.id
    listing = client.get("/admin/users")
    assert "Ny Bruker" in listing.text and "Invitert" in listing.text

    link = outbox_link(db, user.email)
    client.cookies.clear()
    form = client.get(link)
    assert form.status_code == 200 and "ny.bruker@example.no" in form.text
    weak = client.post(link, data={"csrf_token": csrf_from(client, link), "password": "passord"})
    assert weak.status_code == 422 and "minst 12 tegn" in weak.text
    done = client.post(
        link,
        data={"csrf_token": csrf_from(client, link), "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    login(client, user.email, NEW_PASSWORD)
    assert client.get("/account").status_code == 200
    # Single use: the link is spent.
    client.cookies.clear()
    assert client.get(link).status_code == 404
    actions = {
        (entry.action, entry.entity_type)
        for entry in db.scalars(select(AuditEntry).where(AuditEntry.entity_type != "login"))
    }
    assert {("create", "user"), ("create", "password_link"), ("password", "user")} <= actions


def test_invite_form_shows_every_error_at_once_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    db.commit()
    csrf = login(client, office.email)
    response = invite(client, csrf, name="", roles=[], municipality_number="12a")
    assert response.status_code == 422
    for message in ("Feltet må fylles ut", "Velg minst 1", "Har feil format"):
        assert message in response.text
    assert auth_service.get_user_by_email("ny.bruker@example.no", session=db) is None
    assert db.scalars(select(OutboxMessage)).all() == []
    assert invite(client, csrf, email=office.email).status_code == 409


def test_deactivate_ends_sessions_and_tokens_and_reactivate_restores_login(
    client: TestClient, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    user = make_user(db, Role.NEEDS_REPORTER)
    token = auth_tokens.create_api_token(principal_for(user), user.id, session=db)
    db.commit()
    user_client = TestClient(client.app, base_url="https://testserver")
    login(user_client, user.email)
    assert user_client.get("/account").status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    csrf = login(client, office.email)
    response = client.post(
        f"/admin/users/{user.id}/deactivate", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    db.expire_all()
    assert not db.get(User, user.id).is_active  # type: ignore[union-attr]
    sessions = db.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    assert sessions and all(row.revoked_at is not None for row in sessions)
    tokens = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert all(row.revoked_at is not None for row in tokens)
    assert user_client.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "Deaktivert" in client.get("/admin/users").text

    response = client.post(f"/admin/users/{user.id}/reactivate", data={"csrf_token": csrf})
    assert response.status_code == 200
    login(user_client, user.email)
    # The old API token stays revoked.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_reset_sends_new_link_and_spends_the_old_one(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    user = make_user(db, Role.OBSERVER)
    db.commit()
    csrf = login(client, office.email)
    for _ in range(2):
        response = client.post(
            f"/admin/users/{user.id}/reset-password",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303
    links = db.scalars(select(PasswordLink).where(PasswordLink.user_id == user.id)).all()
    assert len(links) == 2 and sum(link.used_at is None for link in links) == 1
    newest = outbox_link(db, user.email)
    client.cookies.clear()
    assert client.get(newest).status_code == 200


def test_office_edits_roles_and_cannot_lock_itself_out(client: TestClient, db: Session) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    user = make_user(db, Role.OBSERVER)
    db.commit()
    csrf = login(client, office.email)
    response = client.post(
        f"/admin/users/{user.id}",
        data={"csrf_token": csrf, "name": "Omdøpt", "roles": ["assessor", "needs_reporter"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db.expire_all()
    changed = db.get(User, user.id)
    assert changed is not None and changed.roles == {Role.ASSESSOR, Role.NEEDS_REPORTER}
    assert changed.name == "Omdøpt"
    own = client.post(
        f"/admin/users/{office.id}",
        data={"csrf_token": csrf, "name": "Meg", "roles": ["observer"]},
    )
    assert own.status_code == 409
    yourself = client.post(f"/admin/users/{office.id}/deactivate", data={"csrf_token": csrf})
    assert yourself.status_code == 409 and "deg selv" in yourself.text


def test_observer_sees_the_list_but_cannot_manage(client: TestClient, db: Session) -> None:
    observer = make_user(db, Role.OBSERVER)
    target = make_user(db, Role.ASSESSOR)
    db.commit()
    csrf = login(client, observer.email)
    listing = client.get("/admin/users")
    assert listing.status_code == 200 and "/admin/users/new" not in listing.text
    assert client.get("/admin/users/new").status_code == 403
    response = client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": csrf})
    assert response.status_code == 403


def test_links_expire_and_die_with_deactivation(db: Session) -> None:
    office = principal_for(make_user(db, Role.PORTFOLIO_OFFICE))
    user = admin.invite_user(
        office,
        admin.UserChange(name="Kari", roles=frozenset({Role.OBSERVER})),
        session=db,
        email="kari@example.no",
        base_url="https://korona.example",
    )
    link = db.scalars(select(PasswordLink).where(PasswordLink.user_id == user.id)).one()
    token = outbox_link(db, user.email).rsplit("/", 1)[1]
    assert admin.open_password_link(token, session=db).id == link.id
    link.expires_at = link.created_at - timedelta(seconds=1)
    with pytest.raises(NotFound):
        admin.open_password_link(token, session=db)
    admin.send_password_link(
        office, user, admin.LinkPurpose.RESET, session=db, base_url="https://k"
    )
    fresh = outbox_link(db, user.email).rsplit("/", 1)[1]
    admin.deactivate_user(office, user.id, session=db)
    with pytest.raises(NotFound):
        admin.use_password_link(fresh, NEW_PASSWORD, session=db)
    with pytest.raises(Conflict):
        admin.send_password_reset(office, user.id, session=db, base_url="https://k")


def test_municipal_doctor_needs_a_municipality(db: Session) -> None:
    office = principal_for(make_user(db, Role.PORTFOLIO_OFFICE))
    change = admin.UserChange(name="Lege", roles=frozenset({Role.MUNICIPAL_DOCTOR}))
    with pytest.raises(InvalidInput):
        admin.invite_user(office, change, session=db, email="lege@example.no", base_url="https://k")
