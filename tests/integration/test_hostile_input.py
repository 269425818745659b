"""Hostile input of issue 8: each answers its proper 4xx, never 500, with the security headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import cli_env, csrf_from, login
from typer.testing import CliRunner

from korona.auth import security
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.cli import app as cli_app
from korona.console import CLI
from korona.db import unit_of_work
from korona.portfolio import scoring
from korona.portfolio.intake.models import Input
from korona.portfolio.need.models import Need

DEMO_PASSWORD = "hostile-demo-password"
pytestmark = [pytest.mark.hostile, pytest.mark.demo(password=DEMO_PASSWORD)]

OFFICE = "kontor@demo.korona.no"
REPORTER = "sykehus@demo.korona.no"
#: Headers the middleware promises on every response (korona.web.middleware.SECURITY_HEADERS).
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
)
BEYOND_64_BITS = "99999999999999999999"
NEED_FORM = {
    "description": "Et behov som beskrives med nok tekst til å være gyldig.",
    "category": "video",
    "urgency": "2",
    "affected_groups": "health_personnel",
}
NEED_JSON = {
    "title": "Et gyldig behov",
    "description": "Et behov som beskrives med nok tekst til å være gyldig.",
    "category": "video",
    "urgency": 2,
    "affected_groups": ["health_personnel"],
}


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash the demo users' passwords cheaply: the default argon2 cost made each setup 15 s."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@dataclass
class Demo:
    """The app with the demo data, API tokens and a way to count rows."""

    app: FastAPI
    office_token: str
    reporter_token: str
    factory: sessionmaker[Session]

    def client(self) -> TestClient:
        # A 500 must come back as a response (with its headers), not as the raised exception.
        return TestClient(self.app, base_url="https://testserver", raise_server_exceptions=False)

    def count(self, model: type[Need] | type[Input]) -> int:
        with unit_of_work(self.factory) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def demo(app: FastAPI, session_factory: sessionmaker[Session]) -> Demo:
    with unit_of_work(session_factory) as session:  # the demo is loaded (pytestmark)
        tokens = {}
        for email in (OFFICE, REPORTER):
            user = auth_service.get_user_by_email(email, session=session)
            assert user is not None
            tokens[email] = auth_tokens.create_api_token(
                CLI, user.id, session=session, name="hostile"
            )
    return Demo(app, tokens[OFFICE], tokens[REPORTER], session_factory)


@pytest.fixture
def anonymous(demo: Demo) -> Iterator[TestClient]:
    with demo.client() as client:
        yield client


@pytest.fixture
def office(demo: Demo) -> Iterator[TestClient]:
    with demo.client() as client:
        login(client, OFFICE, DEMO_PASSWORD)
        yield client


@pytest.fixture
def reporter(demo: Demo) -> Iterator[TestClient]:
    with demo.client() as client:
        login(client, REPORTER, DEMO_PASSWORD)
        yield client


def assert_refused(response: object, *statuses: int) -> None:
    """Assert the response has one of the statuses and every security header."""
    status = response.status_code  # type: ignore[attr-defined]
    assert status in statuses, f"{status} (wanted {statuses}): {response.text[:300]}"  # type: ignore[attr-defined]
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]  # type: ignore[attr-defined]
    assert missing == [], f"{status} response lacks {missing}"


@pytest.mark.parametrize(
    "path",
    [
        f"/solutions/{BEYOND_64_BITS}",
        f"/needs/{BEYOND_64_BITS}",
        f"/inputs/{BEYOND_64_BITS}",
        f"/api/v1/needs/{BEYOND_64_BITS}",
        f"/api/v1/solutions/{BEYOND_64_BITS}",
        f"/api/v1/inputs/{BEYOND_64_BITS}",
        "/solutions/١٢",  # Arabic-Indic digits are not an id
    ],
)
def test_path_id_out_of_range_is_not_found(office: TestClient, path: str) -> None:
    assert_refused(office.get(path), 404)


def test_solution_id_beyond_64_bits_is_not_found_for_anonymous(anonymous: TestClient) -> None:
    assert_refused(anonymous.get(f"/solutions/{BEYOND_64_BITS}"), 404)


@pytest.mark.parametrize("token", ["²-abc", "1-æøå", "٣-abc", f"{BEYOND_64_BITS}-abc"])
def test_malformed_status_link_is_not_found(anonymous: TestClient, token: str) -> None:
    assert_refused(anonymous.get(f"/inputs/status/{token}"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/triage?kept=²&merged=²,³",
        f"/triage?kept={BEYOND_64_BITS}&merged=١٢",
        "/inputs/need-options?need_ids=²&need_ids=١٢",
    ],
)
def test_ids_in_other_digits_in_a_page_query_find_nothing(office: TestClient, path: str) -> None:
    """Ids a page only reads to show something (what a merge did, the ticked needs) are ignored
    when they are not ASCII digits in range; int("²") raised a 500 here before."""
    response = office.get(path)
    assert response.status_code == 200, response.text[:300]


def test_need_form_with_organisation_in_other_digits_is_invalid(
    office: TestClient, demo: Demo
) -> None:
    """The office may report for another organisation; its id in other digits is refused."""
    before = demo.count(Need)
    data = {
        **NEED_FORM,
        "title": "Et behov med en rar virksomhets-id",
        "organisation_id": "²",
        "csrf_token": csrf_from(office, "/needs/new"),
    }
    assert_refused(office.post("/needs", data=data, follow_redirects=False), 422)
    assert demo.count(Need) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit?offset=9223372036854775808",
        "/api/v1/audit?limit=10&offset=99999999999999999999",
        f"/api/v1/needs?organisation_id={BEYOND_64_BITS}",
        "/api/v1/needs?municipality_number=٤٦٠١",
    ],
)
def test_query_integer_out_of_range_is_invalid(
    demo: Demo, anonymous: TestClient, path: str
) -> None:
    assert_refused(anonymous.get(path, headers=demo.bearer(demo.office_token)), 422)


def test_triage_with_solution_id_beyond_64_bits_is_invalid(
    demo: Demo, anonymous: TestClient
) -> None:
    headers = demo.bearer(demo.office_token)
    received = anonymous.get("/api/v1/inputs?status=received", headers=headers).json()
    assert received, "the demo has received inputs"
    target = received[0]["id"]
    response = anonymous.post(
        f"/api/v1/inputs/{target}/triage",
        json={"action": "covered", "solution_id": 2**70},
        headers=headers,
    )
    assert_refused(response, 422)
    after = anonymous.get(f"/api/v1/inputs/{target}", headers=headers).json()
    assert after["status"] == "received"


def test_need_form_whose_title_is_a_file_is_invalid(reporter: TestClient, demo: Demo) -> None:
    before = demo.count(Need)
    data = {**NEED_FORM, "csrf_token": csrf_from(reporter, "/needs/new")}
    files = {"title": ("title.txt", b"Et behov fra en fil", "text/plain")}
    response = reporter.post("/needs", data=data, files=files, follow_redirects=False)
    assert_refused(response, 422)
    assert "Feltet title må være tekst, ikke en fil" in response.text
    assert demo.count(Need) == before


@pytest.mark.parametrize("title", ["Nul\x00byte i tittelen", "Kontroll\x07tegn i tittelen"])
def test_need_title_with_control_character_is_invalid(
    demo: Demo, anonymous: TestClient, title: str
) -> None:
    before = demo.count(Need)
    response = anonymous.post(
        "/api/v1/needs",
        json={**NEED_JSON, "title": title},
        headers=demo.bearer(demo.reporter_token),
    )
    assert_refused(response, 422)
    assert demo.count(Need) == before


def test_need_form_title_with_nul_byte_is_invalid(reporter: TestClient, demo: Demo) -> None:
    before = demo.count(Need)
    data = {
        **NEED_FORM,
        "title": "Nul\x00byte i skjemaet",
        "csrf_token": csrf_from(reporter, "/needs/new"),
    }
    assert_refused(reporter.post("/needs", data=data, follow_redirects=False), 422)
    assert demo.count(Need) == before


def test_municipality_number_in_arabic_indic_digits_is_invalid(
    demo: Demo, anonymous: TestClient
) -> None:
    before = demo.count(Need)
    response = anonymous.post(
        "/api/v1/needs",
        json={**NEED_JSON, "municipality_number": "٤٦٠١"},
        headers=demo.bearer(demo.reporter_token),
    )
    assert_refused(response, 422)
    assert demo.count(Need) == before


def test_form_with_invalid_utf8_is_refused(reporter: TestClient, demo: Demo) -> None:
    before = demo.count(Need)
    token = csrf_from(reporter, "/needs/new")
    body = (
        f"csrf_token={token}&title=Ugyldig+%FF%FE+tekst&description=Et+behov+som+beskrives+"
        "med+nok+tekst+til+%C3%A5+v%C3%A6re+gyldig.&category=video&urgency=2"
        "&affected_groups=health_personnel"
    ).encode()
    response = reporter.post(
        "/needs",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert_refused(response, 400, 422)
    assert "Skjemaet ble ikke sendt som gyldig UTF-8-tekst" in response.text
    assert demo.count(Need) == before


def test_patch_cannot_empty_a_required_list(demo: Demo, anonymous: TestClient) -> None:
    headers = demo.bearer(demo.office_token)
    need = anonymous.get("/api/v1/needs", headers=headers).json()[0]
    for value in (None, []):
        response = anonymous.patch(
            f"/api/v1/needs/{need['id']}", json={"affected_groups": value}, headers=headers
        )
        assert_refused(response, 422)
    after = anonymous.get(f"/api/v1/needs/{need['id']}", headers=headers).json()
    assert after["affected_groups"] == need["affected_groups"]


def test_unexpected_error_still_carries_the_security_headers(demo: Demo) -> None:
    def broken() -> None:
        raise RuntimeError("a bug nobody caught")

    demo.app.add_api_route("/__broken_for_test", broken)
    with demo.client() as client:
        response = client.get("/__broken_for_test")
    assert_refused(response, 500)


def test_login_with_nul_in_email_is_invalid(anonymous: TestClient) -> None:
    data = {
        "csrf_token": csrf_from(anonymous, "/login"),
        "email": "kontor\x00@demo.korona.no",
        "password": DEMO_PASSWORD,
    }
    assert_refused(anonymous.post("/login", data=data, follow_redirects=False), 422)


def test_token_name_with_control_character_is_invalid(office: TestClient) -> None:
    data = {"csrf_token": csrf_from(office, "/account"), "name": "nul\x00navn"}
    response = office.post("/account/tokens", data=data, follow_redirects=False)
    assert_refused(response, 422)
    assert "nul\x00navn" not in office.get("/account").text


@pytest.mark.parametrize("need_id", ["18446744073709551616", "²", "١٢", "99999999999"])
def test_input_form_with_need_id_not_a_row_id_is_invalid(
    anonymous: TestClient, demo: Demo, need_id: str
) -> None:
    """The needs picker's ids are refused with a message: int("²") raised a 500 here, and an
    id beyond 32 or 64 bits reached the database, which cannot compare it with the id column
    (a 500 on PostgreSQL)."""
    before = demo.count(Input)
    data = {
        "csrf_token": csrf_from(anonymous, "/inputs/new"),
        "kind": "idea",
        "title": "Et innspill med en rar behovs-id",
        "description": "Et innspill som beskrives med nok tekst til å være gyldig.",
        "organisation_name": "Fiendtlig AS",
        "is_public": "0",
        "contact_name": "Ola Nordmann",
        "contact_email": "ola@example.no",
        "need_ids": need_id,
    }
    assert_refused(anonymous.post("/inputs", data=data, follow_redirects=False), 422)
    assert demo.count(Input) == before


def test_triage_form_with_need_id_in_other_digits_is_invalid(
    office: TestClient, demo: Demo
) -> None:
    """The triage form shares the needs picker's reading of ids (korona.web.forms.row_ids)."""
    headers = demo.bearer(demo.office_token)
    received = office.get("/api/v1/inputs?status=received", headers=headers).json()
    target = received[0]["id"]
    data = {
        "csrf_token": csrf_from(office, "/triage"),
        "action": "link_needs",
        "need_ids": "²",
        "reason": "",
    }
    response = office.post(f"/triage/{target}", data=data, follow_redirects=False)
    assert_refused(response, 422)
    assert "² er ikke en gyldig id" in response.text  # refused, not silently left out
    after = office.get(f"/api/v1/inputs/{target}", headers=headers).json()
    assert after["status"] == "received"


@pytest.mark.parametrize("path", ["/audit", "/audit/export.csv", "/api/v1/audit"])
def test_audit_until_the_last_date_there_is(demo: Demo, office: TestClient, path: str) -> None:
    """until=9999-12-31 has no day after it: adding one raised OverflowError (a 500)."""
    response = office.get(
        path, params={"until": "9999-12-31"}, headers=demo.bearer(demo.office_token)
    )
    assert response.status_code == 200, response.text[:300]


def assert_cli_refused(result: object, code: int, message: str) -> None:
    """Assert the command exited with the code and the message, not with an exception."""
    exception = result.exception  # type: ignore[attr-defined]
    assert isinstance(exception, SystemExit), f"{exception!r}: {result.output[-300:]}"  # type: ignore[attr-defined]
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    assert message in result.output, result.output  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        ("nonexistent", "Cannot migrate to revision 'nonexistent'"),
        ("", "--revision is empty"),
    ],
)
def test_db_upgrade_to_an_unknown_revision_is_an_error(
    tmp_path: Path, revision: str, message: str
) -> None:
    """Alembic's CommandError (and its AssertionError on a blank revision) was a traceback."""
    result = CliRunner().invoke(
        cli_app, ["db", "upgrade", "--revision", revision], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 1, message)


@pytest.mark.parametrize(
    "arguments",
    [
        ["surveillance", "simulate", "--out", "out", "--start-year", "0"],
        ["surveillance", "simulate", "--out", "out", "--start-year", "99999"],
        ["surveillance", "simulate", "--out", "out", "--seed", "-1"],
        ["portfolio", "report", "--out", "report.pdf", "--meeting", BEYOND_64_BITS],
        ["mail", "send", "--lease-seconds", BEYOND_64_BITS],
        ["mail", "work", "--once", "--poll-seconds", "1e20"],
        ["serve", "--port", "-1"],  # (99999999 would start serving, not end)
    ],
)
def test_cli_number_out_of_range_is_refused(tmp_path: Path, arguments: list[str]) -> None:
    """datetime and numpy raised ValueError deep inside the simulation, SQLite an
    OverflowError on the meeting's id and timedelta one on the lease: tracebacks, where the
    option's bounds now answer."""
    result = CliRunner().invoke(cli_app, arguments, env=cli_env(tmp_path / "data"))
    option = arguments[-2]  # each command above ends with the option out of range
    assert_cli_refused(result, 2, f"Invalid value for '{option}'")


def test_cli_match_refuses_a_text_longer_than_the_api_takes(tmp_path: Path) -> None:
    """100 000 characters ran past a minute; the API and the live preview take 5 000."""
    too_long = "smittesporing " * 400  # 5 600 characters
    result = CliRunner().invoke(
        cli_app, ["portfolio", "match", too_long], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 2, "the matcher takes at most 5000")
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "video"}\n' + json.dumps({"text": too_long}) + "\n")
    result = CliRunner().invoke(
        cli_app, ["portfolio", "match", "--file", str(texts)], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 2, "texts.jsonl, line 2: the text is longer than 5000")


#: A net list problem of scored candidates, so that `optimise --draws` draws weights.
DRAWS_PROBLEM = {
    "size": [1, 2],
    "budgets": {"hospitals": 6, "municipalities": 6},
    "candidates": [
        {
            "id": name,
            "scores": {criterion.value: score for criterion in scoring.CRITERIA},
            "confidence": 1.0,
            "effort_hospitals": 1,
            "effort_municipalities": 1,
        }
        for name, score in (("a", 4), ("b", 2))
    ],
}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seed", "-1", "Invalid value for '--seed'"),
        ("--concentration", "inf", "the concentration must be a finite number above 0"),
    ],
)
def test_netlist_weight_draws_with_bad_numbers_are_refused(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    """The weight draws raised ValueError (a traceback) on a negative seed or an infinite
    concentration."""
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(DRAWS_PROBLEM), encoding="utf-8")
    arguments = ["portfolio", "netlist", "optimise", "--input", str(problem), "--draws", "5"]
    result = CliRunner().invoke(
        cli_app, [*arguments, option, value], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 2, message)


def test_cli_error_repeating_rich_markup_is_printed_as_typed(
    tmp_path: Path, database_url: str
) -> None:
    """An error message repeats what was typed; "[/b]" in it made Rich raise MarkupError."""
    result = CliRunner().invoke(
        cli_app, ["user", "deactivate", "[/b]"], env=cli_env(tmp_path / "data", database_url)
    )
    assert_cli_refused(result, 1, "No user with e-mail [/b]")


def test_surveillance_error_naming_a_path_with_rich_markup_is_printed_as_typed(
    tmp_path: Path,
) -> None:
    """The ingest error repeats the path; "[/b]" in it made Rich raise MarkupError."""
    missing = str(tmp_path / "[" / "b]kuhr.csv")
    result = CliRunner().invoke(
        cli_app, ["surveillance", "ingest", missing], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 2, "[/b]kuhr.csv")


def test_export_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """Writing the file raised FileNotFoundError (a traceback)."""
    target = str(tmp_path / "missing" / "inputs.csv")
    result = CliRunner().invoke(
        cli_app, ["portfolio", "export", target], env=cli_env(tmp_path / "data")
    )
    assert_cli_refused(result, 2, "does not exist")
