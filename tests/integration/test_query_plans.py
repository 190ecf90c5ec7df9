"""The queries for active bookings use a partial index on active bookings, on both engines.

A partial index serves a query only when the query's condition implies the index's. With the status
as a bound parameter (``status <> ?``, ``status IN (?, ?, ?)``) neither engine can prove that:
SQLite scanned the whole table for the alternatives' range query (a million rows at scale) and
re-planned the slot check on every execution; a PostgreSQL generic plan cannot use the index at all.
So these plans are asserted, for the statements' SQL text as each engine runs it
(agent_booking.adapters.sql.sqlite_statements, agent_booking.adapters.sql.postgres_statements).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from agent_booking.adapters.sql import tables
from agent_booking.adapters.sql.postgres_statements import POSTGRES as POSTGRES_SQL
from agent_booking.adapters.sql.sqlite_statements import SQLITE as SQLITE_SQL
from agent_booking.core.entities import ACTIVE_STATUSES, OPEN_STATUSES, BookingStatus
from tests.integration.conftest import POSTGRES, SQLITE, engine_of
from tests.integration.direct_sql import run_sql
from tests.support.server import run_booking

START = dt.datetime(2030, 1, 7, 12, tzinfo=dt.UTC)
END = START + dt.timedelta(days=15)

#: Each statement of the repositories that reads active bookings (its field of
#: EngineStatements), with example parameters and the indexes that may serve it (PostgreSQL
#: may also read the exclusion constraint's GiST index for an overlap).
STATEMENTS: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {
    "occupied": (
        (1, END),
        (tables.RESOURCE_OCCUPIED_INDEX, tables.NO_OVERLAP_CONSTRAINT),
    ),
    "active_starts_between": ((START, END), (tables.ACTIVE_STARTS_INDEX,)),
    "expire_holds": ((END,), (tables.HOLD_EXPIRY_INDEX,)),
    # The read path's occupancy (offers, availability, alternatives): a range of the starts.
    "occupied_between": (
        (START - dt.timedelta(hours=16), END + dt.timedelta(hours=4), END, START, START),
        (tables.ACTIVE_STARTS_INDEX, tables.NO_OVERLAP_CONSTRAINT),
    ),
}


def test_not_cancelled_released_or_expired_is_exactly_the_active_statuses() -> None:
    # The index's condition stands for ACTIVE_STATUSES because the CHECK constraint allows
    # these seven statuses only.
    freeing = {BookingStatus.CANCELLED, BookingStatus.RELEASED, BookingStatus.EXPIRED}
    assert set(BookingStatus) - freeing == ACTIVE_STATUSES
    assert str(tables.ACTIVE_BOOKING) == "status NOT IN ('cancelled', 'released', 'expired')"


def test_the_open_booking_condition_is_exactly_the_open_statuses() -> None:
    # Written out as literals for the planners, like ACTIVE_BOOKING.
    assert str(tables.OPEN_BOOKING) == "status IN ('upcoming', 'pending')"
    assert {BookingStatus.UPCOMING, BookingStatus.PENDING} == OPEN_STATUSES


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    if engine_of(database_url) == SQLITE:
        run_booking(["migrate"], database_url)  # PostgreSQL's fixture is migrated already
    return database_url


@pytest.mark.parametrize("name", sorted(STATEMENTS))
async def test_reads_of_active_bookings_use_an_index_of_active_bookings(
    migrated_url: str, name: str
) -> None:
    parameters, indexes = STATEMENTS[name]
    if engine_of(migrated_url) == POSTGRES:
        plan = await _postgres_generic_plan(migrated_url, getattr(POSTGRES_SQL, name), parameters)
    else:
        plan = await _sqlite_plan(migrated_url, getattr(SQLITE_SQL, name), parameters)
    assert any(index in plan for index in indexes), plan


async def _sqlite_plan(url: str, sql: str, parameters: tuple[Any, ...]) -> str:
    values = [_sqlite_value(value) for value in parameters]
    rows = await run_sql(url, f"EXPLAIN QUERY PLAN {sql}", *values)
    return "\n".join(str(row[-1]) for row in rows)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # SQLAlchemy's SQLite storage format
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


async def _postgres_generic_plan(url: str, sql: str, parameters: tuple[Any, ...]) -> str:
    """The plan PostgreSQL would cache for the prepared statement, with sequential scans made
    as unattractive as possible: an index that can serve the query is then always chosen."""
    values = list(parameters)
    connection = await asyncpg.connect("postgresql://" + url.removeprefix("postgresql+asyncpg://"))
    try:
        await connection.execute("SET plan_cache_mode = force_generic_plan")
        await connection.execute("SET enable_seqscan = off")
        await connection.execute(f"PREPARE probe AS {sql}")
        literals = ", ".join(_postgres_literal(value) for value in values)
        rows = await connection.fetch(f"EXPLAIN EXECUTE probe({literals})")
    finally:
        await connection.close()
    return "\n".join(row[0] for row in rows)


def _postgres_literal(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat()}'"
    return str(int(value))


async def test_a_customers_open_bookings_are_counted_through_the_customer_index(
    migrated_url: str,
) -> None:
    """The per-phone limit counts one customer's bookings on every booking for a known phone:
    through the customer's index, never by scanning the table."""
    name, parameters = "open_bookings_after", (7, START)
    if engine_of(migrated_url) == POSTGRES:
        plan = await _postgres_generic_plan(migrated_url, getattr(POSTGRES_SQL, name), parameters)
    else:
        plan = await _sqlite_plan(migrated_url, getattr(SQLITE_SQL, name), parameters)
    assert "ix_bookings_customer_id" in plan, plan
