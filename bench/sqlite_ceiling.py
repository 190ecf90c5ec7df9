"""Ceiling: the raw ``sqlite3`` module doing one booking's statements, one booking at a time.

The same pragmas as the service (WAL, ``synchronous=FULL``, busy timeout, foreign keys), the
service's own SQL text (``agent_booking.adapters.sql.sqlite_statements``) in the order its
create use case runs it (settings, occupancy read, customer by phone, customer insert for a new
phone, booking insert on resource 1 for one slot, event insert) inside one ``BEGIN IMMEDIATE``
transaction, and a commit that reaches the disk, on a database prepared exactly like the
service's (migrated, benchmark settings, seeded phone pool). No framework, no driver thread, no
ORM: what is left is SQLite and the disk, so no server on this machine can store bookings
durably faster than this (one commit per booking: the service's group commit can beat it).

    python -m bench.sqlite_ceiling DB_PATH --seconds 10 --pool 10000 --run 90 --first 5000000

Prints ``BENCH_RESULT {json}`` with bookings per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import time

from agent_booking.adapters.sql.sqlite_statements import SQLITE
from bench.workload import SERVICE_NAME, SLOT_MINUTES, day0, event_payload, phone_for, slot_start

__all__ = ["STATEMENTS", "run"]

_SQL = SQLITE
#: What the service executes per booking, in order (for the report).
STATEMENTS = (
    "BEGIN IMMEDIATE",
    _SQL.active_settings,
    _SQL.occupied,
    _SQL.customer_by_phone,
    _SQL.insert_customer + "  (only for a new phone)",
    _SQL.insert_booking,
    _SQL.append_event,
    "COMMIT",
)

_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000", "foreign_keys=ON")


def _db_time(value: dt.datetime) -> str:
    """SQLAlchemy's SQLite storage format for DateTime columns."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _book(connection: sqlite3.Connection, n: int, run: int, pool: int, first: dt.date) -> None:
    now = dt.datetime.now(dt.UTC)
    created = _db_time(now)
    start = slot_start(2 * n, first)
    starts_at = _db_time(start)
    phone = phone_for(n, run, pool)
    end = start + dt.timedelta(minutes=SLOT_MINUTES)
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_SQL.active_settings).fetchone()
        taken = connection.execute(_SQL.occupied, (1, _db_time(end))).fetchone()
        assert taken is None or taken[0] <= starts_at, f"slot {starts_at} is taken"  # noqa: S101 - a broken workload
        customer = connection.execute(_SQL.customer_by_phone, (phone,)).fetchone()
        if customer is None:
            customer = connection.execute(
                _SQL.insert_customer,
                (phone, "Bench", "Load", "bench@example.com", "", "", "!", 1, created),
            ).fetchone()
        booking_id = connection.execute(
            _SQL.insert_booking,
            (
                customer[0],
                SERVICE_NAME,
                start.date().isoformat(),
                start.strftime("%H:%M:%S.000000"),
                starts_at,
                "upcoming",
                "",
                created,
                1,
                None,
                starts_at,
                _db_time(end),
                None,
            ),
        ).fetchone()[0]
        payload = event_payload(
            booking_id,
            start,
            now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            (customer[0], customer[1], customer[2], customer[3], customer[4]),
        )
        connection.execute(_SQL.append_event, ("booking_created", payload, created)).fetchone()
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def run(path: str, *, seconds: float, pool: int, run: int, first_slot: int) -> dict[str, float]:
    """Book as fast as possible for ``seconds``; return the rate and per-booking latencies."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in _PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    first = day0()
    latencies: list[float] = []
    n = first_slot
    started = time.perf_counter()
    deadline = started + seconds
    cpu_started = time.process_time()
    while (now := time.perf_counter()) < deadline:
        _book(connection, n, run, pool, first)
        latencies.append(time.perf_counter() - now)
        n += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    connection.close()
    latencies.sort()
    count = len(latencies)
    return {
        "bookings": count,
        "seconds": elapsed,
        "rate": count / elapsed,
        "p50_ms": 1000 * latencies[count // 2],
        "p99_ms": 1000 * latencies[min(count - 1, int(count * 0.99))],
        "cpu_us_per_booking": 1e6 * cpu / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--run", type=int, default=90)
    parser.add_argument("--first", type=int, default=2_000_000, help="first slot number n")
    args = parser.parse_args()
    result = run(args.db, seconds=args.seconds, pool=args.pool, run=args.run, first_slot=args.first)
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
