"""PostgreSQL's outbox order: feed positions given after commit, by one positioner at a time.

Bookings commit in parallel and their events become visible in whatever order the commits land,
so an id drawn at insert time cannot be a feed position (a reader past id 11 would skip a
slower transaction's id 10 that commits later). ``booking_position_events`` (migration 0005)
numbers committed, not yet numbered events under a lock that only it takes, held until its own
commit: positions therefore become visible strictly in increasing order, and a reader that has
seen position N has seen every position below it. The lock is taken once per *batch* of events,
off the booking's transaction, so no booking waits for another.

Who calls it: every process after each of its commits that appended an event (in the background,
coalesced, so a burst of commits costs one or two calls), and every reader before it reads (so a
process that crashed between its commit and its call delays nobody's events for long: the next
read positions them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agent_booking.adapters.sql.failures import asyncpg_failure, connection_lost
from agent_booking.adapters.sql.postgres_pool import PostgresPool
from agent_booking.adapters.sql.postgres_statements import POSITION_BATCH, POSITION_EVENTS

__all__ = ["EventPositioner"]

_log = logging.getLogger(__name__)


class EventPositioner:
    """Runs ``booking_position_events`` on a connection of the units' pool, outside any unit."""

    def __init__(self, pool: PostgresPool) -> None:
        self._pool = pool
        self._task: asyncio.Task[None] | None = None
        self._again = False
        #: Calls made and events positioned by this process (for the bench's profile).
        self.calls = 0
        self.positioned = 0

    async def position(self) -> int:
        """Position every committed event that has none yet; how many it positioned."""
        connection = await self._pool.acquire()
        lost = False
        total = 0
        try:
            while True:
                count = int(await connection.fetchval(POSITION_EVENTS))
                self.calls += 1
                total += count
                if count < POSITION_BATCH:
                    break
        except Exception as error:
            lost = connection_lost(error) or connection.is_closed()
            failure = asyncpg_failure(error)
            if failure is error:
                raise
            raise failure from error
        except BaseException:
            lost = True  # cancelled mid-call: the connection's state is unknown
            raise
        finally:
            await self._pool.release(connection, lost=lost)
        self.positioned += total
        return total

    def request(self) -> None:
        """Position soon, in the background: a call already running may have taken its
        snapshot before the commit that asks, so it runs once more after it ends."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run(), name="outbox-positioner")

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.position()
            except Exception as error:  # readers position too: nothing is lost, only later
                _log.warning("positioning outbox events failed: %r", error.__cause__ or error)
            if not self._again:
                return

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(Exception):
                await task
