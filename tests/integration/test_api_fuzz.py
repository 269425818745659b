"""Property-based fuzzing of the JSON API from /openapi.json (schemathesis): no 500, no lie."""

from __future__ import annotations

import pytest
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session, sessionmaker

from korona.auth import security
from korona.auth import service as auth_service
from korona.auth import tokens as auth_tokens
from korona.console import CLI
from korona.db import unit_of_work
from korona.demo import load_demo

pytestmark = pytest.mark.hostile

OFFICE = "kontor@demo.korona.no"
#: Examples per operation and generation mode: about 25 operations × 2 modes × 5 stay
#: inside a minute per database on the project's 2-core machine.
EXAMPLES = 5
#: derandomize: the same examples in every run, so a failure here is reproducible by rerunning.
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash the demo users' passwords cheaply: the default argon2 cost made each setup 15 s."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def office_token(session_factory: sessionmaker[Session]) -> str:
    with unit_of_work(session_factory) as session:
        load_demo(session=session, password="fuzz-demo-password")
        user = auth_service.get_user_by_email(OFFICE, session=session)
        assert user is not None
        return auth_tokens.create_api_token(CLI, user.id, session=session, name="fuzz")


def test_api_answers_every_generated_request_without_500_and_as_documented(
    app: FastAPI, office_token: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {office_token}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the API schema lists the JSON operations"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case: schemathesis.Case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                exercise()
            except Unsatisfiable:
                continue  # an operation without parameters has no invalid request to make
            except Exception as error:  # every operation is fuzzed; all failures are reported
                text = f"{type(error).__name__}: {str(error).strip()[:600]}"
                failures[f"{operation.label} ({mode.value})"] = text
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
