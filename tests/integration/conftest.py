"""Fixtures for the end-to-end tests: a real database of each engine and ``booking serve`` on it.

Every test that asks for ``database_url`` (directly or through ``server``) runs twice, once on
SQLite and once on PostgreSQL. A module's tests share one database and one server per engine,
for speed; they stay independent by booking only the days :class:`WorkingDays` gives them and
phones from :func:`unique_phone`. A test that must change the database's settings for good asks
for ``fresh_server`` instead.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.integration.working_days import WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import AGENT_HEADERS, ServerProcess, run_booking

SQLITE = "sqlite"
POSTGRES = "postgres"

_DATABASE_NUMBERS = itertools.count(1)


def engine_of(database_url: str) -> str:
    return SQLITE if database_url.startswith("sqlite") else POSTGRES


def _new_database(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty database of ``engine``, ready for ``booking serve``.

    ``booking serve`` migrates SQLite itself; PostgreSQL is migrated the way an operator does it,
    with ``booking migrate``.
    """
    if engine == SQLITE:
        path = tmp_path_factory.mktemp("sqlite") / "booking.db"
        return f"sqlite+aiosqlite:///{path}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database(f"booking_it_{next(_DATABASE_NUMBERS)}")
    run_booking(["migrate"], url)
    return url


def server_on(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, *, workers: int = 1
) -> ServerProcess:
    """A (not yet started) ``booking serve`` on ``database_url``, logging under pytest's tmp."""
    return ServerProcess(database_url, workers=workers, log_dir=tmp_path_factory.mktemp("server"))


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(SQLITE, id=SQLITE),
        pytest.param(POSTGRES, id=POSTGRES, marks=pytest.mark.postgres),
    ],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per test module and engine."""
    return _new_database(request.param, request, tmp_path_factory)


@pytest.fixture(scope="module")
def sqlite_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated SQLite database, for behaviour only the embedded engine has."""
    return _new_database(SQLITE, request, tmp_path_factory)


@pytest.fixture(scope="module")
def postgres_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated PostgreSQL database, for behaviour only PostgreSQL has (LISTEN/NOTIFY)."""
    return _new_database(POSTGRES, request, tmp_path_factory)


@pytest.fixture
def fresh_database_url(
    database_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database of its own for one test, on the same engine as ``database_url``."""
    return _new_database(engine_of(database_url), request, tmp_path_factory)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with server_on(database_url, tmp_path_factory) as process:
        yield process


@pytest.fixture
def fresh_server(
    fresh_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on a database no other test uses, for tests that break its settings."""
    with server_on(fresh_database_url, tmp_path_factory) as process:
        yield process


@pytest.fixture(scope="module")
def days(database_url: str) -> WorkingDays:
    """The working days of the module's database; each test books only days it took here."""
    return WorkingDays()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A trusted agent's client (it sends the test servers' API key)."""
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=30.0, headers=AGENT_HEADERS
    ) as http:
        yield http
