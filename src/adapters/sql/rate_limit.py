"""Rate-limit counters in PostgreSQL, shared by every worker process and host.

One statement per request, ``INSERT … ON CONFLICT (bucket_key, window_start) DO UPDATE SET
count = count + 1 RETURNING count``: the row lock makes concurrent increments from any number of
processes serialise, so the returned count is exact. It runs in its own short transaction on the
service's pool, never inside a booking's unit of work. SQLite is not offered this store: it is
the single-process set-up, where the in-memory store is exact and costs no write lock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_booking.adapters.sql.tables import rate_limit_counters

__all__ = ["SqlRateCounterStore"]

_count = rate_limit_counters.c["count"]
_window_start = rate_limit_counters.c["window_start"]


def _instant(unix_seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix_seconds, dt.UTC)


class SqlRateCounterStore:
    """:class:`~agent_booking.adapters.rate_limit.RateCounterStore` on the ``rate_limit_counters``
    table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def increment(self, bucket_key: str, window_start: int) -> int:
        statement = (
            insert(rate_limit_counters)
            .values(bucket_key=bucket_key, window_start=_instant(window_start), count=1)
            .on_conflict_do_update(
                index_elements=[rate_limit_counters.c["bucket_key"], _window_start],
                set_={"count": _count + 1},
            )
            .returning(_count)
        )
        async with self._engine.begin() as connection:
            count: int = (await connection.execute(statement)).scalar_one()
        return count

    async def purge_before(self, window_start: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(rate_limit_counters).where(_window_start < _instant(window_start))
            )
