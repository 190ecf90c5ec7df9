"""In-memory adapters with real behaviour: for unit tests and for library users.

Transactions are real too: a unit of work works on a private copy of the store and publishes it
on commit, and units of work run one at a time (like SQLite's ``BEGIN IMMEDIATE``), so the
"storage decides races" guarantees of the SQL adapters hold here as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import attrs
import pendulum

from agent_booking.core.entities import (
    ACTIVE_STATUSES,
    Booking,
    BookingMove,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from agent_booking.core.errors import ServiceNameTaken, SlotTaken
from agent_booking.core.events import DomainEvent, JsonObject, StoredEvent
from agent_booking.core.occupancy import Occupant, OccupiedInterval
from agent_booking.core.ports import ClaimOutcome, IdempotencyClaim
from agent_booking.core.queries import BookingPage, BookingQuery
from agent_booking.core.resources import Catalog, OpenInterval, Resource, Service, WeeklyPlan
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "InMemoryNotifier",
    "InMemoryStore",
    "InMemoryUnitOfWork",
]


@attrs.frozen
class _KeyRecord:
    fingerprint: str
    created_at: pendulum.DateTime
    locked_until: pendulum.DateTime
    status_code: int | None = None
    body: JsonObject | None = None


@attrs.define
class _State:
    settings: BusinessSettings | None = None
    customers: dict[int, Customer] = attrs.field(factory=dict)
    bookings: dict[int, Booking] = attrs.field(factory=dict)
    events: list[StoredEvent] = attrs.field(factory=list)
    keys: dict[str, _KeyRecord] = attrs.field(factory=dict)
    #: None: one resource (id 1) working the settings' hours, as a fresh migration leaves it.
    catalog: Catalog | None = None

    def copy(self) -> _State:
        return _State(
            self.settings,
            dict(self.customers),
            dict(self.bookings),
            list(self.events),
            dict(self.keys),
            self.catalog,
        )


class InMemoryStore:
    """The committed state, shared by the units of work made from it."""

    def __init__(
        self, settings: BusinessSettings | None = None, catalog: Catalog | None = None
    ) -> None:
        self.state = _State(settings=settings, catalog=catalog)
        self.lock = asyncio.Lock()

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    # Read helpers for tests and simulations (committed state only).
    @property
    def customers(self) -> list[Customer]:
        return list(self.state.customers.values())

    @property
    def bookings(self) -> list[Booking]:
        return list(self.state.bookings.values())

    @property
    def events(self) -> list[StoredEvent]:
        return list(self.state.events)


class _Settings:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def get_active(self) -> BusinessSettings | None:
        return self._state.settings

    async def save(
        self,
        settings: BusinessSettings,
        *,
        now: pendulum.DateTime,  # noqa: ARG002 - nothing here records when settings changed
    ) -> None:
        self._state.settings = settings


class _Catalog:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def get_active(self, settings: BusinessSettings) -> Catalog:
        return self._state.catalog or Catalog.single(settings)

    def _current(self) -> Catalog:
        if self._state.catalog is not None:
            return self._state.catalog
        if self._state.settings is None:
            raise RuntimeError("the in-memory store has neither a catalog nor settings")
        return Catalog.single(self._state.settings)

    def _with_resources(self, resources: list[Resource]) -> None:
        self._state.catalog = attrs.evolve(self._current(), resources=resources)

    async def add_resource(
        self,
        name: str,
        *,
        now: pendulum.DateTime,  # noqa: ARG002 - nothing here records when it was added
    ) -> int:
        resources = list(self._current().resources)
        resource_id = max((item.id for item in resources), default=0) + 1
        self._with_resources([*resources, Resource(resource_id, name, WeeklyPlan({}))])
        return resource_id

    async def change_resource(self, resource_id: int, *, name: str, active: bool) -> None:
        self._with_resources(
            [
                attrs.evolve(item, name=name, active=active) if item.id == resource_id else item
                for item in self._current().resources
            ]
        )

    async def replace_plan(self, resource_id: int, plan: WeeklyPlan) -> None:
        self._with_resources(
            [
                attrs.evolve(item, plan=plan, follows_business_hours=False)
                if item.id == resource_id
                else item
                for item in self._current().resources
            ]
        )

    async def set_exception(
        self, resource_id: int, day: pendulum.Date, intervals: tuple[OpenInterval, ...]
    ) -> None:
        self._with_resources(
            [
                attrs.evolve(item, exceptions={**item.exceptions, day: intervals})
                if item.id == resource_id
                else item
                for item in self._current().resources
            ]
        )

    async def remove_exception(self, resource_id: int, day: pendulum.Date) -> None:
        self._with_resources(
            [
                attrs.evolve(
                    item, exceptions={k: v for k, v in item.exceptions.items() if k != day}
                )
                if item.id == resource_id
                else item
                for item in self._current().resources
            ]
        )

    async def add_service(self, service: Service) -> int:
        services = list(self._current().services)
        service_id = max((item.id or 0 for item in services), default=0) + 1
        self._with_services([*services, attrs.evolve(service, id=service_id)])
        return service_id

    async def change_service(self, service: Service) -> None:
        self._with_services(
            [service if item.id == service.id else item for item in self._current().services]
        )

    def _with_services(self, services: list[Service]) -> None:
        """As the SQL stores' unique index on the case-folded name: a taken name is refused."""
        keys = [item.key for item in services]
        if len(keys) != len(set(keys)):
            raise ServiceNameTaken
        self._state.catalog = attrs.evolve(self._current(), services=services)


class _Customers:
    def __init__(self, state: _State) -> None:
        self._state = state

    def _by_phone(self, phone: str) -> Customer | None:
        return next((c for c in self._state.customers.values() if c.phone == phone), None)

    async def get(self, customer_id: int) -> Customer | None:
        return self._state.customers.get(customer_id)

    async def get_or_create(
        self, profile: CustomerProfile, password_hash: str, now: pendulum.DateTime
    ) -> tuple[Customer, bool]:
        del password_hash  # kept by the SQL adapter; nothing here reads it
        if existing := self._by_phone(profile.phone):
            return existing, False
        customer = Customer(
            id=len(self._state.customers) + 1,
            phone=profile.phone,
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            gender=profile.gender,
            country=profile.country,
            is_active=True,
            created_at=now,
        )
        self._state.customers[customer.id] = customer
        return customer, True


class _Bookings:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def lock_intervals(self, intervals: Sequence[OccupiedInterval]) -> None:
        """Units of work run one at a time here: every interval is held already."""

    async def is_occupied(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> bool:
        return any(
            b.is_active
            and b.resource_id == resource_id
            and b.occupied_from < end
            and b.occupied_until > begin
            for b in self._state.bookings.values()
        )

    async def occupant(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> Occupant | None:
        found = [
            b
            for b in self._state.bookings.values()
            if b.is_active
            and b.resource_id == resource_id
            and b.occupied_from < end
            and b.occupied_until > begin
        ]
        if not found:
            return None
        last = max(found, key=lambda b: b.occupied_from)
        return Occupant(
            last.id, last.hold_expires_at if last.status is BookingStatus.HELD else None
        )

    async def occupied_between(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        now: pendulum.DateTime | None = None,
    ) -> list[OccupiedInterval]:
        return [
            (b.resource_id, b.occupied_from, b.occupied_until)
            for b in self._state.bookings.values()
            if b.is_active
            and b.occupied_from < end
            and b.occupied_until > start
            and (now is None or not b.hold_has_expired(now))
        ]

    async def active_counts_on(self, day: pendulum.Date) -> dict[int, int]:
        counts: dict[int, int] = {}
        for b in self._state.bookings.values():
            if b.is_active and b.booking_date == day:
                counts[b.resource_id] = counts.get(b.resource_id, 0) + 1
        return counts

    async def add(self, booking: NewBooking) -> Booking:
        # What the database's no-overlap constraint (or trigger) does in SQL.
        if booking.status in ACTIVE_STATUSES and await self.is_occupied(
            booking.resource_id, booking.occupied_from, booking.occupied_until
        ):
            raise SlotTaken
        stored = booking.stored_as(len(self._state.bookings) + 1)
        self._state.bookings[stored.id] = stored
        return stored

    async def get(self, booking_id: int) -> Booking | None:
        return self._state.bookings.get(booking_id)

    async def active_starts_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> set[pendulum.DateTime]:
        return {
            b.starts_at
            for b in self._state.bookings.values()
            if b.is_active and start <= b.starts_at < end
        }

    async def count_open_after(self, customer_id: int, after: pendulum.DateTime) -> int:
        # Units of work run one at a time, so the count holds until the commit by itself.
        return sum(
            1
            for b in self._state.bookings.values()
            if b.customer_id == customer_id and b.is_open and b.starts_at > after
        )

    async def move(self, booking_id: int, move: BookingMove) -> Booking | None:
        booking = self._state.bookings.get(booking_id)
        if booking is None or not booking.is_open:
            return None
        # What the database's constraint (or update trigger) does: every other active booking.
        if any(
            other.id != booking_id
            and other.is_active
            and other.resource_id == move.resource_id
            and other.occupied_from < move.occupied_until
            and other.occupied_until > move.occupied_from
            for other in self._state.bookings.values()
        ):
            raise SlotTaken
        updated = attrs.evolve(booking, **attrs.asdict(move, recurse=False))
        self._state.bookings[booking_id] = updated
        return updated

    async def count_live_holds(self, customer_id: int, now: pendulum.DateTime) -> int:
        return sum(
            1
            for b in self._state.bookings.values()
            if b.customer_id == customer_id and b.is_live_hold(now)
        )

    def _change(self, booking: Booking, **changes: object) -> Booking:
        updated = attrs.evolve(booking, **changes)  # type: ignore[arg-type]
        self._state.bookings[booking.id] = updated
        return updated

    async def expire_hold(self, booking_id: int, now: pendulum.DateTime) -> Booking | None:
        booking = self._state.bookings.get(booking_id)
        if booking is None or not booking.hold_has_expired(now):
            return None
        return self._change(booking, status=BookingStatus.EXPIRED)

    async def expire_holds(self, now: pendulum.DateTime) -> list[Booking]:
        return [
            self._change(b, status=BookingStatus.EXPIRED)
            for b in list(self._state.bookings.values())
            if b.hold_has_expired(now)
        ]

    async def confirm_hold(
        self, booking_id: int, status: BookingStatus, now: pendulum.DateTime
    ) -> Booking | None:
        booking = self._state.bookings.get(booking_id)
        if booking is None or not booking.is_live_hold(now):
            return None
        return self._change(booking, status=status, hold_expires_at=None)

    async def release_hold(self, booking_id: int) -> Booking | None:
        booking = self._state.bookings.get(booking_id)
        if booking is None or booking.status is not BookingStatus.HELD:
            return None
        return self._change(booking, status=BookingStatus.RELEASED)

    async def set_status(self, booking_id: int, status: BookingStatus) -> Booking | None:
        booking = self._state.bookings.get(booking_id)
        if booking is None or booking.status is status:
            return None
        reactivating = status in ACTIVE_STATUSES and not booking.is_active
        if reactivating and await self.is_occupied(
            booking.resource_id, booking.occupied_from, booking.occupied_until
        ):
            raise SlotTaken
        updated = attrs.evolve(booking, status=status)
        self._state.bookings[booking_id] = updated
        return updated


class _BookingQueries:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def search(self, query: BookingQuery) -> BookingPage:
        matches = sorted(
            (
                b
                for b in self._state.bookings.values()
                if (query.date_from is None or b.booking_date >= query.date_from)
                and (query.date_to is None or b.booking_date <= query.date_to)
                and (query.statuses is None or b.status in query.statuses)
                and (
                    query.phone is None or self._state.customers[b.customer_id].phone == query.phone
                )
            ),
            key=lambda b: (b.starts_at, b.id),
        )
        page = matches[query.offset : query.offset + query.limit]
        return BookingPage(
            tuple((b, self._state.customers[b.customer_id]) for b in page), len(matches)
        )

    async def recent(self, limit: int) -> Sequence[tuple[Booking, Customer]]:
        newest = sorted(self._state.bookings.values(), key=lambda b: b.id, reverse=True)[:limit]
        return [(b, self._state.customers[b.customer_id]) for b in newest]


class _Events:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def append(self, event: DomainEvent) -> StoredEvent:
        stored = StoredEvent(
            len(self._state.events) + 1, event.type, event.payload, event.occurred_at
        )
        self._state.events.append(stored)
        return stored

    async def after(self, event_id: int, limit: int) -> Sequence[StoredEvent]:
        return [e for e in self._state.events if e.event_id > event_id][:limit]

    async def latest_id(self) -> int:
        return self._state.events[-1].event_id if self._state.events else 0


class _IdempotencyKeys:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def claim(
        self,
        key: str,
        fingerprint: str,
        *,
        now: pendulum.DateTime,
        lease_until: pendulum.DateTime,
        expired_before: pendulum.DateTime,
    ) -> IdempotencyClaim:
        record = self._state.keys.get(key)
        if record is not None and record.created_at < expired_before:
            record = None
        if record is None:
            self._state.keys[key] = _KeyRecord(fingerprint, now, lease_until)
            return IdempotencyClaim(ClaimOutcome.NEW)
        if record.fingerprint != fingerprint:
            return IdempotencyClaim(ClaimOutcome.MISMATCH)
        if record.status_code is not None:
            return IdempotencyClaim(ClaimOutcome.REPLAY, record.status_code, record.body)
        if record.locked_until < now:
            self._state.keys[key] = attrs.evolve(record, locked_until=lease_until)
            return IdempotencyClaim(ClaimOutcome.NEW)
        return IdempotencyClaim(ClaimOutcome.IN_PROGRESS)

    async def complete(self, key: str, status_code: int, body: JsonObject) -> None:
        self._state.keys[key] = attrs.evolve(
            self._state.keys[key], status_code=status_code, body=body
        )

    async def release(self, key: str) -> None:
        record = self._state.keys.get(key)
        if record is not None and record.status_code is None:  # only unfinished claims
            del self._state.keys[key]


class InMemoryUnitOfWork:
    """One transaction over an :class:`InMemoryStore`; rolls back unless committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._state = store.state.copy()
        self._bind(self._state)

    def _bind(self, state: _State) -> None:
        self.settings = _Settings(state)
        self.catalog = _Catalog(state)
        self.customers = _Customers(state)
        self.bookings = _Bookings(state)
        self.queries = _BookingQueries(state)
        self.events = _Events(state)
        self.idempotency = _IdempotencyKeys(state)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        self._state = self._store.state.copy()
        self._bind(self._state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._store.lock.release()

    async def commit(self) -> None:
        self._store.state = self._state
        self._state = self._state.copy()
        self._bind(self._state)

    async def rollback(self) -> None:
        self._state = self._store.state.copy()
        self._bind(self._state)


class InMemoryNotifier:
    """Records what it was asked to publish, in order."""

    def __init__(self) -> None:
        self.sent: list[StoredEvent] = []

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        self.sent.extend(events)
