"""SQL repositories: explicit row ⇄ entity mapping over SQLAlchemy Core.

Every repository works on the connection of the unit of work that made it (through its
:class:`~adapters.sql.fast_path.Statements`, which runs the booking path's statements inline on
SQLite), so everything it does is inside that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pendulum
from sqlalchemy import (
    BigInteger,
    DateTime,
    Row,
    String,
    Text,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.sql import tables
from adapters.sql.convert import (
    date_from_db,
    date_to_db,
    instant_from_db,
    instant_to_db,
    time_from_db,
    time_to_db,
)
from adapters.sql.fast_path import Statements
from booking_core.entities import (
    Booking,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from booking_core.errors import SlotTaken
from booking_core.events import DomainEvent, StoredEvent
from booking_core.queries import BookingPage, BookingQuery
from booking_core.settings import BusinessSettings

__all__ = [
    "EVENTS_CHANNEL",
    "SettingsCache",
    "SqlBookingRepository",
    "SqlCustomerRepository",
    "SqlEventOutbox",
    "SqlSettingsRepository",
    "settings_to_row",
]

#: Key of the PostgreSQL advisory lock that orders outbox appends (see SqlEventOutbox).
OUTBOX_LOCK_KEY = 0x0B00C1E7
#: PostgreSQL channel notified (on commit) when the outbox grows.
EVENTS_CHANNEL = "booking_events"

#: Event payloads are stored as compact JSON (msgspec: the same text as ``json.dumps`` with
#: ``separators=(",", ":")``, several times faster).
_encode_json = msgspec.json.Encoder().encode
_decode_json = msgspec.json.Decoder().decode


# Statements of the booking path, built once: building a statement (coercing every operand,
# generating its cache key) cost more than running it. Values are bound at execution.
_ACTIVE_SETTINGS = select(tables.business_settings).where(tables.business_settings.c.is_active)
#: The same row without type processing: compared with the cached one, it says whether the
#: cached value is still current, whatever changed the row (this process, another, or SQL).
_ACTIVE_SETTINGS_RAW = text(
    "SELECT id, open_time, close_time, off_days, slot_minutes, timezone, horizon_days, "
    "closed_dates, updated_at FROM business_settings WHERE is_active"
)
_CUSTOMER_BY_PHONE = select(tables.customers).where(tables.customers.c.phone == bindparam("phone"))
_INSERT_CUSTOMER = {
    name: (
        insert(tables.customers)
        .on_conflict_do_nothing(index_elements=[tables.customers.c.phone])
        .returning(*tables.customers.c)
    )
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_SLOT_TAKEN = (
    select(tables.bookings.c.id)
    .where(
        tables.bookings.c.starts_at == bindparam("starts_at"),
        tables.ACTIVE_BOOKING,
    )
    .limit(1)
)
_ACTIVE_STARTS_BETWEEN = select(tables.bookings.c.starts_at).where(
    tables.bookings.c.starts_at >= bindparam("start"),
    tables.bookings.c.starts_at < bindparam("end"),
    tables.ACTIVE_BOOKING,
)
_INSERT_BOOKING = tables.bookings.insert().returning(tables.bookings.c.id)
_INSERT_EVENT = tables.events.insert().returning(tables.events.c.event_id)
#: PostgreSQL: take the outbox lock, insert, and queue the NOTIFY in one round trip, because
#: the lock is held from here to the commit and every round trip under it serialises appenders.
#: The insert draws its row from the lock's CTE, so the id is drawn only once the lock is held.
_APPEND_EVENT_POSTGRES = text(
    "WITH outbox_lock AS (SELECT pg_advisory_xact_lock(:lock_key)), "
    "appended AS ("
    "INSERT INTO events (type, payload, occurred_at) "
    "SELECT :type, :payload, :occurred_at FROM outbox_lock RETURNING event_id) "
    "SELECT event_id, pg_notify(:channel, event_id::text) FROM appended"
).bindparams(
    bindparam("lock_key", type_=BigInteger),
    bindparam("type", type_=String),
    bindparam("payload", type_=Text),
    bindparam("occurred_at", type_=DateTime(timezone=True)),
    bindparam("channel", type_=String),
)
_EVENTS_AFTER = (
    select(tables.events)
    .where(tables.events.c.event_id > bindparam("after"))
    .order_by(tables.events.c.event_id)
    .limit(bindparam("limit"))
)


def settings_to_row(settings: BusinessSettings) -> dict[str, Any]:
    return {
        "open_time": time_to_db(settings.open_time),
        "close_time": time_to_db(settings.close_time),
        "off_days": ",".join(str(day) for day in sorted(settings.off_days)),
        "slot_minutes": settings.slot_minutes,
        "timezone": settings.timezone,
        "horizon_days": settings.horizon_days,
        "closed_dates": ",".join(day.isoformat() for day in sorted(settings.closed_dates)),
    }


def _settings_from_row(row: Row[Any]) -> BusinessSettings:
    return BusinessSettings(
        open_time=time_from_db(row.open_time),
        close_time=time_from_db(row.close_time),
        off_days=frozenset(int(day) for day in row.off_days.split(",") if day),
        slot_minutes=row.slot_minutes,
        timezone=row.timezone,
        horizon_days=row.horizon_days,
        closed_dates=frozenset(
            pendulum.Date(*map(int, day.split("-"))) for day in row.closed_dates.split(",") if day
        ),
    )


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


class SqlSettingsRepository:
    def __init__(self, statements: Statements, cache: SettingsCache | None = None) -> None:
        self._statements = statements
        self._connection = statements.connection
        self._cache = cache or SettingsCache()

    async def get_active(self) -> BusinessSettings | None:
        raw = await self._statements.fetch(_ACTIVE_SETTINGS_RAW)
        if not raw:
            return None
        cache = self._cache
        row = tuple(raw[0])
        if cache.row != row or cache.settings is None:
            typed = await self._statements.fetch(_ACTIVE_SETTINGS)
            if not typed:  # pragma: no cover - read in the same transaction as the raw row
                return None
            cache.settings, cache.row = _settings_from_row(typed[0]), row
        return cache.settings

    async def save(self, settings: BusinessSettings) -> None:
        values = settings_to_row(settings) | {"updated_at": instant_to_db(pendulum.now("UTC"))}
        table = tables.business_settings
        result = await self._connection.execute(
            update(table).where(table.c.is_active).values(**values)
        )
        if result.rowcount == 0:
            await self._connection.execute(table.insert().values(is_active=True, **values))


def _customer_from_row(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        gender=row.gender,
        country=row.country,
        is_active=row.is_active,
        created_at=instant_from_db(row.created_at),
    )


class SqlCustomerRepository:
    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._connection = statements.connection

    async def get_by_phone(self, phone: str) -> Customer | None:
        rows = await self._statements.fetch(_CUSTOMER_BY_PHONE, {"phone": phone})
        return _customer_from_row(rows[0]) if rows else None

    async def get(self, customer_id: int) -> Customer | None:
        return await self._one(tables.customers.c.id == customer_id)

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
        values = {
            "phone": profile.phone,
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "email": profile.email,
            "gender": profile.gender,
            "country": profile.country,
            "password_hash": password_hash,
            "is_active": True,
            "created_at": instant_to_db(now),
        }
        statement = _INSERT_CUSTOMER[self._statements.dialect.name]
        rows = await self._statements.fetch(statement, values)
        if rows:
            return _customer_from_row(rows[0]), True
        existing = await self.get_by_phone(profile.phone)
        if existing is None:  # pragma: no cover - the conflicting row was committed
            msg = f"customer {profile.phone!r} conflicted but cannot be read"
            raise RuntimeError(msg)
        return existing, False

    async def _one(self, condition: Any) -> Customer | None:
        row = (await self._connection.execute(select(tables.customers).where(condition))).first()
        return None if row is None else _customer_from_row(row)


def _booking_from_row(row: Row[Any]) -> Booking:
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
    )


def _is_active_slot_violation(error: IntegrityError) -> bool:
    text = str(error.orig)
    return tables.ACTIVE_SLOT_INDEX in text or "bookings.starts_at" in text


class SqlBookingRepository:
    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._connection = statements.connection

    async def slot_is_taken(self, starts_at: pendulum.DateTime) -> bool:
        rows = await self._statements.fetch(_SLOT_TAKEN, {"starts_at": instant_to_db(starts_at)})
        return bool(rows)

    async def add(self, booking: NewBooking) -> Booking:
        values = {
            "customer_id": booking.customer_id,
            "service_name": booking.service_name,
            "booking_date": date_to_db(booking.booking_date),
            "booking_time": time_to_db(booking.booking_time),
            "starts_at": instant_to_db(booking.starts_at),
            "status": booking.status.value,
            "notes": booking.notes,
            "created_at": instant_to_db(booking.created_at),
        }
        try:
            booking_id = (await self._statements.fetch(_INSERT_BOOKING, values))[0].id
        except IntegrityError as error:
            if _is_active_slot_violation(error):
                raise SlotTaken from error
            raise
        return Booking(
            id=booking_id,
            customer_id=booking.customer_id,
            service_name=booking.service_name,
            booking_date=booking.booking_date,
            booking_time=booking.booking_time,
            starts_at=booking.starts_at,
            status=booking.status,
            notes=booking.notes,
            created_at=booking.created_at,
        )

    async def get(self, booking_id: int) -> Booking | None:
        statement = select(tables.bookings).where(tables.bookings.c.id == booking_id)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _booking_from_row(row)

    async def active_starts_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> set[pendulum.DateTime]:
        values = {"start": instant_to_db(start), "end": instant_to_db(end)}
        rows = await self._connection.scalars(_ACTIVE_STARTS_BETWEEN, values)
        return {instant_from_db(value) for value in rows}

    async def set_status(self, booking_id: int, status: BookingStatus) -> Booking | None:
        bookings = tables.bookings
        statement = (
            update(bookings)
            .where(bookings.c.id == booking_id)
            .values(status=status.value)
            .returning(*bookings.c)
        )
        try:
            row = (await self._connection.execute(statement)).first()
        except IntegrityError as error:
            if _is_active_slot_violation(error):
                raise SlotTaken from error
            raise
        return None if row is None else _booking_from_row(row)

    async def recent(self, limit: int) -> Sequence[tuple[Booking, Customer]]:
        statement = _with_customers().order_by(tables.bookings.c.id.desc()).limit(limit)
        return await self._pairs(statement)

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
        total = (await self._connection.execute(count)).scalar_one()
        return BookingPage(tuple(await self._pairs(statement)), total)

    async def _pairs(self, statement: Any) -> list[tuple[Booking, Customer]]:
        return [
            (_booking_from_row(row), _customer_from_prefixed_row(row))
            for row in await self._connection.execute(statement)
        ]


def _with_customers() -> Any:
    bookings, customers = tables.bookings, tables.customers
    return select(bookings, *[column.label(f"c__{column.name}") for column in customers.c]).join(
        customers, customers.c.id == bookings.c.customer_id
    )


def _customer_from_prefixed_row(row: Row[Any]) -> Customer:
    values = row._mapping
    return Customer(
        id=values["c__id"],
        phone=values["c__phone"],
        first_name=values["c__first_name"],
        last_name=values["c__last_name"],
        email=values["c__email"],
        gender=values["c__gender"],
        country=values["c__country"],
        is_active=values["c__is_active"],
        created_at=instant_from_db(values["c__created_at"]),
    )


def _event_from_row(row: Row[Any]) -> StoredEvent:
    return StoredEvent(
        event_id=row.event_id,
        type=row.type,
        payload=_decode_json(row.payload),
        occurred_at=instant_from_db(row.occurred_at),
    )


class SqlEventOutbox:
    """The transactional outbox.

    Readers tail it with ``event_id > last_seen``, which is only safe if ids become visible in
    id order. SQLite has one writer at a time, so that holds. On PostgreSQL sequence values are
    handed out before commit, so appends take a transaction-scoped advisory lock: the next
    appender waits until this transaction has committed, and ids commit in order. The append
    also queues a ``NOTIFY``, which PostgreSQL delivers only if and when the transaction commits,
    so other processes' tailers wake for committed events only.
    """

    def __init__(self, statements: Statements) -> None:
        self._statements = statements
        self._connection = statements.connection

    async def append(self, event: DomainEvent) -> StoredEvent:
        values = {
            "type": event.type,
            "payload": _encode_json(event.payload).decode(),
            "occurred_at": instant_to_db(event.occurred_at),
        }
        if self._statements.dialect.name == "postgresql":
            values |= {"lock_key": OUTBOX_LOCK_KEY, "channel": EVENTS_CHANNEL}
            event_id = int((await self._statements.fetch(_APPEND_EVENT_POSTGRES, values))[0][0])
        else:
            event_id = (await self._statements.fetch(_INSERT_EVENT, values))[0].event_id
        return StoredEvent(event_id, event.type, event.payload, event.occurred_at)

    async def latest_id(self) -> int:
        statement = select(func.coalesce(func.max(tables.events.c.event_id), 0))
        return int((await self._connection.execute(statement)).scalar_one())

    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        rows = await self._connection.execute(_EVENTS_AFTER, {"after": event_id, "limit": limit})
        return [_event_from_row(row) for row in rows]
