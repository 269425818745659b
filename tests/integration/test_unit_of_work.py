"""The unit of work: concurrent requests on a small pool, after-commit actions, token stamps."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from httpx2 import ASGITransport, AsyncClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import make_user

from korona.app import create_app
from korona.auth import tokens as auth_tokens
from korona.auth.models import ApiToken, Role
from korona.auth.permissions import Principal
from korona.config import Settings
from korona.db import on_commit, on_rollback, unit_of_work

CONCURRENT_REQUESTS = 30


async def _burst(app: object, token: str) -> tuple[list[int], float, int]:
    """Send the burst at once; return the status codes, the seconds taken, /healthz after."""
    transport = ASGITransport(app=app)  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="https://testserver") as client:
        headers = {"Authorization": f"Bearer {token}"}
        paths = ["/api/v1/needs", "/api/v1/me", "/solutions", "/api/v1/inputs", "/healthz"]
        started = time.monotonic()
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.get(paths[i % len(paths)], headers=headers)
                    for i in range(CONCURRENT_REQUESTS)
                )
            ),
            timeout=60,
        )
        elapsed = time.monotonic() - started
        health = await asyncio.wait_for(client.get("/healthz"), timeout=1)
    return [r.status_code for r in responses], elapsed, health.status_code


def test_thirty_concurrent_requests_on_a_pool_of_two_all_finish(
    settings: Settings, db: Session
) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    token = auth_tokens.create_api_token(Principal(), office.id, session=db)
    db.commit()
    small = settings.model_copy(
        update={"database_pool_size": 2, "database_max_overflow": 0, "database_pool_timeout": 5}
    )
    app = create_app(small)
    try:
        # A thread of its own: the browser tests may leave an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as runner:
            codes, elapsed, health = runner.submit(asyncio.run, _burst(app, token)).result()
    finally:
        app.state.engine.dispose()
    assert codes == [200] * CONCURRENT_REQUESTS
    # A request that waits for a pooled connection on the event loop stalls the loop, so the
    # requests holding the connections cannot finish: each wait ends in the pool timeout and a
    # 500. With the database work in threads the burst takes a second or two.
    assert elapsed < 15, f"the burst took {elapsed:.1f} s"
    assert health == 200


def test_an_api_token_is_stamped_at_most_once_a_minute(db: Session, client: object) -> None:
    office = make_user(db, Role.PORTFOLIO_OFFICE)
    token = auth_tokens.create_api_token(Principal(), office.id, session=db)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def last_used() -> object:
        db.expire_all()
        return db.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == office.id))

    assert client.get("/api/v1/me", headers=headers).status_code == 200  # type: ignore[attr-defined]
    first = last_used()
    assert first is not None
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # type: ignore[attr-defined]
    assert last_used() == first
    stale = first - timedelta(minutes=2)  # type: ignore[operator]
    db.execute(text("UPDATE api_token SET last_used_at = :at"), {"at": stale})
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # type: ignore[attr-defined]
    assert last_used() > stale  # type: ignore[operator]


def test_after_commit_actions_wait_for_the_outer_commit(
    session_factory: sessionmaker[Session],
) -> None:
    done: list[str] = []
    with unit_of_work(session_factory) as session:
        session.execute(text("SELECT 1"))
        with session.begin_nested():
            on_commit(lambda: done.append("kept"), session=session)
            on_rollback(lambda: done.append("never"), session=session)
        assert done == []  # releasing a savepoint is not a commit
    assert done == ["kept"]


def test_a_rolled_back_savepoint_undoes_only_its_own_actions(
    session_factory: sessionmaker[Session],
) -> None:
    done: list[str] = []
    with unit_of_work(session_factory) as session:
        on_commit(lambda: done.append("outer committed"), session=session)
        try:
            with session.begin_nested():
                on_commit(lambda: done.append("inner committed"), session=session)
                on_rollback(lambda: done.append("inner undone"), session=session)
                raise ValueError
        except ValueError:
            pass
        assert done == ["inner undone"]
    assert done == ["inner undone", "outer committed"]


def test_a_failed_unit_of_work_runs_its_rollback_actions(
    session_factory: sessionmaker[Session],
) -> None:
    done: list[str] = []
    try:
        with unit_of_work(session_factory) as session:
            on_commit(lambda: done.append("committed"), session=session)
            on_rollback(lambda: done.append("undone"), session=session)
            raise RuntimeError("the use case failed")
    except RuntimeError:
        pass
    assert done == ["undone"]
