"""The serial section of PostgreSQL bookings, sampled from ``pg_locks`` while a load runs.

Only one holder at a time may hold the outbox's advisory lock (key ``0x0B00C1E7``): before issue
18 every booking held it from its event insert to the end of its commit; since, only the
positioner does, once per batch of events. Whatever holds it, the fraction of time it is held
(``busy``) over the bookings stored meanwhile is the serial time per booking, and
``rate / busy`` is the most bookings per second that lock lets through, however many workers
and hosts share the database (at this batch size: a positioner's batch grows with the load, so
the serial time per booking falls as the rate rises).

The same samples count the bookings waiting for an interval lock (``adapters.sql.
interval_locks``: bookings whose intervals of one resource may overlap take turns): on a
calendar where bookings never come near each other it stays at 0; on the benchmark's one
resource, booked at consecutive minutes by 32 connections, it is the line the workload itself
builds.

Sampling runs in a thread of the bench with its own connection, every ``interval`` seconds; it
costs PostgreSQL one small query per sample (200/s by default).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import asyncpg

from agent_booking.adapters.sql.interval_locks import LOCK_CLASS

__all__ = ["LockSampler", "sessions_opened"]

#: The advisory lock key (pg_locks shows a bigint key as classid = high, objid = low 32 bits).
_KEY = 0x0B00C1E7
_SAMPLE = (
    "SELECT count(*) FILTER (WHERE granted AND classid = 0 AND objid = $1 AND objsubid = 1), "
    "count(*) FILTER (WHERE NOT granted AND classid = 0 AND objid = $1 AND objsubid = 1), "
    "count(*) FILTER (WHERE NOT granted AND classid = $2 AND objsubid = 2) "
    "FROM pg_locks WHERE locktype = 'advisory'"
)


class LockSampler:
    """``with LockSampler(dsn): ...`` samples while the block runs; then :meth:`result`."""

    def __init__(self, dsn: str, *, interval: float = 0.005) -> None:
        self._dsn = dsn
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)
        self.samples = 0
        self.held = 0
        self.waiters = 0
        self.interval_waiters = 0
        self.seconds = 0.0

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._sample())

    async def _sample(self) -> None:
        connection: Any = await asyncpg.connect(self._dsn)
        started = time.perf_counter()
        try:
            while not self._stop.is_set():
                held, waiting, interval_waiting = await connection.fetchrow(
                    _SAMPLE, _KEY, LOCK_CLASS
                )
                self.samples += 1
                self.held += int(held > 0)
                self.waiters += waiting
                self.interval_waiters += interval_waiting
                await asyncio.sleep(self._interval)
        finally:
            self.seconds = time.perf_counter() - started
            await connection.close()

    def result(self, bookings_per_second: float) -> dict[str, float | None]:
        """The outbox lock's busy share, mean waiters, serial µs per booking and the rate it
        allows; the mean number of bookings waiting for an interval lock."""
        busy = self.held / max(1, self.samples)
        serial_us = 1e6 * busy / bookings_per_second if bookings_per_second else 0.0
        return {
            "samples": self.samples,
            "busy": busy,
            "mean_waiters": self.waiters / max(1, self.samples),
            "mean_interval_waiters": self.interval_waiters / max(1, self.samples),
            "serial_us_per_booking": serial_us,
            "allows_per_second": bookings_per_second / busy if busy else None,
        }


async def sessions_opened(dsn: str) -> int:
    """Sessions the cluster has opened so far (``pg_stat_database.sessions``, all databases;
    this very call's counts too)."""
    connection: Any = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT sum(sessions) FROM pg_stat_database"))
    finally:
        await connection.close()
