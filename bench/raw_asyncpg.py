"""Ceiling: raw asyncpg doing one booking's statements on 32 connections, no lock.

The service's own SQL text (``agent_booking.adapters.sql.postgres_statements``), in the order
its create use case runs it with the benchmark's settings (settings row, occupancy read,
customer by phone, customer insert for a new phone, booking insert on resource 1 for one minute,
event insert), inside one transaction per booking committed durably (the cluster's
``synchronous_commit`` is on), ``--connections`` bookings in flight at once. No HTTP, no
framework, no unit of work, no outbox positioning and no per-resource advisory lock (the service
takes one; on one resource it makes bookings take turns, which is the service's cost, not the
database's): what is left is PostgreSQL, the driver and one asyncio loop, so the service cannot
store bookings on this cluster much faster than this. The read before the insert (``occupied``)
is made, as the service makes it (it finds a hold whose time is up in the way, which must be
marked expired before the insert: on PostgreSQL a refused insert ends the transaction); ``--no-
occupancy-read`` leaves it out, to measure what that round trip costs.

    python -m bench.raw_asyncpg DSN --seconds 10 --pool 10000 --run 91 --first 3000000

Prints ``BENCH_RESULT {json}`` with bookings per second.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import time
from typing import Any

import asyncpg

from agent_booking.adapters.sql.postgres_statements import POSTGRES
from bench.workload import SERVICE_NAME, SLOT_MINUTES, day0, event_payload, phone_for, slot_start

__all__ = ["run"]


async def _book(
    connection: Any,
    n: int,
    run: int,
    pool: int,
    first: dt.date,
    latencies: list[float],
    *,
    occupancy_read: bool,
) -> None:
    sql = POSTGRES
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    start = slot_start(2 * n, first)
    end = start + dt.timedelta(minutes=SLOT_MINUTES)
    phone = phone_for(n, run, pool)
    async with connection.transaction():
        await connection.fetch(sql.active_settings)
        if occupancy_read:
            taken = await connection.fetch(sql.occupied, 1, end)
            if taken and taken[0][0] > start:
                raise RuntimeError(f"slot {start} is taken: a broken workload")
        customers = await connection.fetch(sql.customer_by_phone, phone)
        if not customers:
            customers = await connection.fetch(
                sql.insert_customer,
                phone, "Bench", "Load", "bench@example.com", "", "", "!", True, now,
            )  # fmt: skip
        customer = customers[0]
        booking_id = (
            await connection.fetch(
                sql.insert_booking,
                customer[0],
                SERVICE_NAME,
                start.date(),
                start.time(),
                start,
                "upcoming",
                "",
                now,
                1,
                None,
                start,
                end,
                None,
            )
        )[0][0]
        payload = event_payload(
            booking_id,
            start,
            now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            (customer[0], customer[1], customer[2], customer[3], customer[4]),
        )
        await connection.fetch(sql.append_event, "booking_created", payload, now)
    latencies.append(time.perf_counter() - started)


async def run(
    dsn: str,
    *,
    seconds: float,
    connections: int,
    pool: int,
    run: int,
    first_slot: int,
    occupancy_read: bool = True,
) -> dict[str, float]:
    """Book as fast as ``connections`` sessions can for ``seconds``; the rate and latencies."""
    connected = [await asyncpg.connect(dsn) for _ in range(connections)]
    first = day0()
    numbers = itertools.count(first_slot)
    latencies: list[float] = []
    errors = 0

    async def session(connection: Any, deadline: float) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            try:
                await _book(
                    connection,
                    next(numbers),
                    run,
                    pool,
                    first,
                    latencies,
                    occupancy_read=occupancy_read,
                )
            except (asyncpg.PostgresError, RuntimeError):
                errors += 1

    # A short warm-up (plans prepared, caches warm), then the measured run.
    warm = time.perf_counter() + min(2.0, seconds / 5)
    await asyncio.gather(*(session(connection, warm) for connection in connected))
    latencies.clear()
    errors = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    await asyncio.gather(*(session(connection, started + seconds) for connection in connected))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    for connection in connected:
        await connection.close()
    latencies.sort()
    count = len(latencies)
    return {
        "bookings": count,
        "errors": errors,
        "seconds": elapsed,
        "rate": count / elapsed,
        "p50_ms": 1000 * latencies[count // 2],
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))],
        "cpu_us_per_booking": 1e6 * cpu / count,
        "connections": connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dsn")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--run", type=int, default=91)
    parser.add_argument("--first", type=int, default=3_000_000, help="first slot number n")
    parser.add_argument(
        "--occupancy-read",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the read before the insert, as the service makes it (default: on)",
    )
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.dsn,
            seconds=args.seconds,
            connections=args.connections,
            pool=args.pool,
            run=args.run,
            first_slot=args.first,
            occupancy_read=args.occupancy_read,
        )
    )
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
