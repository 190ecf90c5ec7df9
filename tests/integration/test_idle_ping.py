"""PostgreSQL pool connections that sat idle are checked or closed before they are used again.

SQLAlchemy's pool (listings, readiness, rate-limit counters) pings them; the units of work's asyncpg
pool (agent_booking.adapters.sql.postgres_pool) closes them instead, bounds the wait for a
connection, and replaces a lost one.

SQLAlchemy's pool: a connection whose server process died while it waited in the pool is
replaced before anyone uses it, once it has been idle past the threshold; a connection back in
use right after its last transaction is handed out without the ping's round trips (so, as
documented, a connection killed in that moment costs its request an error).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent_booking.adapters.sql.idle_ping import ping_idle_connections
from agent_booking.adapters.sql.postgres_pool import PostgresPool
from agent_booking.core.errors import StorageUnavailable
from tests.integration.direct_sql import run_sql, terminate_backend

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


async def backends(url: str, pid: int) -> int:
    rows = await run_sql(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)
    return int(rows[0][0])


@pytest.fixture
async def units_pool(postgres_database_url: str) -> AsyncIterator[PostgresPool]:
    """The units of work's asyncpg pool: one connection, closed after IDLE_SECONDS idle."""
    pool = PostgresPool(
        postgres_database_url,
        size=1,
        wait_seconds=0.2,
        statement_timeout_ms=5000,
        idle_seconds=IDLE_SECONDS,
    )
    yield pool
    await pool.close()


async def pid_of_next(pool: PostgresPool) -> int:
    connection = await pool.acquire()
    try:
        return int(await connection.fetchval("SELECT pg_backend_pid()"))
    finally:
        await pool.release(connection, lost=False)


class TestUnitsPool:
    async def test_a_connection_idle_too_long_is_closed_not_reused(
        self, units_pool: PostgresPool, postgres_database_url: str
    ) -> None:
        first = await pid_of_next(units_pool)
        for _ in range(200):  # the pool closes it once it has been idle (10 s at most)
            if not await backends(postgres_database_url, first):
                break
            await asyncio.sleep(IDLE_SECONDS / 4)
        else:
            raise AssertionError(f"backend {first} still open after 10 s")

        assert await pid_of_next(units_pool) != first

    async def test_a_connection_reused_at_once_is_the_same(self, units_pool: PostgresPool) -> None:
        assert await pid_of_next(units_pool) == await pid_of_next(units_pool)

    async def test_waiting_for_a_connection_is_bounded_then_storage_unavailable(
        self, units_pool: PostgresPool
    ) -> None:
        held = await units_pool.acquire()
        try:
            with pytest.raises(StorageUnavailable):
                await units_pool.acquire()
        finally:
            await units_pool.release(held, lost=False)

    async def test_a_lost_connection_is_replaced(self, units_pool: PostgresPool) -> None:
        connection = await units_pool.acquire()
        first = int(await connection.fetchval("SELECT pg_backend_pid()"))
        await units_pool.release(connection, lost=True)

        assert await pid_of_next(units_pool) != first
