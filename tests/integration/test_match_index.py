"""Every process answers from the same match index: two servers, and the CLI's snapshot."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import cli_env, make_user
from typer.testing import CliRunner

from korona.auth import tokens as auth_tokens
from korona.auth.models import Role
from korona.auth.permissions import Principal
from korona.cli import app
from korona.config import Settings
from korona.db import unit_of_work
from korona.portfolio.intake import service as intake
from korona.portfolio.intake.models import Input
from korona.portfolio.intake.schemas import InputCreate
from korona.portfolio.matching.changes import MatchChange

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serve(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Run `korona serve` in its own process until /healthz answers; stop it afterwards."""
    port = _free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "korona", "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # returns at once if the server died
            if process.returncode is not None:
                pytest.fail("korona serve exited: " + log_path.read_text())
        else:
            pytest.fail("korona serve did not answer /healthz: " + log_path.read_text())
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _found(base: str, text: str, auth: dict[str, str]) -> list[tuple[str, int]]:
    response = httpx.post(
        base + "/api/v1/match", json={"text": text, "limit": 5}, headers=auth, timeout=30
    )
    assert response.status_code == 200, response.text
    return [(hit["kind"], hit["id"]) for hit in response.json()]


def test_a_change_in_one_server_is_seen_by_another_at_once(
    database_url: str,
    tmp_path: Path,
    db: Session,
    session_factory: sessionmaker[Session],
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    auth = {
        "Authorization": "Bearer "
        + auth_tokens.create_api_token(Principal(), office.id, session=db)
    }
    db.commit()
    env = cli_env(tmp_path / "data", database_url)
    with (
        _serve(env, tmp_path / "a.log") as first,
        _serve(env, tmp_path / "b.log") as second,
    ):
        # The second server builds its index before the change, so it must follow the log.
        assert _found(second, "sebrastripete fjernkonsultasjon", auth) == []
        created = httpx.post(
            first + "/api/v1/inputs",
            json={
                "kind": "idea",
                "title": "Sebrastripete fjernkonsultasjon for sykehjem",
                "description": "Lege og sykepleier møtes på skjerm med beboeren.",
                "organisation_name": "Testkommune",
                "contact_name": "Kari Nordmann",
                "contact_email": "kari@example.no",
            },
            headers=auth,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        input_id = created.json()["id"]
        assert _found(second, "sebrastripete fjernkonsultasjon", auth)[0] == ("input", input_id)

        # An edit from a third process: the old words go, the new ones are found.
        with unit_of_work(session_factory) as session:
            item = session.get(Input, input_id)
            assert item is not None
            item.title = "Leopardflekket videovisitt for sykehjem"
        assert ("input", input_id) not in _found(second, "sebrastripete", auth)
        assert _found(second, "leopardflekket videovisitt", auth)[0] == ("input", input_id)
        assert _found(first, "leopardflekket videovisitt", auth)[0] == ("input", input_id)

        # A decline in the first server removes the input from the second one's answers.
        declined = httpx.post(
            f"{first}/api/v1/inputs/{input_id}/triage",
            json={"action": "decline", "reason": "Ikke aktuelt nå."},
            headers=auth,
            timeout=30,
        )
        assert declined.status_code == 200, declined.text
        assert ("input", input_id) not in _found(second, "leopardflekket videovisitt", auth)


def _match(env: dict[str, str], text: str) -> list[dict[str, object]]:
    """Run `korona portfolio match TEXT --json` and return its matches."""
    result = runner.invoke(app, ["portfolio", "match", text, "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def _builds(caplog: pytest.LogCaptureFixture) -> int:
    """Return how many times the match index was built from the tables since the last clear."""
    return sum("building the match index" in r.getMessage() for r in caplog.records)


def test_cli_match_keeps_a_snapshot_and_follows_the_log(
    database_url: str,
    tmp_path: Path,
    settings: Settings,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="korona.portfolio.matching.index")
    env = cli_env(tmp_path / "data", database_url)
    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Giraffehalset dosett med alarm")
    hits = _match(env, "giraffehalset dosett")
    assert hits[0]["title"] == "Giraffehalset dosett med alarm"
    assert _builds(caplog) == 1
    snapshot = tmp_path / "data" / "match-index" / "index.pickle"
    assert snapshot.is_file()

    # No change since: the snapshot is used as it is and not rewritten.
    caplog.clear()
    written = snapshot.stat().st_mtime_ns
    assert _match(env, "giraffehalset dosett") == hits
    assert _builds(caplog) == 0
    assert snapshot.stat().st_mtime_ns == written

    # A change after the snapshot is found without a rebuild, and the snapshot moves on.
    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Pelikannebbet medisinrobot")
    hits = _match(env, "pelikannebbet medisinrobot")
    assert hits[0]["title"] == "Pelikannebbet medisinrobot"
    assert _builds(caplog) == 0
    assert snapshot.stat().st_mtime_ns != written

    # A torn snapshot is not trusted: the index is built again and still answers.
    snapshot.write_bytes(b"\x80\x05torn")
    assert _match(env, "pelikannebbet medisinrobot")[0]["title"] == "Pelikannebbet medisinrobot"
    assert _builds(caplog) == 1


def test_cli_match_file_answers_one_line_per_text(
    database_url: str, tmp_path: Path, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    env = cli_env(tmp_path / "data", database_url)
    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Giraffehalset dosett med alarm")
        _submit(session, settings, "Pelikannebbet medisinrobot")
    texts = tmp_path / "texts.jsonl"
    texts.write_text(
        '{"text": "giraffehalset dosett"}\n'
        "\n"
        '{"text": "pelikannebbet medisinrobot", "categories": ["E"]}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["portfolio", "match", "--file", str(texts)], env=env)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0][0]["title"] == "Giraffehalset dosett med alarm"
    assert lines[1][0]["title"] == "Pelikannebbet medisinrobot"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "texts.jsonl, line 2: not JSON"),
        ('{"categories": ["E"]}', 'texts.jsonl, line 2: expected an object with a "text" string'),
        ('{"text": "x", "categories": "E"}', 'line 2: "categories" must be a list of strings'),
    ],
)
def test_cli_match_file_names_the_bad_line(
    database_url: str, tmp_path: Path, line: str, says: str
) -> None:
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "dosett"}\n' + line + "\n", encoding="utf-8")
    result = runner.invoke(
        app, ["portfolio", "match", "--file", str(texts)], env=cli_env(tmp_path, database_url)
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _submit(session: Session, settings: Settings, title: str) -> None:
    data = InputCreate(
        kind="idea",
        title=title,
        description="Et forslag til kommunene.",
        organisation_name="Testkommune",
        is_public=True,
        contact_name="Kari Nordmann",
        contact_email="kari@example.no",
    )
    intake.submit_input(Principal(), data, intake.status_links(settings), session=session)


@pytest.mark.parametrize(
    "args", [[], ["dosett", "--file", "texts.jsonl"], ["--file", "texts.jsonl", "--category", "E"]]
)
def test_cli_match_wants_text_or_file(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "texts.jsonl").write_text('{"text": "dosett"}\n', encoding="utf-8")
    paths = [str(tmp_path / a) if a == "texts.jsonl" else a for a in args]
    result = runner.invoke(app, ["portfolio", "match", *paths], env=cli_env(tmp_path, "sqlite://"))
    assert result.exit_code == 2
    assert result.stdout == "" and "Error:" in result.stderr


def test_the_log_is_written_by_the_commit_and_never_by_a_rollback(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    def logged() -> list[tuple[str, int]]:
        with session_factory() as session:
            return [(c.kind, c.entity_id) for c in session.scalars(select(MatchChange))]

    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        _submit(session, settings, "Aldri lagret")
        raise RuntimeError("the use case fails")
    assert logged() == []
    with unit_of_work(session_factory) as session:
        with session.begin_nested():
            _submit(session, settings, "Lagret i et savepoint")
        assert logged() == []  # not before the outer commit
        item = session.scalar(select(Input))
    assert item is not None
    assert logged() == [("input", item.id)]


def test_pruning_keeps_the_newest_row_and_an_index_that_lost_its_row_rebuilds(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    from datetime import timedelta

    from korona.db import utcnow
    from korona.portfolio.matching.changes import prune
    from korona.portfolio.matching.index import PortfolioIndex

    for title in ("Videokonsultasjon for fastleger", "Digital hjemmeoppfølging"):
        with unit_of_work(session_factory) as session:
            _submit(session, settings, title)
    portfolio = PortfolioIndex(session_factory)
    portfolio.get()
    assert portfolio.builds == 1
    with unit_of_work(session_factory) as session:
        newest = max(session.scalars(select(MatchChange.seq)))
        # Everything is older than a moment from now, but the newest row stays.
        assert prune(session=session, before=utcnow() + timedelta(days=1)) == 1
    with session_factory() as session:
        assert list(session.scalars(select(MatchChange.seq))) == [newest]
    portfolio.get()
    assert portfolio.builds == 1  # its own row is still the head: nothing to rebuild
    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Smittesporingsverktøy for kommuner")
    with unit_of_work(session_factory) as session:
        assert prune(session=session, before=utcnow() + timedelta(days=1)) == 1
    found = portfolio.get().search("Smittesporingsverktøy kommuner", limit=1)
    assert [m.title for m in found] == ["Smittesporingsverktøy for kommuner"]
    assert portfolio.builds == 2  # the row it had applied is gone: rebuilt, nothing missed
    portfolio.close()


def test_cli_prunes_the_match_log(settings: Settings, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["portfolio", "prune-match-log", "--keep-days", "30"],
        env=cli_env(tmp_path, settings.database_url),
    )
    assert result.exit_code == 0, result.output
    assert "Removed 0 match log rows" in result.stdout
    bad = runner.invoke(app, ["portfolio", "prune-match-log", "--keep-days", "0"])
    assert bad.exit_code == 2


def test_an_unchanged_log_costs_one_query_and_a_change_is_applied_without_a_rebuild(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import event

    from korona.portfolio.matching.index import PortfolioIndex

    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Videokonsultasjon for fastleger")
    portfolio = PortfolioIndex(session_factory)
    portfolio.get()
    assert portfolio.builds == 1
    engine = portfolio._engine
    assert engine is not None
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(3):
        portfolio.get()
    assert len(statements) == 3  # one read of the log's head each, no ping, no session
    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Smittesporingsverktøy for kommuner")
    found = portfolio.get().search("Smittesporingsverktøy kommuner", limit=1)
    assert [m.title for m in found] == ["Smittesporingsverktøy for kommuner"]
    assert portfolio.builds == 1  # followed the log: no rebuild
    portfolio.close()


def test_requests_arriving_during_a_check_share_the_next_one(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from korona.portfolio.matching.index import PortfolioIndex

    with unit_of_work(session_factory) as session:
        _submit(session, settings, "Videokonsultasjon for fastleger")
    portfolio = PortfolioIndex(session_factory)
    portfolio.get()
    checks, arrivals = portfolio.checks, portfolio._arrivals
    entered, release = threading.Event(), threading.Event()
    head = portfolio._head

    def slow_head() -> object:
        entered.set()
        release.wait(10)
        return head()

    portfolio._head = slow_head  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=9) as pool:
        first = pool.submit(portfolio.get)
        assert entered.wait(10)
        # Eight requests arrive while the first check is under way: one more check serves all.
        others = [pool.submit(portfolio.get) for _ in range(8)]
        for _ in range(1000):  # until all eight have arrived (taken their place)
            if portfolio._arrivals >= arrivals + 9:
                break
            threading.Event().wait(0.01)
        release.set()
        assert all(future.result(10) is first.result(10) for future in others)
    assert portfolio.checks - checks == 2
    portfolio.close()
