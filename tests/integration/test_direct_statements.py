"""The booking path's statements run directly on the driver (adapters.sql.fast_path), on both
engines, and that changes nothing a caller can see: they are inside the unit of work's
transaction (a unit that does not commit leaves nothing), and a conflict on the active-slot
index is still the domain's ``SlotTaken``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pendulum
import pytest
from sqlalchemy import text

from adapters.sql.database import SqlDatabase, SqlUnitOfWork
from adapters.sql.migrate import migrate
from booking_core.entities import BookingStatus, CustomerProfile, NewBooking
from booking_core.errors import SlotTaken, StorageUnavailable
from tests.integration.conftest import SQLITE, engine_of
from tests.integration.direct_sql import count_rows, terminate_backend

NOW = pendulum.datetime(2026, 12, 3, 9, tz="UTC")
_PHONES = itertools.count(700_000_000)
_MINUTES = itertools.count(0)


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    if engine_of(database_url) == SQLITE:
        migrate(database_url)  # PostgreSQL's fixture is migrated already
    return database_url


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[SqlDatabase]:
    database = SqlDatabase.connect(migrated_url)
    yield database
    await database.dispose()


def fresh_phone() -> str:
    return f"+3{next(_PHONES)}"


def fresh_start() -> pendulum.DateTime:
    return pendulum.datetime(2031, 1, 6, 12, tz="UTC").add(minutes=next(_MINUTES))


async def book(uow: SqlUnitOfWork, phone: str, starts_at: pendulum.DateTime) -> None:
    """A customer and a booking, as the use case writes them (settings read first)."""
    assert await uow.settings.get_active() is not None
    customer, _ = await uow.customers.get_or_create(CustomerProfile(phone=phone), "!", NOW)
    await uow.bookings.add(
        NewBooking(
            customer_id=customer.id,
            service_name="Direct",
            booking_date=starts_at.date(),
            booking_time=starts_at.time(),
            starts_at=starts_at,
            status=BookingStatus.UPCOMING,
            notes="",
            created_at=NOW,
        )
    )


async def stored_customers(url: str, phone: str) -> int:
    return await count_rows(url, "SELECT count(*) FROM customers WHERE phone = $1", phone)


async def stored_bookings(url: str, starts_at: pendulum.DateTime) -> int:
    instant = dt.datetime.fromtimestamp(starts_at.timestamp(), dt.UTC)
    stored = instant.strftime("%Y-%m-%d %H:%M:%S.%f") if engine_of(url) == SQLITE else instant
    return await count_rows(url, "SELECT count(*) FROM bookings WHERE starts_at = $1", stored)


class TestDirectStatements:
    async def test_they_run_directly_from_the_units_start(self, database: SqlDatabase) -> None:
        async with database.unit_of_work() as uow:
            # The premise of the tests below: even the first statement takes the direct path.
            assert uow.bookings._statements._runner is not None
            assert uow.bookings._statements._runner.ready()

    async def test_a_unit_that_does_not_commit_leaves_nothing(
        self, database: SqlDatabase, migrated_url: str
    ) -> None:
        phone, starts_at = fresh_phone(), fresh_start()
        async with database.unit_of_work() as uow:
            await book(uow, phone, starts_at)
        assert (await stored_customers(migrated_url, phone)) == 0
        assert (await stored_bookings(migrated_url, starts_at)) == 0

    async def test_a_unit_that_commits_keeps_everything(
        self, database: SqlDatabase, migrated_url: str
    ) -> None:
        phone, starts_at = fresh_phone(), fresh_start()
        async with database.unit_of_work() as uow:
            await book(uow, phone, starts_at)
            await uow.commit()
        assert (await stored_customers(migrated_url, phone)) == 1
        assert (await stored_bookings(migrated_url, starts_at)) == 1

    async def test_a_second_active_booking_for_a_slot_is_slot_taken(
        self, database: SqlDatabase, migrated_url: str
    ) -> None:
        starts_at = fresh_start()
        async with database.unit_of_work() as uow:
            await book(uow, fresh_phone(), starts_at)
            await uow.commit()

        with pytest.raises(SlotTaken):
            async with database.unit_of_work() as uow:
                await book(uow, fresh_phone(), starts_at)  # no pre-check: the index decides

        assert (await stored_bookings(migrated_url, starts_at)) == 1


@pytest.mark.postgres
class TestLostConnection:
    async def test_a_connection_lost_before_begin_is_storage_unavailable_then_replaced(
        self, postgres_database_url: str
    ) -> None:
        database = SqlDatabase.connect(postgres_database_url, pool_size=1)
        try:
            async with database.unit_of_work() as uow:
                pid = (await uow.bookings._statements.fetch(text("SELECT pg_backend_pid()")))[0][0]
            await terminate_backend(postgres_database_url, pid)

            # Back in use at once (no idle ping): BEGIN meets the dead connection.
            with pytest.raises(StorageUnavailable):
                async with database.unit_of_work():
                    pass

            async with database.unit_of_work() as uow:
                assert await uow.settings.get_active() is not None
        finally:
            await database.dispose()
