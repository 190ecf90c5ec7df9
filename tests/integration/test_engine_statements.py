"""The repositories' SQL, one module per engine, behaves alike on SQLite and PostgreSQL.

The same repository operations run on both engines: every statement stays inside its unit of
work's transaction (a unit that does not commit leaves nothing, other units do not see it
before it commits), a second active booking for a slot is the domain's ``SlotTaken`` (the index
decides, by constraint name on PostgreSQL), what the writer stores reads back identically
through SQLAlchemy (the admin listings), and a script of every repository operation gives the
same transcript on both engines. On PostgreSQL, a connection lost during a unit is a 503
(``StorageUnavailable``) and is never handed out again, and one the server closed while it was
idle is replaced before anyone uses it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pendulum
import pytest

from agent_booking.adapters.sql.database import SqlDatabase, SqlUnitOfWork
from agent_booking.adapters.sql.migrate import migrate
from agent_booking.core.entities import BookingStatus, CustomerProfile, NewBooking
from agent_booking.core.errors import ServiceNameTaken, SlotTaken, StorageUnavailable
from agent_booking.core.events import DomainEvent
from agent_booking.core.queries import BookingQuery
from agent_booking.core.resources import Service
from tests.integration.conftest import SQLITE, engine_of
from tests.integration.direct_sql import count_rows, run_sql, terminate_backend

NOW = pendulum.datetime(2026, 12, 3, 9, tz="UTC")
_PHONES = itertools.count(700_000_000)
_MINUTES = itertools.count(0)


def migrated(url: str) -> str:
    if engine_of(url) == SQLITE:
        migrate(url)  # PostgreSQL's fixtures are migrated already
    return url


@pytest.fixture(scope="module")
def migrated_url(database_url: str) -> str:
    return migrated(database_url)


@pytest.fixture
async def database(migrated_url: str) -> AsyncIterator[SqlDatabase]:
    database = SqlDatabase.connect(migrated_url)
    yield database
    await database.dispose()


def fresh_phone() -> str:
    return f"+3{next(_PHONES)}"


def fresh_start() -> pendulum.DateTime:
    return pendulum.datetime(2031, 1, 6, 12, tz="UTC").add(minutes=next(_MINUTES))


def new_booking(customer_id: int, starts_at: pendulum.DateTime) -> NewBooking:
    return NewBooking(
        customer_id=customer_id,
        service_name="Direct",
        booking_date=starts_at.date(),
        booking_time=starts_at.time(),
        starts_at=starts_at,
        status=BookingStatus.UPCOMING,
        notes="",
        created_at=NOW,
        resource_id=1,
        service_id=None,
        occupied_from=starts_at,
        occupied_until=starts_at.add(minutes=1),  # fresh_start() steps by a minute
    )


async def slot_is_taken(uow: SqlUnitOfWork, starts_at: pendulum.DateTime) -> bool:
    """Whether the first resource's minute from ``starts_at`` is occupied."""
    return await uow.bookings.is_occupied(1, starts_at, starts_at.add(minutes=1))


async def book(uow: SqlUnitOfWork, phone: str, starts_at: pendulum.DateTime) -> int:
    """A customer and a booking, as the use case writes them (settings read first)."""
    assert await uow.settings.get_active() is not None
    customer, _ = await uow.customers.get_or_create(CustomerProfile(phone=phone), "!", NOW)
    return (await uow.bookings.add(new_booking(customer.id, starts_at))).id


async def stored_customers(url: str, phone: str) -> int:
    return await count_rows(url, "SELECT count(*) FROM customers WHERE phone = $1", phone)


async def stored_bookings(url: str, starts_at: pendulum.DateTime) -> int:
    stored: Any = starts_at
    if engine_of(url) == SQLITE:
        stored = starts_at.in_timezone("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")
    return await count_rows(url, "SELECT count(*) FROM bookings WHERE starts_at = $1", stored)


class TestTransactions:
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

    async def test_a_unit_sees_its_own_writes_and_others_only_after_the_commit(
        self, database: SqlDatabase
    ) -> None:
        starts_at = fresh_start()
        async with database.unit_of_work() as uow:
            await book(uow, fresh_phone(), starts_at)
            assert await slot_is_taken(uow, starts_at)
            async with database.read_unit_of_work() as reader:
                assert not await slot_is_taken(reader, starts_at)
            await uow.commit()
        async with database.read_unit_of_work() as reader:
            assert await slot_is_taken(reader, starts_at)

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

    async def test_a_second_service_with_a_taken_name_is_service_name_taken(
        self, database: SqlDatabase
    ) -> None:
        """Without the use case's check (as when two admins add one name at once), the
        unique index on the case-folded name decides, for an insert and for a rename."""
        name = f"Engine {next(_MINUTES)}"
        async with database.unit_of_work() as uow:
            first = await uow.catalog.add_service(Service(None, name, 30, resource_ids={1}))
            await uow.commit()

        with pytest.raises(ServiceNameTaken):
            async with database.unit_of_work() as uow:
                await uow.catalog.add_service(Service(None, name.upper(), 45))
        async with database.unit_of_work() as uow:
            other = await uow.catalog.add_service(Service(None, f"{name} b", 45))
            await uow.commit()
        with pytest.raises(ServiceNameTaken):
            async with database.unit_of_work() as uow:
                await uow.catalog.change_service(Service(other, name.lower(), 45))

        async with database.unit_of_work() as uow:
            settings = await uow.settings.get_active()
            assert settings is not None
            catalog = await uow.catalog.get_active(settings)
        assert [(s.name, s.resource_ids) for s in catalog.services if s.id in {first, other}] == [
            (name, frozenset({1})),
            (f"{name} b", frozenset()),
        ]

    async def test_reactivating_into_a_taken_slot_is_slot_taken(
        self, database: SqlDatabase
    ) -> None:
        starts_at = fresh_start()
        async with database.unit_of_work() as uow:
            first = await book(uow, fresh_phone(), starts_at)
            await uow.bookings.set_status(first, BookingStatus.CANCELLED)
            await book(uow, fresh_phone(), starts_at)
            await uow.commit()
        with pytest.raises(SlotTaken):
            async with database.unit_of_work() as uow:
                await uow.bookings.set_status(first, BookingStatus.UPCOMING)

    async def test_what_the_writer_stores_reads_back_alike_through_sqlalchemy(
        self, database: SqlDatabase
    ) -> None:
        phone, starts_at = fresh_phone(), fresh_start()
        async with database.unit_of_work() as uow:
            booking_id = await book(uow, phone, starts_at)
            written = await uow.bookings.get(booking_id)
            await uow.commit()
        async with database.read_unit_of_work() as uow:
            page = await uow.queries.search(BookingQuery(phone=phone))
            recent = await uow.queries.recent(1)
        assert written is not None
        assert [booking for booking, _ in page.rows] == [written]
        assert recent[0][0] == written
        assert page.rows[0][1].phone == phone


class TestOpenBookingsOfACustomer:
    """What the limit of open bookings per phone counts, and that counts take turns."""

    async def test_counts_upcoming_and_pending_bookings_that_start_later(
        self, database: SqlDatabase
    ) -> None:
        after = fresh_start()
        async with database.unit_of_work() as uow:
            assert await uow.settings.get_active() is not None
            customer, _ = await uow.customers.get_or_create(
                CustomerProfile(phone=fresh_phone()), "!", NOW
            )
            other, _ = await uow.customers.get_or_create(
                CustomerProfile(phone=fresh_phone()), "!", NOW
            )
            started = await uow.bookings.add(new_booking(customer.id, after))
            statuses = [
                BookingStatus.UPCOMING,
                BookingStatus.PENDING,
                BookingStatus.COMPLETED,
                BookingStatus.CANCELLED,
            ]
            for status in statuses:
                await uow.bookings.add(
                    attrs.evolve(new_booking(customer.id, fresh_start()), status=status)
                )
            await uow.bookings.add(new_booking(other.id, fresh_start()))
            await uow.commit()

        async with database.unit_of_work() as uow:
            assert await uow.bookings.count_open_after(customer.id, after) == 2
            assert (
                await uow.bookings.count_open_after(
                    customer.id, started.starts_at.subtract(minutes=1)
                )
                == 3
            )
            assert await uow.bookings.count_open_after(other.id, after) == 1

    async def test_a_count_for_a_customer_waits_for_the_customer_s_open_transaction(
        self, database: SqlDatabase
    ) -> None:
        """Counts hold the customer until the commit: a second transaction counting for the
        same customer waits, then sees what the first added. (Without the hold, PostgreSQL's
        READ COMMITTED would let both count the same and both book.)"""
        async with database.unit_of_work() as uow:
            assert await uow.settings.get_active() is not None
            customer, _ = await uow.customers.get_or_create(
                CustomerProfile(phone=fresh_phone()), "!", NOW
            )
            await uow.bookings.add(new_booking(customer.id, fresh_start()))
            await uow.commit()

        async def count_in_another_transaction() -> int:
            async with database.unit_of_work() as other:
                return await other.bookings.count_open_after(customer.id, NOW)

        async with database.unit_of_work() as uow:
            assert await uow.bookings.count_open_after(customer.id, NOW) == 1
            await uow.bookings.add(new_booking(customer.id, fresh_start()))
            second = asyncio.create_task(count_in_another_transaction())
            done, _ = await asyncio.wait({second}, timeout=0.5)
            assert not done, "the second count did not wait for the first transaction"
            await uow.commit()

        assert await second == 2


def plain(value: Any) -> Any:
    """An entity's fields without its id (ids come from each engine's own sequence)."""
    if attrs.has(type(value)):
        return {k: v for k, v in attrs.asdict(value, recurse=False).items() if k != "id"}
    return value


Note = Callable[[str, Any], None]
STARTS_AT = pendulum.datetime(2031, 3, 3, 10, tz="UTC")


async def settings_customers_bookings_events(database: SqlDatabase, note: Note) -> None:
    async with database.unit_of_work() as uow:
        settings = await uow.settings.get_active()
        assert settings is not None
        changed = attrs.evolve(settings, slot_minutes=15, closed_dates={STARTS_AT.date()})
        await uow.settings.save(changed, now=NOW)
        await uow.commit()
    async with database.unit_of_work() as uow:
        note("settings", await uow.settings.get_active() == changed)
        customer, created = await uow.customers.get_or_create(
            CustomerProfile(phone="+15550100", first_name="Ada", email="ada@example.com"),
            "hash",
            NOW,
        )
        note("customer created", (plain(customer), created))
        again, created = await uow.customers.get_or_create(
            CustomerProfile(phone="+15550100"), "other", NOW
        )
        note("customer again", (again == customer, created))
        note("customer by id", await uow.customers.get(customer.id) == customer)
        note("customer by phone", await uow.customers.get_by_phone("+15550100") == customer)
        note("slot free", await slot_is_taken(uow, STARTS_AT))
        booking = await uow.bookings.add(new_booking(customer.id, STARTS_AT))
        note("booking", plain(booking))
        note("slot taken", await slot_is_taken(uow, STARTS_AT))
        note("open after now", await uow.bookings.count_open_after(customer.id, NOW))
        note("open after start", await uow.bookings.count_open_after(customer.id, STARTS_AT))
        note("get", await uow.bookings.get(booking.id) == booking)
        note(
            "starts between",
            await uow.bookings.active_starts_between(STARTS_AT, STARTS_AT.add(hours=1)),
        )
        cancelled = await uow.bookings.set_status(booking.id, BookingStatus.CANCELLED)
        note("cancelled", plain(cancelled))
        note("slot after cancel", await slot_is_taken(uow, STARTS_AT))
        note("open after cancel", await uow.bookings.count_open_after(customer.id, NOW))
        again = await uow.bookings.set_status(booking.id, BookingStatus.CANCELLED)
        note("cancelled again (already cancelled: None)", again)
        note("missing", await uow.bookings.set_status(10**9, BookingStatus.CANCELLED))
        before = await uow.events.latest_id()
        event = await uow.events.append(DomainEvent("booking.created", {"n": [1, "a"]}, NOW))
        note("event", (event.payload, event.occurred_at))
        await uow.commit()
    # The feed holds committed events only (PostgreSQL gives them their feed ids after commit).
    async with database.read_unit_of_work() as uow:
        after = await uow.events.after(before, 10)
        note("events after", [(e.type, e.payload, e.occurred_at) for e in after])
        note("feed ids", [e.event_id > before for e in after])
        note("latest", await uow.events.latest_id() == after[-1].event_id)


async def idempotency_keys(database: SqlDatabase, note: Note) -> None:
    async with database.unit_of_work() as uow:
        keys = uow.idempotency
        lease, expired = NOW.add(seconds=30), NOW.subtract(days=1)
        claim = await keys.claim("k", "f", now=NOW, lease_until=lease, expired_before=expired)
        note("claim", claim)
        claim = await keys.claim("k", "f", now=NOW, lease_until=lease, expired_before=expired)
        note("claim again", claim)
        claim = await keys.claim("k", "g", now=NOW, lease_until=lease, expired_before=expired)
        note("other fingerprint", claim)
        later = NOW.add(minutes=1)
        claim = await keys.claim("k", "f", now=later, lease_until=later, expired_before=expired)
        note("lease over", claim)
        await keys.complete("k", 201, {"success": True})
        await keys.release("k")  # a completed key stays
        claim = await keys.claim("k", "f", now=NOW, lease_until=lease, expired_before=expired)
        note("replay", claim)
        claim = await keys.claim(
            "k", "f", now=NOW, lease_until=lease, expired_before=NOW.add(seconds=1)
        )
        note("expired", claim)
        await keys.release("k")
        claim = await keys.claim("k", "f", now=NOW, lease_until=lease, expired_before=expired)
        note("released", claim)
        await uow.commit()


async def listings(database: SqlDatabase, note: Note) -> None:
    async with database.read_unit_of_work() as uow:
        page = await uow.queries.search(BookingQuery(phone="+15550100"))
        note("search", (page.total, [plain(b) for b, _ in page.rows]))
        note("recent", [(plain(b), plain(c)) for b, c in await uow.queries.recent(5)])


async def transcript(url: str) -> list[tuple[str, Any]]:
    """Every repository operation once, in order, with what it answered."""
    database = SqlDatabase.connect(url)
    steps: list[tuple[str, Any]] = []

    def note(step: str, value: Any) -> None:
        steps.append((step, value))

    try:
        await settings_customers_bookings_events(database, note)
        await idempotency_keys(database, note)
        await listings(database, note)
    finally:
        await database.dispose()
    return steps


@pytest.fixture(scope="module")
def migrated_sqlite_url(sqlite_database_url: str) -> str:
    return migrated(sqlite_database_url)


@pytest.mark.postgres
async def test_every_operation_answers_alike_on_both_engines(
    migrated_sqlite_url: str, postgres_database_url: str
) -> None:
    on_sqlite = await transcript(migrated_sqlite_url)
    on_postgres = await transcript(postgres_database_url)
    assert on_sqlite == on_postgres
    answers = dict(on_sqlite)
    assert answers["settings"] is True
    assert answers["slot taken"] is True
    assert answers["slot after cancel"] is False
    assert (answers["open after now"], answers["open after start"]) == (1, 0)
    assert answers["open after cancel"] == 0
    assert answers["claim again"] != answers["claim"]


async def backend_in_transaction(url: str) -> int:
    """The pid of the service's one connection that is inside a transaction, as seen from
    outside (pg_stat_activity), waiting for it to show."""
    for _ in range(100):
        rows = await run_sql(
            url,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'booking' "
            "AND state = 'idle in transaction' AND datname = current_database()",
        )
        if rows:
            assert len(rows) == 1, rows
            return int(rows[0][0])
        await asyncio.sleep(0.01)
    raise AssertionError("no connection of the service is in a transaction")


async def backend_of_next_unit(database: SqlDatabase, url: str) -> int:
    async with database.unit_of_work() as uow:
        pid = await backend_in_transaction(url)
        assert await uow.settings.get_active() is not None
    return pid


@pytest.mark.postgres
class TestLostConnection:
    async def test_a_connection_lost_inside_a_unit_is_503_and_is_replaced(
        self, postgres_database_url: str
    ) -> None:
        database = SqlDatabase.connect(postgres_database_url, pool_size=1)
        killed: list[int] = []

        async def lose_the_connection_midway() -> None:
            async with database.unit_of_work() as uow:
                killed.append(await backend_in_transaction(postgres_database_url))
                await terminate_backend(postgres_database_url, killed[0])
                await uow.settings.get_active()

        try:
            with pytest.raises(StorageUnavailable):
                await lose_the_connection_midway()

            assert await backend_of_next_unit(database, postgres_database_url) not in killed
        finally:
            await database.dispose()

    async def test_a_connection_closed_by_the_server_between_units_is_replaced(
        self, postgres_database_url: str
    ) -> None:
        database = SqlDatabase.connect(postgres_database_url, pool_size=1)
        try:
            pid = await backend_of_next_unit(database, postgres_database_url)
            await terminate_backend(postgres_database_url, pid)

            # The pool saw the server close it: the next unit gets a fresh connection.
            assert await backend_of_next_unit(database, postgres_database_url) != pid
        finally:
            await database.dispose()
