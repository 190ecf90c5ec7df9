"""Databases for the benchmark: migrated by ``booking``, then seeded in bulk behind its back.

The schema and the settings come from the service's own commands (``booking migrate``,
``booking settings set``), so the benchmark measures the schema users get. Rows are then
inserted with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) in the exact storage format the
service writes, which is minutes faster than booking a million slots through the API:

* every database gets a pool of known customers (phones ``+1`` and ten digits) for the 80 % of
  requests that reuse a phone;
* the large database (scenario c) gets 200,000 customers and 1,000,000 bookings, each with its
  ``booking_created`` outbox event, on the odd slots (load runs book even ones), 5 % of them
  cancelled and 5 % pending.

The large SQLite database takes a while to build, so it is cached under
``test-artifacts/bench/cache`` keyed by the schema revision and the counts, and copied per run.

    python -m bench.seed PATH --customers 200000 --bookings 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from bench.workload import (
    RESOURCES,
    SERVICES,
    day0,
    event_payload,
    known_phone,
    settings_args,
    slot_start,
)

__all__ = [
    "booking_cli",
    "cached_sqlite",
    "prepare",
    "seed_catalog_postgres",
    "seed_catalog_sqlite",
    "seed_postgres",
    "seed_sqlite",
]

_SEEDED_AT = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)
_CHUNK = 50_000
_CACHE_VERSION = 1


def booking_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> str:
    """Run one ``booking`` command of this virtualenv; fail loudly."""
    executable = Path(sys.executable).parent / "booking"
    result = subprocess.run(
        [str(executable), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"booking {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare(env: Mapping[str, str], cwd: Path) -> None:
    """Migrate the database in ``BOOKING_DATABASE_URL`` and give it the benchmark's settings."""
    booking_cli(["migrate"], env, cwd)
    booking_cli(settings_args(), env, cwd)


def _db_time(value: dt.datetime) -> str:
    """SQLAlchemy's SQLite storage format for DateTime (and, with %H:%M:%S.%f, Time) values."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _customer_rows(count: int) -> Iterator[tuple[object, ...]]:
    created = _db_time(_SEEDED_AT)
    for index in range(count):
        yield (
            index + 1,
            known_phone(index),
            "Known",
            f"Customer{index}",
            f"customer{index}@example.com",
            "",
            "",
            "!",
            1,
            created,
        )


def _status(index: int) -> str:
    if index % 20 == 0:
        return "cancelled"
    if index % 20 == 1:
        return "pending"
    return "upcoming"


def _booking_and_event_rows(
    count: int, customers: int, first_day: dt.date
) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    created = _db_time(_SEEDED_AT)
    created_json = _SEEDED_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    for index in range(count):
        booking_id = index + 1
        customer = index % customers
        start = slot_start(2 * index + 1, first_day)
        yield (
            (
                booking_id,
                customer + 1,
                "Consultation",
                start.date().isoformat(),
                start.strftime("%H:%M:%S.%f"),
                _db_time(start),
                _status(index),
                "",
                created,
                # The first resource, occupied for its 1-minute slot (migration 0004's columns).
                1,
                _db_time(start),
                _db_time(start + dt.timedelta(minutes=1)),
            ),
            (
                booking_id,
                "booking_created",
                event_payload(
                    booking_id,
                    start,
                    created_json,
                    (
                        customer + 1,
                        known_phone(customer),
                        "Known",
                        f"Customer{customer}",
                        f"customer{customer}@example.com",
                    ),
                    _status(index),
                ),
                created,
            ),
        )


def seed_sqlite(path: Path, *, customers: int, bookings: int = 0) -> None:
    """Insert customers (ids 1..customers) and bookings with their events into a migrated DB."""
    connection = sqlite3.connect(path, isolation_level=None)
    # Seeding only (the database is thrown away if this is interrupted): no journal, no fsync,
    # a large page cache, then back to the WAL mode the service uses.
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1048576")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO customers (id, phone, first_name, last_name, email, gender, country, "
        "password_hash, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _customer_rows(customers),
    )
    rows = _booking_and_event_rows(bookings, customers, day0())
    while chunk := list(itertools.islice(rows, _CHUNK)):
        connection.executemany(
            "INSERT INTO bookings (id, customer_id, service_name, booking_date, booking_time, "
            "starts_at, status, notes, created_at, resource_id, occupied_from, occupied_until) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [booking for booking, _ in chunk],
        )
        connection.executemany(
            "INSERT INTO events (event_id, type, payload, occurred_at) VALUES (?, ?, ?, ?)",
            [event for _, event in chunk],
        )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def seed_catalog_sqlite(path: Path) -> None:
    """Scenario (r)'s catalog: resources 2..RESOURCES next to the migrated first one, all
    working the settings' hours, and the SERVICES, performed by every resource (no
    ``service_resources`` rows). The server is started afterwards, so it reads this catalog."""
    created = _db_time(_SEEDED_AT)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO resources (id, name, is_active, follows_business_hours, created_at) "
            "VALUES (?, ?, 1, 1, ?)",
            [(index, f"Room {index}", created) for index in range(2, RESOURCES + 1)],
        )
        connection.executemany(
            "INSERT INTO services (name, name_key, duration_minutes, buffer_before, "
            "buffer_after, min_notice_minutes, is_active) VALUES (?, ?, ?, ?, ?, 0, 1)",
            [
                (name, name.casefold(), duration, before, after)
                for name, duration, before, after in SERVICES
            ],
        )
        connection.execute("UPDATE business_settings SET catalog_version = catalog_version + 1")
        connection.execute("COMMIT")
    finally:
        connection.close()


async def seed_catalog_postgres(dsn: str) -> None:
    """:func:`seed_catalog_sqlite`'s catalog on PostgreSQL (the ids after the migrated first
    resource, the sequence moved past them)."""
    import asyncpg  # noqa: PLC0415 - only the PostgreSQL scenario needs it

    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.executemany(
                "INSERT INTO resources (id, name, is_active, follows_business_hours, created_at) "
                "VALUES ($1, $2, true, true, $3)",
                [(index, f"Room {index}", _SEEDED_AT) for index in range(2, RESOURCES + 1)],
            )
            await connection.execute(
                "SELECT setval(pg_get_serial_sequence('resources', 'id'), $1)", RESOURCES
            )
            await connection.executemany(
                "INSERT INTO services (name, name_key, duration_minutes, buffer_before, "
                "buffer_after, min_notice_minutes, is_active) VALUES ($1, $2, $3, $4, $5, 0, true)",
                [
                    (name, name.casefold(), duration, before, after)
                    for name, duration, before, after in SERVICES
                ],
            )
            await connection.execute(
                "UPDATE business_settings SET catalog_version = catalog_version + 1"
            )
    finally:
        await connection.close()


async def seed_postgres(dsn: str, *, customers: int) -> None:
    """The known-phone pool for PostgreSQL, by ``COPY``, then the id sequence moved past it."""
    import asyncpg  # noqa: PLC0415 - only the PostgreSQL scenario needs it

    connection = await asyncpg.connect(dsn)
    try:
        records = (
            (index + 1, known_phone(index), "Known", f"Customer{index}",
             f"customer{index}@example.com", "", "", "!", True, _SEEDED_AT)
            for index in range(customers)
        )  # fmt: skip
        await connection.copy_records_to_table(
            "customers",
            records=list(records),
            columns=[
                "id",
                "phone",
                "first_name",
                "last_name",
                "email",
                "gender",
                "country",
                "password_hash",
                "is_active",
                "created_at",
            ],
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('customers', 'id'), $1)", customers
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _schema_revision() -> str:
    versions = Path(__file__).resolve().parents[1] / "src/adapters/sql/migrations/versions"
    digest = hashlib.sha256()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_sqlite(
    target: Path, cache_dir: Path, env: Mapping[str, str], *, customers: int, bookings: int
) -> float:
    """Put a seeded SQLite database at ``target``, building it into the cache if needed.

    The cache key includes today's date because the seeded slots start tomorrow.
    Returns the seconds spent building (0 when the cache was used).
    """
    key = f"v{_CACHE_VERSION}-{_schema_revision()}-{day0().isoformat()}-{customers}-{bookings}"
    cached = cache_dir / f"seeded-{key}.db"
    spent = 0.0
    if not cached.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        for stale in cache_dir.glob("seeded-*.db*"):
            stale.unlink()
        building = cached.with_suffix(".building")
        started = time.perf_counter()
        build_env = dict(env) | {"BOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{building}"}
        prepare(build_env, cache_dir)
        seed_sqlite(building, customers=customers, bookings=bookings)
        building.rename(cached)
        spent = time.perf_counter() - started
    for suffix in ("", "-wal", "-shm"):
        with_suffix = Path(f"{target}{suffix}")
        if with_suffix.exists():
            with_suffix.unlink()
    shutil.copyfile(cached, target)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a seeded benchmark SQLite database.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--bookings", type=int, default=1_000_000)
    args = parser.parse_args()
    args.path = args.path.resolve()
    env = dict(os.environ) | {"BOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{args.path}"}
    started = time.perf_counter()
    prepare(env, args.path.parent)
    seed_sqlite(args.path, customers=args.customers, bookings=args.bookings)
    print(f"seeded {args.path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
