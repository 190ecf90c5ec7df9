"""SQL repositories: explicit row ⇄ entity mapping, written once for both engines.

Every repository runs its statements on the
:class:`~agent_booking.adapters.sql.statements.StatementRunner` of the unit of work that made it (so
everything it does is inside that transaction), taking the SQL text and value codecs from the
engine's :class:`~agent_booking.adapters.sql.statements.EngineStatements`. Only the admin listings
(:class:`SqlBookingQueries`) are SQLAlchemy Core: they are built per request from optional filters,
which Core composes better than string pasting, and they are not on the booking path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import pendulum
from sqlalchemy import Row as SqlalchemyRow
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agent_booking.adapters.sql import tables
from agent_booking.adapters.sql.convert import (
    date_from_db,
    date_to_db,
    instant_from_db,
    time_from_db,
)
from agent_booking.adapters.sql.interval_locks import interval_lock_keys
from agent_booking.adapters.sql.postgres_statements import EVENTS_CHANNEL
from agent_booking.adapters.sql.statements import (
    CATALOG_STATEMENTS,
    EngineStatements,
    Row,
    StatementRunner,
)
from agent_booking.core.entities import (
    Booking,
    BookingMove,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from agent_booking.core.events import DomainEvent, StoredEvent
from agent_booking.core.occupancy import Occupant, OccupiedInterval
from agent_booking.core.queries import BookingPage, BookingQuery
from agent_booking.core.resources import (
    MAX_OCCUPIED_MINUTES,
    Catalog,
    OpenInterval,
    Resource,
    Service,
    WeeklyPlan,
)
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "EVENTS_CHANNEL",
    "SettingsCache",
    "SqlBookingQueries",
    "SqlBookingRepository",
    "SqlCatalogRepository",
    "SqlCustomerRepository",
    "SqlEventOutbox",
    "SqlSettingsRepository",
]

#: Event payloads are stored as compact JSON (msgspec: the same text as ``json.dumps`` with
#: ``separators=(",", ":")``, several times faster).
_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode

#: The longest buffer: a booking starts at most this long after its occupied interval does.
_MAX_BUFFER_MINUTES = 240

#: Opens a connection for reads outside the unit's transaction (see SqlBookingQueries).
Reader = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
#: Gives committed events their feed positions, outside the unit's transaction (PostgreSQL).
Positioner = Callable[[], Awaitable[object]]


class SettingsCache:
    """The active settings last read by this process, with the raw row they were built from.

    Every read still asks the database for the row (so a change made anywhere, by any process,
    counts from the next transaction on: nothing is ever stale), but only a changed row is
    decoded and validated again; an unchanged one yields the same immutable value, whose
    derived data (the day's slots) is then computed once rather than per request.
    """

    def __init__(self) -> None:
        self.row: tuple[Any, ...] | None = None
        self.settings: BusinessSettings | None = None
        #: The catalog, and the settings row it was read with: the row holds the catalog's
        #: version, which every change of resources, plans or services increments.
        self.catalog: Catalog | None = None
        self.catalog_row: tuple[Any, ...] | None = None


class SqlSettingsRepository:
    def __init__(
        self, run: StatementRunner, sql: EngineStatements, cache: SettingsCache | None = None
    ) -> None:
        self._run = run
        self._sql = sql
        self._cache = cache or SettingsCache()

    async def get_active(self) -> BusinessSettings | None:
        rows = await self._run.fetch(self._sql.active_settings)
        if not rows:
            return None
        cache, row = self._cache, tuple(rows[0])
        if cache.row != row or cache.settings is None:
            cache.settings, cache.row = self._decode(row), row
        return cache.settings

    async def save(self, settings: BusinessSettings, *, now: pendulum.DateTime) -> None:
        sql = self._sql
        values = (
            sql.time_to_db(settings.open_time),
            sql.time_to_db(settings.close_time),
            ",".join(str(day) for day in sorted(settings.off_days)),
            settings.slot_minutes,
            settings.timezone,
            settings.horizon_days,
            ",".join(day.isoformat() for day in sorted(settings.closed_dates)),
            sql.instant_to_db(now),
            settings.cancel_notice_minutes,
            settings.reschedule_notice_minutes,
            settings.unknown_services,
        )
        if not await self._run.fetch(sql.update_settings, values):
            await self._run.fetch(sql.insert_settings, values)

    def _decode(self, row: Row) -> BusinessSettings:
        _id, open_time, close_time, off_days, slot_minutes, zone, horizon, closed, _at = row[:9]
        cancel_notice, reschedule_notice, unknown_services = row[9:12]
        return BusinessSettings(
            open_time=self._sql.time_from_db(open_time),
            close_time=self._sql.time_from_db(close_time),
            off_days=frozenset(int(day) for day in off_days.split(",") if day),
            slot_minutes=slot_minutes,
            timezone=zone,
            horizon_days=horizon,
            closed_dates=frozenset(
                pendulum.Date(*map(int, day.split("-"))) for day in closed.split(",") if day
            ),
            cancel_notice_minutes=cancel_notice,
            reschedule_notice_minutes=reschedule_notice,
            unknown_services=unknown_services,
        )


class SqlCatalogRepository:
    """The catalog, cached per process like the settings, and read again only when the
    settings row read in this unit of work (which carries the catalog's version) changed: the
    booking path pays no statement for it."""

    def __init__(self, run: StatementRunner, sql: EngineStatements, cache: SettingsCache) -> None:
        self._run = run
        self._sql = sql
        self._cache = cache

    async def get_active(self, settings: BusinessSettings) -> Catalog:
        cache = self._cache
        current = settings is cache.settings and cache.row is not None
        if current and cache.catalog is not None and cache.catalog_row == cache.row:
            return cache.catalog
        row = cache.row
        catalog = await self._read(settings)
        if current:
            cache.catalog, cache.catalog_row = catalog, row
        return catalog

    async def add_resource(self, name: str, *, now: pendulum.DateTime) -> int:
        sql = self._sql
        rows = await self._run.fetch(
            sql.insert_resource, (name, True, False, sql.instant_to_db(now))
        )
        await self._run.fetch(sql.bump_catalog_version)
        return int(rows[0][0])

    async def change_resource(self, resource_id: int, *, name: str, active: bool) -> None:
        await self._run.fetch(self._sql.update_resource, (name, active, resource_id))
        await self._run.fetch(self._sql.bump_catalog_version)

    async def replace_plan(self, resource_id: int, plan: WeeklyPlan) -> None:
        sql, fetch = self._sql, self._run.fetch
        await fetch(sql.delete_hours, (resource_id,))
        for weekday, intervals in sorted(plan.days.items()):
            for interval in intervals:
                values = (
                    resource_id,
                    weekday,
                    sql.time_to_db(interval.opens),
                    sql.time_to_db(interval.closes),
                )
                await fetch(sql.insert_hours, values)
        await fetch(sql.own_plan, (False, resource_id))
        await fetch(sql.bump_catalog_version)

    async def set_exception(
        self, resource_id: int, day: pendulum.Date, intervals: tuple[OpenInterval, ...]
    ) -> None:
        sql, fetch = self._sql, self._run.fetch
        await fetch(sql.delete_exception, (resource_id, sql.date_to_db(day)))
        # A closed date is one row without times; other hours, one row per interval.
        rows = [
            (sql.time_to_db(item.opens), sql.time_to_db(item.closes)) for item in intervals
        ] or [(None, None)]
        for opens, closes in rows:
            await fetch(sql.insert_exception, (resource_id, sql.date_to_db(day), opens, closes))
        await fetch(sql.bump_catalog_version)

    async def remove_exception(self, resource_id: int, day: pendulum.Date) -> None:
        await self._run.fetch(self._sql.delete_exception, (resource_id, self._sql.date_to_db(day)))
        await self._run.fetch(self._sql.bump_catalog_version)

    async def add_service(self, service: Service) -> int:
        rows = await self._run.fetch(self._sql.insert_service, _service_values(service))
        service_id = int(rows[0][0])
        await self._write_performers(service_id, service.resource_ids)
        return service_id

    async def change_service(self, service: Service) -> None:
        await self._run.fetch(self._sql.update_service, (*_service_values(service), service.id))
        await self._write_performers(service.id, service.resource_ids)

    async def _write_performers(self, service_id: int | None, resource_ids: frozenset[int]) -> None:
        sql, fetch = self._sql, self._run.fetch
        await fetch(sql.delete_performers, (service_id,))
        for resource_id in sorted(resource_ids):
            await fetch(sql.insert_performer, (service_id, resource_id))
        await fetch(sql.bump_catalog_version)

    async def _read(self, settings: BusinessSettings) -> Catalog:
        sql, fetch = self._sql, self._run.fetch
        hours: dict[int, dict[int, list[OpenInterval]]] = {}
        for resource_id, weekday, opens, closes in await fetch(CATALOG_STATEMENTS["hours"]):
            interval = OpenInterval(sql.time_from_db(opens), sql.time_from_db(closes))
            hours.setdefault(resource_id, {}).setdefault(weekday, []).append(interval)
        exceptions: dict[int, dict[pendulum.Date, list[OpenInterval]]] = {}
        for resource_id, day, opens, closes in await fetch(CATALOG_STATEMENTS["exceptions"]):
            intervals = exceptions.setdefault(resource_id, {}).setdefault(sql.date_from_db(day), [])
            if opens is not None:
                intervals.append(OpenInterval(sql.time_from_db(opens), sql.time_from_db(closes)))
        business_hours = WeeklyPlan.from_settings(settings)
        resources = [
            Resource(
                resource_id,
                name,
                business_hours if follows else WeeklyPlan(hours.get(resource_id, {})),
                exceptions=exceptions.get(resource_id, {}),
                active=bool(active),
                follows_business_hours=bool(follows),
            )
            for resource_id, name, active, follows in await fetch(CATALOG_STATEMENTS["resources"])
        ]
        performers: dict[int, set[int]] = {}
        for service_id, resource_id in await fetch(CATALOG_STATEMENTS["performers"]):
            performers.setdefault(service_id, set()).add(resource_id)
        services = [
            Service(
                service_id,
                name,
                duration,
                buffer_before=before,
                buffer_after=after,
                min_notice_minutes=notice,
                resource_ids=performers.get(service_id, ()),
                active=bool(active),
            )
            for service_id, name, duration, before, after, notice, active in await fetch(
                CATALOG_STATEMENTS["services"]
            )
        ]
        return Catalog(resources, services, unknown_services=settings.unknown_services)


def _service_values(service: Service) -> tuple[object, ...]:
    """A service's columns in the order the service statements take them."""
    return (
        service.name,
        service.key,
        service.duration_minutes,
        service.buffer_before,
        service.buffer_after,
        service.min_notice_minutes,
        service.active,
    )


def _customer(row: Row, sql: EngineStatements) -> Customer:
    customer_id, phone, first_name, last_name, email, gender, country, active, created = row
    return Customer(
        id=customer_id,
        phone=phone,
        first_name=first_name,
        last_name=last_name,
        email=email,
        gender=gender,
        country=country,
        is_active=bool(active),
        created_at=sql.instant_from_db(created),
    )


class SqlCustomerRepository:
    def __init__(self, run: StatementRunner, sql: EngineStatements) -> None:
        self._run = run
        self._sql = sql

    async def get_by_phone(self, phone: str) -> Customer | None:
        rows = await self._run.fetch(self._sql.customer_by_phone, (phone,))
        return _customer(rows[0], self._sql) if rows else None

    async def get(self, customer_id: int) -> Customer | None:
        rows = await self._run.fetch(self._sql.customer_by_id, (customer_id,))
        return _customer(rows[0], self._sql) if rows else None

    async def get_or_create(
        self, profile: CustomerProfile, password_hash: str, now: pendulum.DateTime
    ) -> tuple[Customer, bool]:
        """Read, else insert-or-nothing on the unique phone, so concurrent first bookings make
        one customer.

        Most bookings are for known phones, which the read settles in one statement. On
        PostgreSQL the insert waits for a concurrent transaction inserting the same phone, then
        does nothing if that one committed; the read that follows sees the committed row.
        """
        existing = await self.get_by_phone(profile.phone)
        if existing is not None:
            return existing, False
        values = (
            profile.phone,
            profile.first_name,
            profile.last_name,
            profile.email,
            profile.gender,
            profile.country,
            password_hash,
            True,
            self._sql.instant_to_db(now),
        )
        rows = await self._run.fetch(self._sql.insert_customer, values)
        if rows:
            return _customer(rows[0], self._sql), True
        existing = await self.get_by_phone(profile.phone)
        if existing is None:  # pragma: no cover - the conflicting row was committed
            msg = f"customer {profile.phone!r} conflicted but cannot be read"
            raise RuntimeError(msg)
        return existing, False


def _booking(row: Row, sql: EngineStatements) -> Booking:
    booking_id, customer_id, service, day, time, starts_at, status, notes, created, *placed = row
    resource_id, service_id, occupied_from, occupied_until, hold_expires_at = placed
    return Booking(
        id=booking_id,
        customer_id=customer_id,
        service_name=service,
        booking_date=sql.date_from_db(day),
        booking_time=sql.time_from_db(time),
        starts_at=sql.instant_from_db(starts_at),
        status=BookingStatus(status),
        notes=notes,
        created_at=sql.instant_from_db(created),
        resource_id=resource_id,
        service_id=service_id,
        occupied_from=sql.instant_from_db(occupied_from),
        occupied_until=sql.instant_from_db(occupied_until),
        hold_expires_at=None if hold_expires_at is None else sql.instant_from_db(hold_expires_at),
    )


#: Stands for "no instant" where a statement compares with one: before every stored instant.
_DAWN = pendulum.datetime(1970, 1, 1, tz="UTC")


class SqlBookingRepository:
    """The write path's bookings. A conflict on the active-slot index surfaces as ``SlotTaken``
    from the runner (:mod:`agent_booking.adapters.sql.failures`)."""

    def __init__(self, run: StatementRunner, sql: EngineStatements) -> None:
        self._run = run
        self._sql = sql

    async def lock_intervals(self, intervals: Sequence[OccupiedInterval]) -> None:
        if self._sql.lock_intervals is not None:
            await self._run.fetch(self._sql.lock_intervals, (interval_lock_keys(intervals),))

    async def is_occupied(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> bool:
        return await self.occupant(resource_id, begin, end) is not None

    async def occupant(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> Occupant | None:
        sql = self._sql
        rows = await self._run.fetch(sql.occupied, (resource_id, sql.instant_to_db(end)))
        if not rows:
            return None
        until, booking_id, hold_expires_at = rows[0]
        if sql.instant_from_db(until) <= begin:
            return None
        expiry = None if hold_expires_at is None else sql.instant_from_db(hold_expires_at)
        return Occupant(booking_id, expiry)

    async def occupied_between(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        now: pendulum.DateTime | None = None,
    ) -> list[OccupiedInterval]:
        sql = self._sql
        values = (
            sql.instant_to_db(start.subtract(minutes=MAX_OCCUPIED_MINUTES)),
            sql.instant_to_db(end.add(minutes=_MAX_BUFFER_MINUTES)),
            sql.instant_to_db(end),
            sql.instant_to_db(start),
            sql.instant_to_db(_DAWN if now is None else now),
        )
        rows = await self._run.fetch(sql.occupied_between, values)
        return [
            (resource_id, sql.instant_from_db(begin), sql.instant_from_db(until))
            for resource_id, begin, until in rows
        ]

    async def active_counts_on(self, day: pendulum.Date) -> dict[int, int]:
        rows = await self._run.fetch(self._sql.active_counts_on, (self._sql.date_to_db(day),))
        return {resource_id: int(count) for resource_id, count in rows}

    async def add(self, booking: NewBooking) -> Booking:
        sql = self._sql
        values = (
            booking.customer_id,
            booking.service_name,
            sql.date_to_db(booking.booking_date),
            sql.time_to_db(booking.booking_time),
            sql.instant_to_db(booking.starts_at),
            booking.status.value,
            booking.notes,
            sql.instant_to_db(booking.created_at),
            booking.resource_id,
            booking.service_id,
            sql.instant_to_db(booking.occupied_from),
            sql.instant_to_db(booking.occupied_until),
            None if booking.hold_expires_at is None else sql.instant_to_db(booking.hold_expires_at),
        )
        booking_id = (await self._run.fetch(sql.insert_booking, values))[0][0]
        return booking.stored_as(booking_id)

    async def get(self, booking_id: int) -> Booking | None:
        rows = await self._run.fetch(self._sql.booking_by_id, (booking_id,))
        return _booking(rows[0], self._sql) if rows else None

    async def active_starts_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> set[pendulum.DateTime]:
        sql = self._sql
        rows = await self._run.fetch(
            sql.active_starts_between, (sql.instant_to_db(start), sql.instant_to_db(end))
        )
        return {sql.instant_from_db(value) for (value,) in rows}

    async def set_status(self, booking_id: int, status: BookingStatus) -> Booking | None:
        rows = await self._run.fetch(self._sql.set_status, (status.value, booking_id))
        return _booking(rows[0], self._sql) if rows else None

    async def move(self, booking_id: int, move: BookingMove) -> Booking | None:
        sql = self._sql
        values = (
            sql.date_to_db(move.booking_date),
            sql.time_to_db(move.booking_time),
            sql.instant_to_db(move.starts_at),
            move.resource_id,
            sql.instant_to_db(move.occupied_from),
            sql.instant_to_db(move.occupied_until),
            booking_id,
        )
        rows = await self._run.fetch(sql.move_booking, values)
        return _booking(rows[0], sql) if rows else None

    async def count_live_holds(self, customer_id: int, now: pendulum.DateTime) -> int:
        """As :meth:`count_open_after`: the customer is locked first (PostgreSQL)."""
        sql = self._sql
        if sql.lock_customer is not None:
            await self._run.fetch(sql.lock_customer, (customer_id,))
        rows = await self._run.fetch(sql.count_live_holds, (customer_id, sql.instant_to_db(now)))
        return int(rows[0][0])

    async def expire_hold(self, booking_id: int, now: pendulum.DateTime) -> Booking | None:
        sql = self._sql
        rows = await self._run.fetch(sql.expire_hold, (booking_id, sql.instant_to_db(now)))
        return _booking(rows[0], sql) if rows else None

    async def expire_holds(self, now: pendulum.DateTime) -> list[Booking]:
        sql = self._sql
        rows = await self._run.fetch(sql.expire_holds, (sql.instant_to_db(now),))
        return [_booking(row, sql) for row in rows]

    async def confirm_hold(
        self, booking_id: int, status: BookingStatus, now: pendulum.DateTime
    ) -> Booking | None:
        sql = self._sql
        rows = await self._run.fetch(
            sql.confirm_hold, (status.value, booking_id, sql.instant_to_db(now))
        )
        return _booking(rows[0], sql) if rows else None

    async def release_hold(self, booking_id: int) -> Booking | None:
        rows = await self._run.fetch(self._sql.release_hold, (booking_id,))
        return _booking(rows[0], self._sql) if rows else None

    async def count_open_after(self, customer_id: int, after: pendulum.DateTime) -> int:
        """Lock the customer first (PostgreSQL), then count, in two statements: the count's
        snapshot is then taken once the lock is ours, so under READ COMMITTED it sees the
        bookings of the transaction that held the lock before. (In one statement the snapshot
        would predate the wait and miss them.)"""
        sql = self._sql
        if sql.lock_customer is not None:
            await self._run.fetch(sql.lock_customer, (customer_id,))
        rows = await self._run.fetch(
            sql.open_bookings_after, (customer_id, sql.instant_to_db(after))
        )
        return int(rows[0][0])


class SqlBookingQueries:
    """The admin listings, in SQLAlchemy Core, on a read connection of their own.

    They read committed data only, outside the unit's transaction: on SQLite the write path's
    connection is the group-commit writer, which runs only plain SQL, and a listing must never
    hold the write lock while it scans. In WAL mode a read connection sees the last commit.
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    async def recent(self, limit: int) -> Sequence[tuple[Booking, Customer]]:
        statement = _with_customers().order_by(tables.bookings.c.id.desc()).limit(limit)
        async with self._reader() as connection:
            return await _pairs(connection, statement)

    async def search(self, query: BookingQuery) -> BookingPage:
        bookings, customers = tables.bookings, tables.customers
        conditions: list[Any] = []
        if query.date_from is not None:
            conditions.append(bookings.c.booking_date >= date_to_db(query.date_from))
        if query.date_to is not None:
            conditions.append(bookings.c.booking_date <= date_to_db(query.date_to))
        if query.statuses is not None:
            conditions.append(bookings.c.status.in_([status.value for status in query.statuses]))
        if query.phone is not None:
            conditions.append(customers.c.phone == query.phone)
        statement = (
            _with_customers()
            .where(*conditions)
            .order_by(bookings.c.starts_at, bookings.c.id)
            .offset(query.offset)
            .limit(query.limit)
        )
        count = (
            select(func.count())
            .select_from(bookings.join(customers, customers.c.id == bookings.c.customer_id))
            .where(*conditions)
        )
        async with self._reader() as connection:
            total = (await connection.execute(count)).scalar_one()
            rows = await _pairs(connection, statement)
        return BookingPage(tuple(rows), total)


async def _pairs(connection: AsyncConnection, statement: Any) -> list[tuple[Booking, Customer]]:
    return [
        (_booking_from_typed_row(row), _customer_from_prefixed_row(row))
        for row in await connection.execute(statement)
    ]


def _with_customers() -> Any:
    bookings, customers = tables.bookings, tables.customers
    return select(bookings, *[column.label(f"c__{column.name}") for column in customers.c]).join(
        customers, customers.c.id == bookings.c.customer_id
    )


def _booking_from_typed_row(row: SqlalchemyRow[Any]) -> Booking:
    return Booking(
        id=row.id,
        customer_id=row.customer_id,
        service_name=row.service_name,
        booking_date=date_from_db(row.booking_date),
        booking_time=time_from_db(row.booking_time),
        starts_at=instant_from_db(row.starts_at),
        status=BookingStatus(row.status),
        notes=row.notes,
        created_at=instant_from_db(row.created_at),
        resource_id=row.resource_id,
        service_id=row.service_id,
        occupied_from=instant_from_db(row.occupied_from),
        occupied_until=instant_from_db(row.occupied_until),
        hold_expires_at=(
            None if row.hold_expires_at is None else instant_from_db(row.hold_expires_at)
        ),
    )


def _customer_from_prefixed_row(row: SqlalchemyRow[Any]) -> Customer:
    return Customer(
        id=row.c__id,
        phone=row.c__phone,
        first_name=row.c__first_name,
        last_name=row.c__last_name,
        email=row.c__email,
        gender=row.c__gender,
        country=row.c__country,
        is_active=row.c__is_active,
        created_at=instant_from_db(row.c__created_at),
    )


class SqlEventOutbox:
    """The transactional outbox, read back as one feed whose order never changes.

    Readers tail it with ``event_id > last_seen``, which is only safe if ids become visible in
    id order. SQLite has one writer at a time, so its row ids do. On PostgreSQL transactions
    commit in parallel, in another order than they drew their ids, so the feed's id is not the
    row's: it is ``events.position``, given *after* commit by one positioner at a time
    (:mod:`agent_booking.adapters.sql.outbox_order`), which makes positions visible strictly in
    increasing order. This replaces an advisory lock that every booking held from its append to
    its commit, which put all bookings of all hosts in one line (docs/performance.md has the
    numbers and why this design was chosen over ordering by ``pg_current_xact_id()``).

    So on PostgreSQL the event :meth:`append` returns carries the row's id, not yet its feed
    id (nothing reads it: the notifier only learns that something was committed), and
    :meth:`after` and :meth:`latest_id` first position whatever was committed, so a reader
    never waits for a positioner that died.
    """

    def __init__(
        self, run: StatementRunner, sql: EngineStatements, positioner: Positioner | None = None
    ) -> None:
        self._run = run
        self._sql = sql
        self._positioner = positioner
        #: Whether this unit appended anything (its commit then asks for positions).
        self.appended = False

    async def append(self, event: DomainEvent) -> StoredEvent:
        values = (
            event.type,
            _encode_json(event.payload).decode(),
            self._sql.instant_to_db(event.occurred_at),
        )
        event_id = int((await self._run.fetch(self._sql.append_event, values))[0][0])
        self.appended = True
        return StoredEvent(event_id, event.type, event.payload, event.occurred_at)

    async def latest_id(self) -> int:
        if self._positioner is not None:
            await self._positioner()
        return int((await self._run.fetch(self._sql.latest_event_id))[0][0])

    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        if self._positioner is not None:
            await self._positioner()
        rows = await self._run.fetch(self._sql.events_after, (event_id, limit))
        return [
            StoredEvent(
                event_id=row[0],
                type=row[1],
                payload=_decode_json(row[2]),
                occurred_at=self._sql.instant_from_db(row[3]),
            )
            for row in rows
        ]
