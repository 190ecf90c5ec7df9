"""The PostgreSQL outbox positioner's scheduling: commits that arrive while a positioning call
runs get one more call after it (that call's snapshot may predate them), never one per commit.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agent_booking.adapters.sql.outbox_order import EventPositioner
from agent_booking.adapters.sql.postgres_statements import POSITION_BATCH, POSITION_EVENTS


class GatedConnection:
    """Answers the positioning statement once ``gate`` opens; counts the calls."""

    def __init__(self, results: list[int]) -> None:
        self.gate = asyncio.Event()
        self.calls: list[str] = []
        self._results = results

    async def fetchval(self, sql: str) -> int:
        self.calls.append(sql)
        await self.gate.wait()
        return self._results.pop(0) if self._results else 0

    def is_closed(self) -> bool:
        return False


class OneConnectionPool:
    def __init__(self, connection: GatedConnection) -> None:
        self.connection = connection
        self.released: list[bool] = []

    async def acquire(self) -> Any:
        return self.connection

    async def release(self, connection: Any, *, lost: bool) -> None:
        assert connection is self.connection
        self.released.append(lost)


async def settle(positioner: EventPositioner) -> None:
    for _ in range(100):
        await asyncio.sleep(0)
    await positioner.close()


class TestEventPositioner:
    async def test_commits_during_a_call_cost_one_more_call_not_one_each(self) -> None:
        connection = GatedConnection([3, 2])
        pool = OneConnectionPool(connection)
        positioner = EventPositioner(pool)  # type: ignore[arg-type]

        positioner.request()
        await asyncio.sleep(0)
        assert len(connection.calls) == 1  # the first call is running, blocked at the gate
        positioner.request()
        positioner.request()
        positioner.request()
        connection.gate.set()
        await settle(positioner)

        assert connection.calls == [POSITION_EVENTS, POSITION_EVENTS]
        assert positioner.positioned == 5
        assert pool.released == [False, False]

    async def test_a_full_batch_is_followed_by_another_call_at_once(self) -> None:
        connection = GatedConnection([POSITION_BATCH, POSITION_BATCH, 7])
        connection.gate.set()
        pool = OneConnectionPool(connection)
        positioner = EventPositioner(pool)  # type: ignore[arg-type]

        assert await positioner.position() == 2 * POSITION_BATCH + 7
        assert len(connection.calls) == 3
        assert pool.released == [False]

    async def test_a_failed_call_is_logged_and_the_next_request_runs_again(self) -> None:
        class Failing(GatedConnection):
            async def fetchval(self, sql: str) -> int:
                self.calls.append(sql)
                raise OSError("connection reset")

        connection = Failing([])
        pool = OneConnectionPool(connection)
        positioner = EventPositioner(pool)  # type: ignore[arg-type]
        positioner.request()
        await settle(positioner)
        positioner.request()
        await settle(positioner)
        assert len(connection.calls) == 2
        assert positioner.positioned == 0
