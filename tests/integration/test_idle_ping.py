"""PostgreSQL pool connections are pinged before use only after sitting idle.

A connection whose server process died while it waited in the pool is replaced before anyone
uses it, once it has been idle past the threshold; a connection back in use right after its
last transaction is handed out without the ping's round trips (so, as documented, a connection
killed in that moment costs its request an error).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.idle_ping import ping_idle_connections
from tests.integration.direct_sql import terminate_backend

pytestmark = pytest.mark.postgres

IDLE_SECONDS = 0.2


@pytest.fixture(params=[IDLE_SECONDS])
async def engine(
    postgres_database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncEngine]:
    """A one-connection pool whose connection is pinged after ``request.param`` idle seconds."""
    engine = create_async_engine(postgres_database_url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds=request.param)
    yield engine
    await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


class TestIdlePing:
    async def test_a_connection_killed_while_idle_is_replaced_before_use(
        self, engine: AsyncEngine, postgres_database_url: str
    ) -> None:
        first = await backend_pid(engine)
        await terminate_backend(postgres_database_url, first)
        await asyncio.sleep(IDLE_SECONDS * 2)  # the pooled connection is now "idle"

        second = await backend_pid(engine)  # no error: the ping found it dead

        assert second != first

    @pytest.mark.parametrize("engine", [60.0], indirect=True)  # never idle long enough
    async def test_a_connection_reused_at_once_is_not_pinged(
        self, engine: AsyncEngine, postgres_database_url: str
    ) -> None:
        first = await backend_pid(engine)
        await terminate_backend(postgres_database_url, first)

        # Straight back into use: no ping, so the dead connection is used and fails...
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(engine)
        assert failed.value.connection_invalidated
        # ...and the pool, told of the disconnect, connects afresh for the next request.
        assert await backend_pid(engine) != first
