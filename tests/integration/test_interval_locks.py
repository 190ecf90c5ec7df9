"""PostgreSQL's interval locks through a real server (adapters.sql.interval_locks).

A transaction outside the service takes the locks of one resource's 12:00-13:00 (UTC; the
default settings' first hourly slot) and keeps them: a booking of the same resource at 16:00
must go through at once (bookings apart do not take turns any more), and a booking at 12:00
must wait for exactly those locks, then be stored once they are released.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pendulum
import pytest

from agent_booking.adapters.sql.interval_locks import LOCK_CLASS, interval_lock_keys
from agent_booking.adapters.sql.postgres_statements import POSTGRES
from tests.integration.conftest import server_on
from tests.integration.direct_sql import count_rows
from tests.integration.endpoint import CREATE_PATH, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.server import AGENT_HEADERS, ServerProcess

pytestmark = pytest.mark.postgres

_WAITING = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
    "AND objsubid = 2 AND NOT granted"
)


@pytest.fixture(scope="module")
def server(
    postgres_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with server_on(postgres_database_url, tmp_path_factory) as process:
        yield process


async def _waiting_for_interval_locks(connection: Any) -> int:
    return int(await connection.fetchval(_WAITING, LOCK_CLASS))


async def test_only_a_booking_that_may_overlap_a_locked_interval_waits_for_it(
    server: ServerProcess, postgres_database_url: str
) -> None:
    day = WorkingDays().take()
    noon = pendulum.instance(dt.datetime.combine(day, dt.time(12), dt.UTC))
    keys = interval_lock_keys([(1, noon, noon.add(hours=1))])
    dsn = "postgresql://" + postgres_database_url.removeprefix("postgresql+asyncpg://")
    locker: Any = await asyncpg.connect(dsn)
    watcher: Any = await asyncpg.connect(dsn)
    near: asyncio.Task[httpx.Response] | None = None
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=AGENT_HEADERS, timeout=30.0
    ) as client:
        try:
            locks = locker.transaction()
            await locks.start()
            await locker.execute(POSTGRES.lock_intervals, keys)

            apart = await asyncio.wait_for(
                client.post(CREATE_PATH, json=booking_body(day, "16:00")), 10
            )
            assert apart.status_code == 201, apart.text

            near = asyncio.create_task(client.post(CREATE_PATH, json=booking_body(day, "12:00")))
            for _ in range(200):  # up to 10 s for the request to reach its lock
                if await _waiting_for_interval_locks(watcher) or near.done():
                    break
                await asyncio.sleep(0.05)
            assert not near.done(), near.result().text
            assert await _waiting_for_interval_locks(watcher) == 1

            await locks.rollback()
            answered = await asyncio.wait_for(near, 10)
            assert answered.status_code == 201, answered.text
            stored = await count_rows(
                postgres_database_url,
                "SELECT count(*) FROM bookings WHERE id = $1 AND starts_at = $2",
                answered.json()["booking_id"],
                noon,
            )
            assert stored == 1
        finally:
            if near is not None and not near.done():
                near.cancel()
            await locker.close()
            await watcher.close()
