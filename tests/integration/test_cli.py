"""The korona CLI against a real database: demo, user add, user token, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import PASSWORD, cli_env
from typer.testing import CliRunner

from korona.auth.models import PasswordLink, User
from korona.cli import app
from korona.notify.models import OutboxMessage
from korona.portfolio.assessment.models import WorkingGroup
from korona.portfolio.intake.models import Input, InputStatus
from korona.portfolio.need.models import Need
from korona.portfolio.netlist.models import NetlistVersion

runner = CliRunner()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "data", database_url)


def test_demo_is_idempotent_and_prints_logins(env: dict[str, str], db: Session) -> None:
    # The surveillance part has its own test (test_surveillance_demo.py): it takes ~40 s.
    first = runner.invoke(
        app, ["demo", "--no-surveillance", "--password", "demo-password-1"], env=env
    )
    assert first.exit_code == 0, first.output
    assert "kontor@demo.korona.no" in first.output and "demo-password-1" in first.output
    needs = db.scalar(select(func.count()).select_from(Need))
    assert needs is not None and needs >= 40
    second = runner.invoke(
        app, ["demo", "--no-surveillance", "--password", "demo-password-2"], env=env
    )
    assert second.exit_code == 0
    assert "0 new needs" in second.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Need)) == needs
    statuses = dict(db.execute(select(Input.status, func.count()).group_by(Input.status)).all())
    # 8 wait in triage; 22 demo inputs and 24 more are in assessment (#11), each only once.
    assert statuses == {InputStatus.RECEIVED: 8, InputStatus.IN_ASSESSMENT: 46}
    assert db.scalar(select(func.count()).select_from(WorkingGroup)) == 5
    # Net list v1 published and v2 in draft (#12).
    assert db.scalar(select(func.count()).select_from(NetlistVersion)) == 2
    assert db.scalar(select(func.count()).select_from(User)) == 10
    again = runner.invoke(app, ["demo", "--no-surveillance", "--if-empty"], env=env)
    assert again.exit_code == 0 and "demo-password-2" in again.output


def test_user_add_and_token(env: dict[str, str], db: Session) -> None:
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "lege@example.no",
            "--name",
            "Lise Lege",
            "--role",
            "municipal_doctor",
            "--municipality",
            "5001",
            "--password",
            "long-enough-password",
        ],
        env=env,
    )
    assert added.exit_code == 0, added.output
    token = runner.invoke(app, ["user", "token", "lege@example.no"], env=env)
    assert token.exit_code == 0
    assert token.output.strip().startswith("kor_")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            [
                "user",
                "add",
                "not-an-email",
                "--name",
                "X",
                "--role",
                "observer",
                "--password",
                "long-enough-password",
            ],
            "not a valid e-mail address",
        ),
        (
            [
                "user",
                "add",
                "a@example.no",
                "--name",
                "X",
                "--role",
                "municipal_doctor",
                "--password",
                "long-enough-password",
            ],
            "must be tied to a municipality",
        ),
        (
            [
                "user",
                "add",
                "a@example.no",
                "--name",
                "X",
                "--role",
                "observer",
                "--password",
                "short",
            ],
            "at least 12 characters",
        ),
        (
            [
                "user",
                "add",
                "a@example.no",
                "--name",
                "X",
                "--role",
                "observer",
                "--organisation",
                "Nowhere AS",
                "--password",
                "long-enough-password",
            ],
            "No organisation named",
        ),
        (["user", "token", "nobody@example.no"], "No user with e-mail"),
    ],
)
def test_bad_cli_input_exits_non_zero_with_message(
    env: dict[str, str], db: Session, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, arguments, env=env)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_production_refuses_default_secret(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["db", "upgrade"],
        env={
            "KORONA_ENVIRONMENT": "production",
            "KORONA_DATA_DIR": str(tmp_path),
            "KORONA_SECRET_KEY": "",
        },
    )
    assert result.exit_code == 1
    assert "KORONA_SECRET_KEY must be set" in result.output


def test_commands_before_db_upgrade_say_what_to_run(tmp_path: Path) -> None:
    """On a new data folder, or one whose schema is behind this code, every command that
    reads the database said nothing but a traceback ("no such table"), and ``korona demo``
    first spent its surveillance minute; each now says what to run, and serve does not start.
    """
    from alembic.script import ScriptDirectory

    from korona.bootstrap import head_revision
    from korona.migrations import alembic_config, upgrade

    env = cli_env(tmp_path / "data")
    add = ["user", "add", "a@example.no", "--name", "A", "--password", PASSWORD]
    add += ["--role", "portfolio_office"]
    commands = [
        ["demo", "--password", PASSWORD],
        add,
        ["portfolio", "match", "video"],
        ["mail", "send"],
        ["surveillance", "send-reports", "--week", "2020-W20"],
        ["serve", "--port", "0"],
    ]
    for arguments in commands:
        result = runner.invoke(app, arguments, env=env | {"KORONA_SMTP_HOST": "127.0.0.1"})
        assert result.exit_code == 1, (arguments, result.output)
        assert "The database has no korona tables yet: run korona db upgrade" in result.output
        assert "Traceback" not in result.output and result.exc_info[0] is SystemExit
    assert not (tmp_path / "data" / "surveillance").exists()  # the demo stopped at once

    url = f"sqlite:///{tmp_path / 'data' / 'korona.sqlite3'}"
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head_revision() == head  # the check's own reading of the newest migration
    upgrade(url, "0011_invitations")
    result = runner.invoke(app, add, env=env)
    assert result.exit_code == 1
    assert f"schema is at 0011_invitations; this korona needs {head}" in result.output
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(app, add, env=env).exit_code == 0

    unreachable = cli_env(tmp_path / "data", "postgresql+psycopg://korona:pw@127.0.0.1:1/korona")
    result = runner.invoke(app, add, env=unreachable)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Cannot open the database: connection failed" in result.output


def test_user_invite_deactivate_reactivate_and_reset(env: dict[str, str], db: Session) -> None:
    invited = runner.invoke(
        app,
        ["user", "invite", "ola@example.no", "--name", "Ola", "--role", "observer"],
        env=env,
    )
    assert invited.exit_code == 0, invited.output
    message = db.scalars(select(OutboxMessage)).one()
    assert message.to_address == "ola@example.no" and "/password/" in message.body
    for command in ("deactivate", "reactivate", "reset-password"):
        result = runner.invoke(app, ["user", command, "ola@example.no"], env=env)
        assert result.exit_code == 0, result.output
    db.expire_all()
    user = db.scalars(select(User).where(User.email == "ola@example.no")).one()
    assert user.is_active
    links = db.scalars(
        select(PasswordLink).where(PasswordLink.user_id == user.id).order_by(PasswordLink.id)
    ).all()
    assert [link.used_at is None for link in links] == [False, True]
    missing = runner.invoke(app, ["user", "deactivate", "nobody@example.no"], env=env)
    assert missing.exit_code == 1 and "No user with e-mail" in missing.output
