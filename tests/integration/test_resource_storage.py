"""The database itself refuses overlapping bookings of a resource; migration 0004 keeps the past.

Both engines, through plain SQL that bypasses the service entirely: PostgreSQL's exclusion
constraint and SQLite's triggers are the guarantee, whatever the application checks first.
The migration test populates a database at revision 0003 (the previous release's schema) the
way that release wrote it, migrates it, and asks a real server the spec's requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sqlite3
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command

from agent_booking.adapters.sql.migrate import migration_config
from tests.integration.conftest import SQLITE, engine_of, server_on
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import CREATE_PATH, assert_created, assert_error, booking_body
from tests.support.postgres import PostgresCluster
from tests.support.server import AGENT_HEADERS, run_booking

OVERLAP_REFUSED = (asyncpg.ExclusionViolationError, sqlite3.IntegrityError)
OVERLAP_MESSAGE = "ex_bookings_no_overlap|slot_taken: overlapping active booking"
_DATABASES = itertools.count(1)


def stored(url: str, value: Any) -> Any:
    """A value as plain SQL stores it: SQLAlchemy's text on SQLite, the object on PostgreSQL."""
    if engine_of(url) != SQLITE:
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.%f")
    return value.isoformat()


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


async def insert_customer(url: str, phone: str) -> int:
    rows = await run_sql(
        url,
        "INSERT INTO customers (phone, first_name, last_name, email, gender, country, "
        "password_hash, is_active, created_at) VALUES ($1, '', '', '', '', '', '!', $2, $3) "
        "RETURNING id",
        phone,
        True,
        stored(url, dt.datetime.now(dt.UTC)),
    )
    return int(rows[0][0])


async def insert_booking(
    url: str,
    customer_id: int,
    starts_at: dt.datetime,
    *,
    status: str = "upcoming",
    resource_id: int | None = None,
    minutes: int = 60,
) -> int:
    """A booking by plain SQL: as revision 0003 wrote it, or with ``resource_id`` as 0004 does."""
    columns = (
        "customer_id, service_name, booking_date, booking_time, starts_at, status, notes, "
        "created_at"
    )
    values: list[Any] = [
        customer_id,
        "Legal Consultation",
        stored(url, starts_at.date()),
        stored(url, starts_at.time()),
        stored(url, starts_at),
        status,
        "",
        stored(url, dt.datetime.now(dt.UTC)),
    ]
    if resource_id is not None:
        columns += ", resource_id, occupied_from, occupied_until"
        values += [
            resource_id,
            stored(url, starts_at),
            stored(url, starts_at + dt.timedelta(minutes=minutes)),
        ]
    placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 1))
    rows = await run_sql(
        url,
        f"INSERT INTO bookings ({columns}) VALUES ({placeholders}) RETURNING id",  # noqa: S608 - our own column list
        *values,
    )
    return int(rows[0][0])


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    if engine_of(database_url) == SQLITE:
        run_booking(["migrate"], database_url)  # PostgreSQL's fixture is migrated already
    return database_url


class TestTheDatabaseRefusesOverlaps:
    """Plain SQL against a migrated database (the module's, per engine)."""

    DAY = dt.date(2031, 6, 2)

    @pytest.fixture
    async def second_resource(self, migrated_url: str) -> int:
        rows = await run_sql(
            migrated_url,
            "INSERT INTO resources (name, is_active, follows_business_hours, created_at) "
            "VALUES ('Room', $1, $2, $3) RETURNING id",
            True,
            False,
            stored(migrated_url, dt.datetime.now(dt.UTC)),
        )
        return int(rows[0][0])

    async def test_an_overlapping_insert_fails_and_others_pass(
        self, migrated_url: str, second_resource: int
    ) -> None:
        customer = await insert_customer(migrated_url, "+491701000001")
        first = await insert_booking(migrated_url, customer, at(self.DAY, 10), resource_id=1)
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):
            await insert_booking(migrated_url, customer, at(self.DAY, 10, 30), resource_id=1)
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):  # contains the first
            await insert_booking(
                migrated_url, customer, at(self.DAY, 9, 30), resource_id=1, minutes=120
            )
        touching = await insert_booking(migrated_url, customer, at(self.DAY, 11), resource_id=1)
        elsewhere = await insert_booking(
            migrated_url, customer, at(self.DAY, 10, 30), resource_id=second_resource
        )
        cancelled = await insert_booking(
            migrated_url, customer, at(self.DAY, 10), status="cancelled", resource_id=1
        )
        assert len({first, touching, elsewhere, cancelled}) == 4
        overlapping = await count_rows(
            migrated_url,
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id "
            "AND a.resource_id = b.resource_id AND a.occupied_from < b.occupied_until "
            "AND b.occupied_from < a.occupied_until "
            "WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'",
        )
        assert overlapping == 0

    async def test_an_update_into_an_overlap_fails(
        self, migrated_url: str, second_resource: int
    ) -> None:
        day = self.DAY + dt.timedelta(days=1)
        customer = await insert_customer(migrated_url, "+491701000002")
        await insert_booking(migrated_url, customer, at(day, 10), resource_id=1)
        cancelled = await insert_booking(
            migrated_url, customer, at(day, 10), status="cancelled", resource_id=1
        )
        later = await insert_booking(migrated_url, customer, at(day, 12), resource_id=1)
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):  # reactivated
            await run_sql(
                migrated_url, "UPDATE bookings SET status = 'upcoming' WHERE id = $1", cancelled
            )
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):  # moved onto another
            await run_sql(
                migrated_url,
                "UPDATE bookings SET occupied_from = $1, occupied_until = $2 WHERE id = $3",
                stored(migrated_url, at(day, 10, 30)),
                stored(migrated_url, at(day, 11, 30)),
                later,
            )
        moved = await run_sql(
            migrated_url,
            "UPDATE bookings SET resource_id = $1 WHERE id = $2 RETURNING id",
            second_resource,
            cancelled,
        )
        assert moved == [(cancelled,)]


@pytest.fixture
def blank_url(
    database_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty, unmigrated database on the same engine as ``database_url``."""
    if engine_of(database_url) == SQLITE:
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('release') / 'booking.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"booking_release_{next(_DATABASES)}")


async def migrate_to(url: str, revision: str) -> None:
    await asyncio.to_thread(command.upgrade, migration_config(url), revision)


def next_weekday(after: int) -> dt.date:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=after)
    return day if day.isoweekday() != 7 else day + dt.timedelta(days=1)


async def test_migration_keeps_the_previous_releases_bookings_and_answers(
    blank_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = blank_url
    await migrate_to(url, "0003")
    day = next_weekday(10)
    customer = await insert_customer(url, "1234567890")
    # Written while slots were 30 minutes long (12:00 and 12:30), then slots became an hour.
    early = await insert_booking(url, customer, at(day, 12))
    half_past = await insert_booking(url, customer, at(day, 12, 30), status="pending")
    cancelled = await insert_booking(url, customer, at(day, 12), status="cancelled")
    afternoon = await insert_booking(url, customer, at(day, 14))
    before = await run_sql(
        url, "SELECT id, customer_id, service_name, starts_at, status FROM bookings ORDER BY id"
    )

    await migrate_to(url, "head")

    after = await run_sql(
        url, "SELECT id, customer_id, service_name, starts_at, status FROM bookings ORDER BY id"
    )
    assert after == before
    resources = await run_sql(url, "SELECT id, name, follows_business_hours FROM resources")
    assert len(resources) == 1
    (first, _name, follows), placed = resources[0], {}
    assert bool(follows)
    for booking_id, resource_id, begin, end in await run_sql(
        url, "SELECT id, resource_id, occupied_from, occupied_until FROM bookings"
    ):
        assert resource_id == first
        placed[booking_id] = (begin, end)
    expected = {
        early: (at(day, 12), at(day, 12, 30)),  # clipped at the next active booking
        half_past: (at(day, 12, 30), at(day, 13, 30)),
        cancelled: (at(day, 12), at(day, 13)),
        afternoon: (at(day, 14), at(day, 15)),
    }
    assert placed == {key: tuple(stored(url, v) for v in value) for key, value in expected.items()}

    with server_on(url, tmp_path_factory) as server:
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=30.0, headers=AGENT_HEADERS
        ) as client:
            taken = await client.post(CREATE_PATH, json=booking_body(day, "14:00"))
            assert_error(taken, 409, "slot_taken", "This time slot is already reserved")
            still_held = await client.post(CREATE_PATH, json=booking_body(day, "13:00"))
            assert_error(still_held, 409, "slot_taken")  # the pending 12:30 runs to 13:30
            body = booking_body(day, "16:00")
            created = await client.post(CREATE_PATH, json=body)
            assert_created(
                created, body, user_created=True, booking_date=day, booking_time="16:00:00"
            )
            sunday = day + dt.timedelta(days=7 - day.isoweekday())
            off = await client.post(CREATE_PATH, json=booking_body(sunday, "14:00"))
            assert_error(off, 422, "off_day", "Booking not allowed on off days")
