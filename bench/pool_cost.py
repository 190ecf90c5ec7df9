"""What a PostgreSQL unit of work's connection handling costs, by pool: client CPU per unit.

    python -m bench.pool_cost [--units 3000] [--concurrency 16]

Each unit takes a connection, sends ``BEGIN``, one ``SELECT 1`` and ``COMMIT`` with asyncpg's own
API, and gives the connection back, on a throwaway cluster (``tests.support.postgres``). The
statements are the same asyncpg calls either way, so the difference between the rows is the
pools' own cost:

* ``sqlalchemy``: SQLAlchemy's pool with the idle ping (which the service keeps for its listings
  and counters), the unit on ``(await connection.get_raw_connection()).driver_connection``;
* ``asyncpg``: an asyncpg pool of its own (the service's units of work,
  ``agent_booking.adapters.sql.postgres_pool``).

Run it pinned (``taskset -c 0``); docs/performance.md has the figures and the decision.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import uvloop
from sqlalchemy.ext.asyncio import create_async_engine

from agent_booking.adapters.sql.idle_ping import ping_idle_connections
from tests.support.postgres import PostgresCluster

Unit = Callable[[], Awaitable[None]]


async def _measure(unit: Unit, units: int, concurrency: int) -> tuple[float, float]:
    for _ in range(200):  # warm up: connections made, statements prepared
        await unit()
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await unit()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(units)))
    return (time.process_time() - cpu) / units * 1e6, units / (time.perf_counter() - wall)


async def _sqlalchemy(url: str, units: int, concurrency: int) -> tuple[float, float]:
    engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_timeout=30)
    ping_idle_connections(engine)

    async def unit() -> None:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            transaction = driver.transaction()
            await transaction.start()
            await driver.fetch("SELECT 1")
            await transaction.commit()

    try:
        return await _measure(unit, units, concurrency)
    finally:
        await engine.dispose()


async def _asyncpg(url: str, units: int, concurrency: int) -> tuple[float, float]:
    pool = await asyncpg.create_pool(
        "postgresql://" + url.removeprefix("postgresql+asyncpg://"), min_size=10, max_size=20
    )

    async def unit() -> None:
        async with pool.acquire() as driver:
            transaction = driver.transaction()
            await transaction.start()
            await driver.fetch("SELECT 1")
            await transaction.commit()

    try:
        return await _measure(unit, units, concurrency)
    finally:
        await pool.close()


async def _main(url: str, units: int, concurrency: int, rounds: int) -> None:
    for number in range(1, rounds + 1):
        for name, measure in (("sqlalchemy", _sqlalchemy), ("asyncpg", _asyncpg)):
            cpu, rate = await measure(url, units, concurrency)
            print(f"round {number} {name:10s} {cpu:5.0f} µs CPU per unit, {rate:5.0f} units/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with PostgresCluster() as cluster:
        uvloop.run(_main(cluster.url, args.units, args.concurrency, args.rounds))


if __name__ == "__main__":
    main()
