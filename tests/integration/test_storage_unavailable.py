"""A server whose PostgreSQL database cannot be used answers 503, not 500.

DESIGN.md: a 500 says nothing internal and is for our bugs; "the service cannot decide right
now" is the 503 family (``ServiceUnavailable``), which tells an agent to retry later. These need a
PostgreSQL server that is up while the service's database is not usable, so they run on
PostgreSQL only (``booking serve`` migrates and therefore creates an SQLite database itself).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import AGENT_HEADERS, ServerProcess

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server_without_database(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``booking serve`` pointed at a database that was never created."""
    url = postgres_cluster.url_for("booking_never_created")
    with ServerProcess(url, log_dir=tmp_path_factory.mktemp("server")) as process:
        yield process


@pytest.fixture(scope="module")
def server_on_unmigrated_database(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """``booking serve`` on an empty database whose operator forgot ``booking migrate``."""
    url = postgres_cluster.create_database("booking_never_migrated")
    with ServerProcess(url, log_dir=tmp_path_factory.mktemp("server")) as process:
        yield process


class TestServerWithoutItsDatabase:
    async def test_is_alive_but_not_ready(self, server_without_database: ServerProcess) -> None:
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server_without_database.base_url
        ) as client:
            health = await client.get("/health")
            ready = await client.get("/ready")

        assert health.status_code == 200, health.text
        assert_error(ready, 503, "storage_unavailable")

    async def test_answers_503_to_a_booking(self, server_without_database: ServerProcess) -> None:
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server_without_database.base_url
        ) as client:
            response = await client.post(CREATE_PATH, json=booking_body(WorkingDays().take()))

        assert_error(response, 503, "storage_unavailable")


class TestServerOnAnUnmigratedDatabase:
    async def test_answers_503_to_a_booking(
        self, server_on_unmigrated_database: ServerProcess
    ) -> None:
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server_on_unmigrated_database.base_url
        ) as client:
            response = await client.post(CREATE_PATH, json=booking_body(WorkingDays().take()))

        assert response.status_code == 503, response.text
        body = response.json()
        assert set(body) == {"success", "message", "code"}, body
        assert body["success"] is False, body
