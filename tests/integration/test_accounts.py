"""Login, sessions, password change, API tokens, security headers, language and the audit log."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.conftest import PASSWORD, csrf_from, login, make_user

from korona.audit import AuditEntry
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.auth.models import LoginFailure, LoginSession, Role
from korona.auth.permissions import Principal
from korona.config import Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.web.deps import CSRF_COOKIE, SESSION_COOKIE


def test_login_sets_hardened_cookie_and_logout_revokes_session(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, Role.OBSERVER)
    db.commit()
    csrf = csrf_from(client)
    response = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": PASSWORD,
            "csrf_token": csrf,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # open redirects refused
    cookie = next(
        value
        for value in response.headers.get_list("set-cookie")
        if value.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    stolen = client.cookies.get(SESSION_COOKIE)
    assert client.get("/account").status_code == 200
    # The pre-login token is bound to no session: after login it is refused.
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client, "/account")})
    # The server forgot the session: replaying the old cookie does not log in.
    client.cookies.set(SESSION_COOKIE, stolen or "")
    assert client.get("/account", follow_redirects=False).status_code == 303
    db.expire_all()
    assert db.query(LoginSession).one().revoked_at is not None


def test_wrong_password_is_refused_with_a_message(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.OBSERVER)
    db.commit()
    csrf = csrf_from(client)
    response = client.post(
        "/login", data={"email": user.email, "password": "wrong-password", "csrf_token": csrf}
    )
    assert response.status_code == 400
    assert "Feil e-postadresse eller passord." in response.text
    assert SESSION_COOKIE not in client.cookies


def test_password_change_revokes_every_session(
    client: TestClient, app: object, db: Session
) -> None:
    user = make_user(db, Role.SUBMITTER)
    db.commit()
    other_device = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    login(other_device, user.email)
    csrf = login(client, user.email)
    short = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "csrf_token": csrf},
    )
    assert short.status_code == 422
    assert "Passordet må ha minst 12 tegn" in short.text
    guessable = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "password1234", "csrf_token": csrf},
    )
    assert guessable.status_code == 422
    assert "Passordet er for lett å gjette" in guessable.text
    changed = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-much-better-password",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert other_device.get("/account", follow_redirects=False).status_code == 303
    db.expire_all()
    assert auth_service.authenticate(user.email, "a-much-better-password", session=db) is not None


def test_api_token_lifecycle(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.ASSESSOR)
    db.commit()
    csrf = login(client, user.email)
    page = client.post("/account/tokens", data={"name": "skript", "csrf_token": csrf})
    assert page.status_code == 201
    token = page.text.split('<code class="k-token">')[1].split("</code>")[0]
    client.cookies.clear()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["roles"] == ["assessor"]
    stored = auth_tokens.list_api_tokens(user.id, session=db)[0]
    assert stored.token_hash != token and stored.last_used_at is not None
    auth_tokens.revoke_api_token(
        Principal(user_id=user.id, email=user.email), stored.id, session=db
    )
    db.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/", "/login", "/static/korona.css", "/api/v1/needs", "/nowhere"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_not_found_is_a_page_or_a_problem(client: TestClient) -> None:
    page = client.get("/nowhere")
    assert page.status_code == 404 and "Finnes ikke" in page.text
    problem = client.get("/api/v1/nowhere")
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"


def test_language_switch_to_english_and_back(client: TestClient) -> None:
    csrf = csrf_from(client, "/")
    assert "Logg inn" in client.get("/").text
    client.post("/language", data={"language": "en", "next": "/", "csrf_token": csrf})
    english = client.get("/")
    assert 'lang="en"' in english.text and "Log in" in english.text
    client.post("/language", data={"language": "nb", "next": "/", "csrf_token": csrf})
    assert "Logg inn" in client.get("/").text


def test_audit_log_is_append_only(db: Session) -> None:
    make_user(db, Role.OBSERVER)
    db.commit()
    assert db.query(AuditEntry).count() >= 1
    for statement in ("UPDATE audit_log SET actor = 'tampered'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement))
        db.rollback()


def test_audit_page_filters_and_csv_export(client: TestClient, db: Session) -> None:
    observer = make_user(db, Role.OBSERVER, email="observer@example.no")
    make_user(db, Role.SUBMITTER, email="someone@example.no")
    db.commit()
    login(client, observer.email)
    page = client.get("/audit?entity_type=user&action=create")
    assert page.status_code == 200 and "someone@example.no" in page.text
    exported = client.get("/audit/export.csv?action=login&format=machine")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "id,at,actor,action,entity_type,entity_id,before,after"
    assert len(lines) == 2 and "observer@example.no" in lines[1] and ",login," in lines[1]
    people = client.get("/audit/export.csv?action=login").content.decode("utf-8-sig")
    assert people.splitlines()[0] == "Id;Tidspunkt;Hvem;Handling;Objekt;Objekt-ID;Før;Etter"
    assert ";Logget inn;" in people.splitlines()[1]
    api = client.get("/api/v1/audit?action=nonsense")
    assert api.status_code == 422


def _try_login(client: TestClient, email: str, password: str) -> Response:
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(client)},
        follow_redirects=False,
    )


def _age_failures(db: Session, minutes: int) -> None:
    """Move every recorded failure back in time, as if the minutes had passed."""
    db.expire_all()
    for failure in db.scalars(select(LoginFailure)):
        failure.failed_at -= timedelta(minutes=minutes)
    db.commit()


def test_login_is_throttled_per_account_even_for_the_right_password(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, Role.OBSERVER)
    db.commit()
    for _ in range(5):
        assert _try_login(client, user.email, "wrong-password").status_code == 400
    refused = _try_login(client, user.email.upper(), PASSWORD)
    assert refused.status_code == 429
    assert "For mange mislykkede innlogginger. Prøv igjen om 15 minutter." in refused.text
    assert int(refused.headers["retry-after"]) == 15 * 60
    assert SESSION_COOKIE not in client.cookies
    # The window slides: once the oldest failure is 15 minutes old, one more try is allowed.
    _age_failures(db, 14)
    assert "Prøv igjen om 1 minutt." in _try_login(client, user.email, PASSWORD).text
    _age_failures(db, 1)
    assert _try_login(client, user.email, PASSWORD).status_code == 303


def test_a_success_clears_the_accounts_failures(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.OBSERVER)
    db.commit()
    for _ in range(3):
        for _ in range(4):
            assert _try_login(client, user.email, "wrong-password").status_code == 400
        assert _try_login(client, "someone.else@example.no", "wrong-password").status_code == 400
        assert _try_login(client, user.email, PASSWORD).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
    db.expire_all()
    # Only the other account's failures are left; they still count for the address.
    assert db.scalars(select(LoginFailure.email)).all() == ["someone.else@example.no"] * 3


def test_login_is_throttled_per_address_across_accounts(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.OBSERVER)
    db.commit()
    for number in range(20):
        assert _try_login(client, f"guess{number}@example.no", "wrong-password").status_code == 400
    refused = _try_login(client, user.email, PASSWORD)
    assert refused.status_code == 429 and "Prøv igjen om" in refused.text


def test_parallel_attempts_from_two_processes_share_one_allowance(settings: Settings) -> None:
    """Simultaneous guesses through two engines (as two server processes) get at most five."""
    engines = [make_engine(settings.sqlalchemy_url) for _ in range(2)]
    factories = [make_sessionmaker(engine) for engine in engines]
    with unit_of_work(factories[0]) as session:
        user = make_user(session, Role.OBSERVER)
        email = user.email
    start = threading.Barrier(12)

    def guess(number: int) -> bool:
        start.wait()
        with unit_of_work(factories[number % 2]) as session:
            outcome = auth_service.log_in(
                email, "wrong-password", session=session, address=f"10.0.0.{number}"
            )
            return outcome.throttled is None

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            admitted = sum(pool.map(guess, range(12)))
        with unit_of_work(factories[0]) as session:
            kept = session.scalars(select(LoginFailure.email)).all()
    finally:
        for engine in engines:
            engine.dispose()
    # Never more than the allowance; under contention a few more may be refused (safe side).
    assert 1 <= admitted <= 5
    assert kept == [email] * admitted  # refused attempts leave no failure behind


def test_planted_csrf_cookie_and_token_fail_with_the_victims_session(
    app: object, client: TestClient, db: Session
) -> None:
    """An attacker's anonymous cookie-and-token pair, planted in a victim's browser, is refused."""
    victim = make_user(db, Role.SUBMITTER)
    attacker_user = make_user(db, Role.SUBMITTER)
    db.commit()
    attacker = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    planted_token = csrf_from(attacker)
    planted_cookie = attacker.cookies.get(CSRF_COOKIE) or ""
    session_token = login(attacker, attacker_user.email)  # a pair from the attacker's session
    session_cookie = attacker.cookies.get(CSRF_COOKIE) or ""
    login(client, victim.email)
    victim_session = client.cookies.get(SESSION_COOKIE) or ""

    def post_as_victim(csrf_cookie: str, token: str) -> int:
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, victim_session)
        client.cookies.set(CSRF_COOKIE, csrf_cookie)
        return client.post("/account/tokens", data={"name": "x", "csrf_token": token}).status_code

    assert post_as_victim(planted_cookie, planted_token) == 403
    assert post_as_victim(session_cookie, session_token) == 403
    assert auth_tokens.list_api_tokens(victim.id, session=db) == []
    # The same planted cookie with a token the page mints for the victim's session works.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, victim_session)
    client.cookies.set(CSRF_COOKIE, planted_cookie)
    assert post_as_victim(planted_cookie, csrf_from(client, "/account")) == 201
