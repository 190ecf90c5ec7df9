"""The agent booking use case: apply the policy to a validated request, store, then announce.

Everything that must be atomic happens in one unit of work: the customer (if new), the booking,
the outcome recorded under an idempotency key (if any) and the ``booking_created`` outbox event.
Only after the commit is the notifier asked to publish, so no listener ever hears of a booking
that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pendulum
from attrs import frozen

from agent_booking.core.alternatives import nearest_alternatives
from agent_booking.core.entities import Booking, BookingStatus, Customer, NewBooking
from agent_booking.core.errors import (
    NotASlotStart,
    NoticeTooShort,
    OutsideWorkingHours,
    SettingsMissing,
    SlotSuggestion,
    SlotTaken,
    TooManyBookings,
    TooManyHolds,
    TransientConflict,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.events import (
    BOOKING_CREATED,
    BOOKING_HELD,
    DomainEvent,
    JsonObject,
    StoredEvent,
    booking_event_payload,
)
from agent_booking.core.holds import EXPIRED, HoldTerms, append_hold_released, free_interval
from agent_booking.core.instants import as_utc
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.passwords import UNUSABLE_PASSWORD
from agent_booking.core.placement import Placement
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.request import BookingRequest
from agent_booking.core.resources import REJECT_UNKNOWN, Catalog, Resource, Service
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "TRANSIENT_ATTEMPTS",
    "AgentBookingResult",
    "CreateAgentBooking",
    "IdempotentSuccess",
    "RenderedOutcome",
    "ResourceChoice",
    "candidates_for",
    "service_for",
]

#: How often a transaction that storage aborted as retryable (deadlock, serialization failure)
#: is run again before the caller gets the error. A slot-taken conflict is never retried.
TRANSIENT_ATTEMPTS = 3

#: An outcome as a caller records it under an idempotency key: a status code and a JSON body.
#: Opaque to the core, which only stores it; what the numbers and keys mean is the caller's.
RenderedOutcome = tuple[int, JsonObject]


@frozen
class AgentBookingResult:
    booking: Booking
    customer: Customer
    customer_created: bool
    event: StoredEvent
    placement: Placement
    #: Events written besides ``event``: holds in the way whose time was up, marked expired.
    released: tuple[StoredEvent, ...] = ()


@frozen
class IdempotentSuccess:
    """An idempotency key the caller already claimed, and how the caller answers a success.

    The success is recorded under ``key`` inside the booking's own transaction, so a retry can
    never find a booking without its recorded answer; ``render`` turns the booked customer and
    booking into that answer (``customer_created`` says whether the phone was new), so the
    answer's shape stays with the caller (the HTTP layer) and out of the core. The
    :class:`Placement` says which resource and service the booking went to.
    """

    key: str
    render: Callable[[Booking, Customer, bool, Placement], RenderedOutcome]


class CreateAgentBooking:
    """Create a booking for a customer identified by phone, creating the customer if new.

    ``max_open_bookings`` is the most open (upcoming or pending) future bookings one customer
    may hold; one more is refused with :class:`TooManyBookings`. It is an abuse limit, not a
    business rule, so the operator sets it where the use case is composed (the service: from
    ``BOOKING_MAX_ACTIVE_PER_PHONE``); 0, the default here, means no limit.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notifier: Notifier,
        *,
        initial_password_hash: str | None = None,
        reads: UnitOfWorkFactory | None = None,
        max_open_bookings: int = 0,
    ) -> None:
        if max_open_bookings < 0:
            msg = f"max_open_bookings must be 0 (no limit) or more, got {max_open_bookings}"
            raise ValueError(msg)
        self._uow = uow
        self._reads = reads or uow
        self._clock = clock
        self._notifier = notifier
        self._password_hash = initial_password_hash or UNUSABLE_PASSWORD
        self._max_open = max_open_bookings

    async def __call__(
        self,
        request: BookingRequest,
        *,
        idempotency: IdempotentSuccess | None = None,
        hold: HoldTerms | None = None,
    ) -> AgentBookingResult:
        """Book ``request``; raise a :class:`~agent_booking.core.errors.BookingError` if refused.

        Build ``request`` with :meth:`BookingRequest.from_mapping` from a raw body (the
        validation messages are the core's), or with its constructor from typed values. With
        ``idempotency`` (a key already claimed, see :mod:`agent_booking.core.idempotency`), the
        success is recorded under the key in the booking's transaction. With ``hold``, the
        booking is a hold (see :class:`~agent_booking.core.hold_slot.HoldSlot`): same rules,
        status ``held`` until ``hold.seconds`` from now, ``booking_held`` instead of
        ``booking_created``.
        """
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await self._book(request, idempotency, hold)
            except TransientConflict:
                if attempt == TRANSIENT_ATTEMPTS:
                    raise
            except (SlotTaken, OutsideWorkingHours, NotASlotStart, NoticeTooShort) as error:
                error.alternatives = await self._alternatives(request)
                raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def _alternatives(self, request: BookingRequest) -> tuple[SlotSuggestion, ...]:
        """Nearest free starts to offer instead (same day first), read after the refusal:
        for the same service, on the resource asked for or any that performs it."""
        async with self._reads() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                return ()
            catalog = await uow.catalog.get_active(settings)
            try:
                service = service_for(request, catalog, settings)
                candidates = candidates_for(request, catalog, service)
            except (UnknownService, UnknownResource):
                return ()
            policy = SlotPolicy(settings)
            wanted = policy.local_start(request.booking_date, request.booking_time)
            return await nearest_alternatives(
                uow.bookings, policy, self._clock.now(), wanted, service, candidates
            )

    async def _book(
        self,
        request: BookingRequest,
        idempotency: IdempotentSuccess | None,
        hold: HoldTerms | None,
    ) -> AgentBookingResult:
        async with self._uow() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            catalog = await uow.catalog.get_active(settings)
            now = self._clock.now()
            service = service_for(request, catalog, settings)
            candidates = candidates_for(request, catalog, service)
            released: list[Booking] = []
            start, resource = await _place(
                uow, SlotPolicy(settings), request, now, service, candidates, released
            )
            starts_at = as_utc(start)
            occupied_from, occupied_until = service.occupied(start)
            customer, created = await uow.customers.get_or_create(
                request.customer, self._password_hash, now
            )
            # A customer created just now holds nothing yet. For any other, the count holds
            # the customer until the commit, so racing requests for one phone take turns here
            # and each sees the bookings of those before it.
            if self._max_open and not created:
                held = await uow.bookings.count_open_after(customer.id, now)
                if held >= self._max_open:
                    # A taken slot is the answer that wins (it offers alternatives).
                    if await uow.bookings.is_occupied(resource.id, occupied_from, occupied_until):
                        raise SlotTaken
                    raise TooManyBookings(self._max_open)
            if hold is not None and not created:
                live = await uow.bookings.count_live_holds(customer.id, now)
                if live >= hold.max_per_phone:
                    raise TooManyHolds(hold.max_per_phone)
            booking = await uow.bookings.add(
                NewBooking(
                    customer_id=customer.id,
                    service_name=service.name,
                    booking_date=request.booking_date,
                    booking_time=request.booking_time,
                    starts_at=starts_at,
                    status=request.status if hold is None else BookingStatus.HELD,
                    notes=request.notes,
                    created_at=now,
                    resource_id=resource.id,
                    service_id=service.id,
                    occupied_from=occupied_from,
                    occupied_until=occupied_until,
                    hold_expires_at=None if hold is None else hold.expires(now),
                )
            )
            placement = Placement.of(resource, service)
            freed = [
                await append_hold_released(uow, item, catalog, EXPIRED, now) for item in released
            ]
            if idempotency is not None:
                status_code, body = idempotency.render(booking, customer, created, placement)
                await uow.idempotency.complete(idempotency.key, status_code, body)
            # The event goes last, right before the commit: an outbox may order its events by
            # holding a lock from the append to the commit (PostgreSQL's does), so nothing
            # else should happen in between.
            kind = BOOKING_CREATED if hold is None else BOOKING_HELD
            event = await uow.events.append(
                DomainEvent(kind, booking_event_payload(booking, customer, placement), now)
            )
            await uow.commit()
        result = AgentBookingResult(booking, customer, created, event, placement, tuple(freed))
        await self._notifier.publish([*freed, event])
        return result


def service_for(request: BookingRequest, catalog: Catalog, settings: BusinessSettings) -> Service:
    """The service a request books: by id, else the catalog's by name (case-insensitively),
    else, unless the business books only its catalog, the free-text name with the slot length
    as duration (the spec's behaviour)."""
    if request.service_id is not None:
        found = catalog.service(request.service_id)
        if found is None or not found.active:
            raise UnknownService(catalog.offered_names())
        return found
    named = catalog.service_named(request.service_name)
    if named is not None:
        return named
    if catalog.unknown_services == REJECT_UNKNOWN:
        raise UnknownService(catalog.offered_names())
    return catalog.ad_hoc(request.service_name, settings.slot_minutes)


class ResourceChoice(Protocol):
    """What a request says about its resource: the one asked for, or None."""

    @property
    def resource_id(self) -> int | None: ...


def candidates_for(
    request: ResourceChoice, catalog: Catalog, service: Service
) -> tuple[Resource, ...]:
    """The resources that may take the booking: the one asked for, else every active one
    that performs the service."""
    performers = catalog.performers(service)
    if request.resource_id is None:
        if not performers:
            raise UnknownResource("No resource performs this service")
        return performers
    chosen = tuple(item for item in performers if item.id == request.resource_id)
    if not chosen:
        raise UnknownResource
    return chosen


async def _place(
    uow: UnitOfWork,
    policy: SlotPolicy,
    request: BookingRequest,
    now: pendulum.DateTime,
    service: Service,
    candidates: tuple[Resource, ...],
    released: list[Booking],
) -> tuple[pendulum.DateTime, Resource]:
    """The start and resource the policy grants, reading only what it needs: for one
    candidate (every single-resource business) whether its occupied interval is free; for
    several, the occupied intervals at that start and the day's bookings per resource, to
    choose one.

    The chosen interval is locked before its booking is stored (and a choice made from an
    earlier read checked again once it is locked): transactions placing bookings in overlapping
    intervals of one resource take turns, so the database's no-overlap constraint, which
    decides, never sees two overlapping inserts in progress at once (PostgreSQL would break that
    deadlock by aborting one). Holds in the way whose time is up are marked expired (into
    ``released``) first: that is why even one candidate's interval is read before the insert
    (storage would refuse the insert over an expired hold, and on PostgreSQL a refused insert
    ends the transaction).
    """
    day, time = request.booking_date, request.booking_time
    if len(candidates) == 1:
        (resource,) = candidates
        start = policy.check_service(day, time, now, service, resource)
        interval = (resource.id, *service.occupied(start))
        await uow.bookings.lock_intervals([interval])
        if not await free_interval(uow, *interval, now, released):
            raise SlotTaken
        return start, resource
    wanted = policy.local_start(day, time)
    begin, end = service.occupied(wanted)
    counts = await uow.bookings.active_counts_on(day)
    for _ in candidates:
        occupancy = Occupancy(await uow.bookings.occupied_between(begin, end, now=now))
        start, resource = policy.place(day, time, now, service, candidates, occupancy, counts)
        interval = (resource.id, *service.occupied(start))
        await uow.bookings.lock_intervals([interval])
        if await free_interval(uow, *interval, now, released):
            return start, resource
    raise SlotTaken
