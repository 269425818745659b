"""Shared fixtures: reference data, databases (SQLite and PostgreSQL), app, client, factories."""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from tests.postgres import PostgresCluster, start_cluster

import korona.models  # noqa: F401
from korona.app import create_app
from korona.auth import service as auth_service
from korona.auth.models import Organisation, OrganisationKind, Role, Sector, User
from korona.auth.permissions import Principal
from korona.config import Environment, Settings
from korona.db import make_engine, make_sessionmaker, unit_of_work
from korona.demo import load_demo
from korona.migrations import upgrade

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct-horse-battery"
_counter = itertools.count()


def cli_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment of a `korona` command in a test: its data folder (and database)."""
    env = {
        "KORONA_DATA_DIR": str(data_dir),
        "KORONA_SECRET_KEY": TEST_SECRET,
        "KORONA_ENVIRONMENT": "test",
    }
    return env | ({"KORONA_DATABASE_URL": database_url} if database_url else {})


def build_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """Return the directory ``build`` filled, built once per test run and shared read-only.

    Under xdist the first worker to ask builds it (the others wait on a file lock) in the run's
    base temporary directory, which all workers share. Tests that write must copy it first.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    target = base / f"shared-{name}"
    with (base / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            partial = base / f"shared-{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(target)
    return target


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test that xdist's ``--dist loadgroup`` did not tag with its group.

    The browser tests of one group share a server and the R reference runs once per group; with
    a pytest that pytest-xdist cannot tag (pytest-xdist issue 1386) they were spread silently.
    """
    if (
        getattr(item.config.option, "loadgroup", False)
        and item.get_closest_marker("xdist_group")
        and "@" not in item.nodeid
    ):
        pytest.fail(
            "pytest-xdist did not put this test in its xdist_group: this pytest and "
            "pytest-xdist do not work together (see the pin in pyproject.toml)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Return the shared public reference data, as Settings resolves it (KORONA_REFERENCE_DIR,
    else ../shared/data)."""
    path = Settings().reference_dir
    assert path.is_dir(), f"reference data not found at {path}"
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a migrated SQLite file that each test copies (fresh schema in milliseconds)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start one throwaway PostgreSQL cluster per test process, with a migrated template."""
    try:
        cluster = start_cluster()
    except RuntimeError as error:
        pytest.fail(str(error))
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE korona_template"))
    admin.dispose()
    upgrade(cluster.url("korona_template"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def demo_templates() -> dict[tuple[str, str], str]:
    """The demo databases this test process has built, by backend and password."""
    return {}


def _demo_template(request: pytest.FixtureRequest, password: str) -> str:
    """Return a database with `load_demo` done (a SQLite file, or a PostgreSQL template's
    name), built once per test process: loading the demo into every test's database took
    about 3 s a test."""
    templates: dict[tuple[str, str], str] = request.getfixturevalue("demo_templates")
    key = (request.param, password)
    if key not in templates:
        if request.param == "sqlite":
            factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
            path = factory.mktemp("demo-template") / "demo.sqlite3"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            template, url = str(path), f"sqlite:///{path}"
        else:
            cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
            template = f"korona_demo_template_{len(templates)}"
            _create_database(cluster, template, template="korona_template")
            url = cluster.url(template)
        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as session:
            load_demo(session=session, password=password)
        # Closing every connection folds SQLite's write-ahead log into the file that is copied,
        # and PostgreSQL copies only a template nobody is connected to.
        engine.dispose()
        templates[key] = template  # only once it is whole: a failed build is not reused
    return templates[key]


def _create_database(cluster: PostgresCluster, name: str, *, template: str) -> None:
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a fresh, migrated database: once on SQLite, once on PostgreSQL.

    A test marked ``demo(password=...)`` gets a copy of a database with the demo loaded.
    """
    marker = request.node.get_closest_marker("demo")
    demo = _demo_template(request, marker.kwargs["password"]) if marker else None
    if request.param == "sqlite":
        path = tmp_path / "korona.sqlite3"
        shutil.copy(demo or request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"test_{os.getpid()}_{next(_counter)}"
    _create_database(cluster, name, template=demo or "korona_template")
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    yield cluster.url(name)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, reference_dir: Path) -> Settings:
    """Return test settings for the database under test."""
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        reference_dir=reference_dir,
    )


@pytest.fixture
def session_factory(settings: Settings) -> Iterator[object]:
    engine = make_engine(settings.sqlalchemy_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def db(session_factory: object) -> Iterator[Session]:
    """Yield a session whose work is committed when the test's block ends."""
    with unit_of_work(session_factory) as session:  # type: ignore[arg-type]
        yield session


@pytest.fixture
def app(settings: Settings) -> Iterator[object]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    """A browser-like client over HTTPS so that Secure cookies are kept."""
    with TestClient(app, base_url="https://testserver") as test_client:  # type: ignore[arg-type]
        yield test_client


def make_organisation(
    session: Session,
    name: str = "Testkommune",
    kind: OrganisationKind = OrganisationKind.MUNICIPALITY,
    sector: Sector = Sector.MUNICIPAL,
    municipality_number: str | None = "4601",
) -> Organisation:
    """Create (or fetch) an organisation."""
    return auth_service.get_or_create_organisation(
        session=session,
        name=name,
        kind=kind,
        sector=sector,
        municipality_number=municipality_number,
    )


def make_user(
    session: Session,
    *roles: Role,
    organisation: Organisation | None = None,
    email: str | None = None,
) -> User:
    """Create a user with the roles (and an organisation, default a municipality)."""
    organisation = organisation or make_organisation(session)
    return auth_service.create_user(
        Principal(),
        session=session,
        email=email or f"user{next(_counter)}@example.no",
        name="Test Person",
        password=PASSWORD,
        roles=roles,
        organisation=organisation,
    )


def csrf_from(client: TestClient, path: str = "/login") -> str:
    """Load a page and return the CSRF token its forms carry."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Log the client in through the login form; return the session's CSRF token for posts."""
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    # The form token is bound to the login session, so the pre-login one no longer works.
    return csrf_from(client, "/")
