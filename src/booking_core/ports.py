"""What the core needs from the outside world, as structural protocols.

Adapters satisfy these without inheriting from them. A unit of work is one transaction: it rolls
back unless :meth:`UnitOfWork.commit` is called, and the repositories it exposes act inside it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self

import pendulum
from attrs import frozen

from agent_booking.core.entities import (
    Booking,
    BookingMove,
    BookingStatus,
    Customer,
    CustomerProfile,
    NewBooking,
)
from agent_booking.core.events import DomainEvent, JsonObject, StoredEvent
from agent_booking.core.occupancy import Occupant, OccupiedInterval
from agent_booking.core.queries import BookingPage, BookingQuery
from agent_booking.core.resources import Catalog, OpenInterval, Service, WeeklyPlan
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "BookingQueries",
    "BookingRepository",
    "CatalogRepository",
    "ClaimOutcome",
    "Clock",
    "CustomerRepository",
    "EventOutbox",
    "IdempotencyClaim",
    "IdempotencyStore",
    "Notifier",
    "SettingsRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


class Clock(Protocol):
    def now(self) -> pendulum.DateTime:
        """The current instant (aware)."""
        ...


class SettingsRepository(Protocol):
    async def get_active(self) -> BusinessSettings | None: ...

    async def save(self, settings: BusinessSettings, *, now: pendulum.DateTime) -> None:
        """Replace the active settings (creating them if there are none), changed at ``now``."""
        ...


class CatalogRepository(Protocol):
    async def get_active(self, settings: BusinessSettings) -> Catalog:
        """The resources (with their plans and exceptions) and services, as of this unit of
        work. ``settings`` are the active settings this unit read: a resource that follows the
        business hours works theirs."""
        ...

    # The admin's changes. Each one makes every process read the catalog again.

    async def add_resource(self, name: str, *, now: pendulum.DateTime) -> int:
        """Store a new active resource without working hours; its id."""
        ...

    async def change_resource(self, resource_id: int, *, name: str, active: bool) -> None: ...

    async def replace_plan(self, resource_id: int, plan: WeeklyPlan) -> None:
        """Replace the resource's weekly plan (it no longer follows the business hours)."""
        ...

    async def set_exception(
        self, resource_id: int, day: pendulum.Date, intervals: tuple[OpenInterval, ...]
    ) -> None:
        """Replace the resource's exception on ``day`` (no intervals: closed that day)."""
        ...

    async def remove_exception(self, resource_id: int, day: pendulum.Date) -> None:
        """Drop the resource's exception on ``day``, if any: the weekly plan applies again."""
        ...

    async def add_service(self, service: Service) -> int:
        """Store a new catalog service (its ``id`` is ignored) with its performers; its id.
        Raise :class:`~agent_booking.core.errors.ServiceNameTaken` if storage refuses the name
        because another service has it case-insensitively (the storage decides races)."""
        ...

    async def change_service(self, service: Service) -> None:
        """Replace the stored service ``service.id`` (every field, its performers too), with
        the same refusal of a name another service has."""
        ...


class CustomerRepository(Protocol):
    async def get(self, customer_id: int) -> Customer | None: ...

    async def get_or_create(
        self, profile: CustomerProfile, password_hash: str, now: pendulum.DateTime
    ) -> tuple[Customer, bool]:
        """The customer with ``profile.phone``, created from ``profile`` if new.

        Existing customers are returned unchanged. Safe under concurrency: two transactions
        creating the same phone end with one customer. The flag is True when this call created it.
        """
        ...


class BookingRepository(Protocol):
    async def lock_intervals(self, intervals: Sequence[OccupiedInterval]) -> None:
        """Hold these ``(resource id, begin, end)`` intervals until the transaction ends:
        transactions placing bookings in overlapping intervals of one resource take turns, and
        a check of the intervals made after this call stays true until the commit. All of a
        transaction's intervals in one call where it can: the storage takes them in one
        order, so two transactions never wait for each other crosswise."""
        ...

    async def is_occupied(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> bool:
        """Whether an active booking of the resource occupies part of ``[begin, end)``
        (a hold counts until it is marked ``expired``, as it does for the storage)."""
        ...

    async def occupant(
        self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime
    ) -> Occupant | None:
        """An active booking of the resource that occupies part of ``[begin, end)``, if any
        (the one starting last): :meth:`is_occupied` that also says whether it is a hold."""
        ...

    async def occupied_between(
        self,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        *,
        now: pendulum.DateTime | None = None,
    ) -> list[OccupiedInterval]:
        """``(resource_id, occupied_from, occupied_until)`` of every active booking whose
        occupied interval overlaps ``[start, end)``; with ``now``, without the holds whose
        time is up at ``now`` (what a reader should treat as taken)."""
        ...

    async def active_counts_on(self, day: pendulum.Date) -> dict[int, int]:
        """Active bookings per resource id on the local date ``day`` (for assignment)."""
        ...

    async def add(self, booking: NewBooking) -> Booking:
        """Store a booking; raise :class:`~agent_booking.core.errors.SlotTaken` if storage refuses
        it because its occupied interval overlaps another active booking of its resource (the
        storage decides races)."""
        ...

    async def get(self, booking_id: int) -> Booking | None: ...

    async def active_starts_between(
        self, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> set[pendulum.DateTime]:
        """UTC start instants of active bookings with ``start <= starts_at < end``."""
        ...

    async def set_status(self, booking_id: int, status: BookingStatus) -> Booking | None:
        """The booking with its new status; ``None`` if there is no such booking or it already
        has ``status``, also when a concurrent transaction set it first (so of two concurrent
        cancellations only one gets the booking back)."""
        ...

    async def move(self, booking_id: int, move: BookingMove) -> Booking | None:
        """The booking at its new start, on its new resource, over its new occupied interval,
        changed in one statement; ``None`` if it is not open (upcoming or pending), also when
        a concurrent transaction changed its status first. Raise
        :class:`~agent_booking.core.errors.SlotTaken` if storage refuses the new interval
        because it overlaps another active booking of the resource (the storage decides races;
        the booking's own old interval never counts against it)."""
        ...

    async def count_live_holds(self, customer_id: int, now: pendulum.DateTime) -> int:
        """How many holds of this customer still keep their start at ``now``; true until
        the transaction ends, as :meth:`count_open_after` (the customer is held)."""
        ...

    async def expire_hold(self, booking_id: int, now: pendulum.DateTime) -> Booking | None:
        """Mark the hold ``expired`` if its time is up at ``now``; the booking, or None when
        it is not such a hold (also when a concurrent transaction marked it first)."""
        ...

    async def expire_holds(self, now: pendulum.DateTime) -> list[Booking]:
        """Mark every hold whose time is up at ``now`` ``expired``; the ones this call marked
        (of concurrent sweeps, each hold is marked by exactly one)."""
        ...

    async def confirm_hold(
        self, booking_id: int, status: BookingStatus, now: pendulum.DateTime
    ) -> Booking | None:
        """Turn a live hold (at ``now``) into a booking in ``status``, its expiry cleared; None
        when it is not a live hold (also when a concurrent transaction changed it first)."""
        ...

    async def release_hold(self, booking_id: int) -> Booking | None:
        """Mark a hold ``released``; None when it is not a hold (or no longer one)."""
        ...

    async def count_open_after(self, customer_id: int, after: pendulum.DateTime) -> int:
        """How many open (upcoming or pending) bookings of this customer start after ``after``.

        The count stays true until the transaction ends: transactions counting for the same
        customer take turns (the storage holds the customer from the count to the end of the
        transaction), so each one sees the bookings of those before it, committed.
        """
        ...


class BookingQueries(Protocol):
    """The read side's listings (admin pages, dashboards), apart from the write path's port."""

    async def recent(self, limit: int) -> Sequence[tuple[Booking, Customer]]:
        """The newest bookings (by id, newest first) with their customers."""
        ...

    async def search(self, query: BookingQuery) -> BookingPage: ...


class EventOutbox(Protocol):
    """Where the use cases record what happened (reading the feed back is the relays' business,
    not the core's: see the adapters' ``EventLog``)."""

    async def append(self, event: DomainEvent) -> StoredEvent:
        """Store an event in the current transaction; ids grow in commit order."""
        ...


class ClaimOutcome(enum.Enum):
    NEW = "new"  # this request owns the key: run it
    REPLAY = "replay"  # a recorded outcome exists: answer with it
    MISMATCH = "mismatch"  # the key was used with another body
    IN_PROGRESS = "in_progress"  # another request with this key is running


@frozen
class IdempotencyClaim:
    """What :meth:`IdempotencyStore.claim` found: with ``REPLAY``, the recorded outcome."""

    outcome: ClaimOutcome
    status_code: int | None = None
    body: JsonObject | None = None


class IdempotencyStore(Protocol):
    async def claim(
        self,
        key: str,
        fingerprint: str,
        *,
        now: pendulum.DateTime,
        lease_until: pendulum.DateTime,
        expired_before: pendulum.DateTime,
    ) -> IdempotencyClaim:
        """Claim ``key`` (NEW) unless it holds a live claim or an outcome.

        A record created before ``expired_before`` is forgotten first; an unfinished claim whose
        lease ended before ``now`` is taken over (NEW). Otherwise: MISMATCH if ``fingerprint``
        differs, REPLAY with the recorded outcome, or IN_PROGRESS. Safe under concurrency: of
        racing claims for one key, exactly one is NEW.
        """
        ...

    async def complete(self, key: str, status_code: int, body: JsonObject) -> None: ...

    async def release(self, key: str) -> None: ...


class UnitOfWork(Protocol):
    @property
    def settings(self) -> SettingsRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def bookings(self) -> BookingRepository: ...

    @property
    def queries(self) -> BookingQueries: ...

    @property
    def events(self) -> EventOutbox: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class Notifier(Protocol):
    async def publish(self, events: Sequence[StoredEvent]) -> None:
        """Announce events that are already committed. Must not block on slow listeners."""
        ...
