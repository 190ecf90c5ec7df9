"""Holds in storage, on both engines (issue 15): the database's no-overlap rule covers holds,
and a hold whose time is up still occupies its interval in storage until a write that needs the
interval marks it ``expired``, in that write's own transaction.

Plain SQL for what the database itself refuses; the create use case on the SQL adapters for
what the service does first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pendulum
import pytest

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier
from agent_booking.adapters.sql.database import SqlDatabase
from agent_booking.core import CreateAgentBooking
from agent_booking.core.request import BookingRequest
from tests.integration.conftest import SQLITE, engine_of
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.test_resource_storage import (
    OVERLAP_MESSAGE,
    OVERLAP_REFUSED,
    at,
    insert_booking,
    insert_customer,
    stored,
)
from tests.support.server import run_booking

#: Mondays: open 12:00-17:00 UTC with the seeded settings.
DAY = dt.date(2031, 7, 7)
EXPIRED_DAY = dt.date(2031, 7, 14)
#: The service's clock for the create below: the day before.
NOW = pendulum.datetime(2031, 7, 13, 9, 0, tz="UTC")


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    if engine_of(database_url) == SQLITE:
        run_booking(["migrate"], database_url)  # PostgreSQL's fixture is migrated already
    return database_url


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[SqlDatabase]:
    database = SqlDatabase.connect(migrated_url)
    yield database
    await database.dispose()


async def insert_hold(url: str, customer: int, starts_at: dt.datetime, expires: dt.datetime) -> int:
    hold_id = await insert_booking(url, customer, starts_at, status="held", resource_id=1)
    await run_sql(
        url, "UPDATE bookings SET hold_expires_at = $1 WHERE id = $2", stored(url, expires), hold_id
    )
    return hold_id


class TestTheDatabaseCountsHolds:
    async def test_an_insert_overlapping_a_hold_fails_and_a_released_hold_frees(
        self, migrated_url: str
    ) -> None:
        assert DAY.isoweekday() == 1
        customer = await insert_customer(migrated_url, "+491702000001")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        hold = await insert_hold(migrated_url, customer, at(DAY, 14), later)
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):
            await insert_booking(migrated_url, customer, at(DAY, 14, 30), resource_id=1)
        for status in ("released", "expired"):
            await run_sql(
                migrated_url, "UPDATE bookings SET status = $1 WHERE id = $2", status, hold
            )
            free = await insert_booking(
                migrated_url, customer, at(DAY, 14), status=status, resource_id=1
            )
            assert free > hold
        assert await insert_booking(migrated_url, customer, at(DAY, 14), resource_id=1) > hold

    async def test_an_unknown_status_is_refused(self, migrated_url: str) -> None:
        customer = await insert_customer(migrated_url, "+491702000002")
        with pytest.raises(Exception, match=r"status_known|CHECK constraint"):
            await insert_booking(
                migrated_url, customer, at(DAY, 16), status="parked", resource_id=1
            )


class TestAnExpiredHoldNotYetSwept:
    async def test_still_blocks_plain_sql_but_a_create_releases_it_first(
        self, migrated_url: str, database: SqlDatabase
    ) -> None:
        customer = await insert_customer(migrated_url, "+491702000003")
        expired_at = NOW.subtract(minutes=1)
        hold = await insert_hold(migrated_url, customer, at(EXPIRED_DAY, 13), expired_at)
        with pytest.raises(OVERLAP_REFUSED, match=OVERLAP_MESSAGE):
            await insert_booking(migrated_url, customer, at(EXPIRED_DAY, 13), resource_id=1)

        create = CreateAgentBooking(database.unit_of_work, FixedClock(NOW), InMemoryNotifier())
        result = await create(
            BookingRequest.from_mapping(
                {
                    "phone": "+491702000004",
                    "service_name": "Legal Consultation",
                    "booking_date": EXPIRED_DAY.isoformat(),
                    "booking_time": "13:00",
                }
            )
        )

        assert result.booking.id != hold
        rows = await run_sql(migrated_url, "SELECT status FROM bookings WHERE id = $1", hold)
        assert rows == [("expired",)]
        (released,) = result.released
        assert (released.type, released.payload["id"], released.payload["reason"]) == (
            "hold_released",
            hold,
            "expired",
        )
        stored_events = await count_rows(
            migrated_url,
            "SELECT count(*) FROM events WHERE type = 'hold_released' AND payload LIKE $1",
            f'{{"id":{hold},%',
        )
        assert stored_events == 1
