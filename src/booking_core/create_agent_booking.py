"""The agent booking use case: apply the policy to a validated request, store, then announce.

Everything that must be atomic happens in one unit of work: the customer (if new), the booking,
the outcome recorded under an idempotency key (if any) and the ``booking_created`` outbox event.
Only after the commit is the notifier asked to publish, so no listener ever hears of a booking
that was rolled back.
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from agent_booking.core.entities import Booking, Customer, NewBooking
from agent_booking.core.errors import (
    NotASlotStart,
    OutsideWorkingHours,
    SettingsMissing,
    SlotSuggestion,
    SlotTaken,
    TooManyBookings,
    TransientConflict,
)
from agent_booking.core.events import (
    BOOKING_CREATED,
    DomainEvent,
    JsonObject,
    StoredEvent,
    booking_event_payload,
    format_time,
)
from agent_booking.core.instants import as_utc
from agent_booking.core.passwords import UNUSABLE_PASSWORD
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory
from agent_booking.core.request import BookingRequest

__all__ = [
    "TRANSIENT_ATTEMPTS",
    "AgentBookingResult",
    "CreateAgentBooking",
    "IdempotentSuccess",
    "RenderedOutcome",
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


@frozen
class IdempotentSuccess:
    """An idempotency key the caller already claimed, and how the caller answers a success.

    The success is recorded under ``key`` inside the booking's own transaction, so a retry can
    never find a booking without its recorded answer; ``render`` turns the booked customer and
    booking into that answer (``customer_created`` says whether the phone was new), so the
    answer's shape stays with the caller (the HTTP layer) and out of the core.
    """

    key: str
    render: Callable[[Booking, Customer, bool], RenderedOutcome]


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
        self, request: BookingRequest, *, idempotency: IdempotentSuccess | None = None
    ) -> AgentBookingResult:
        """Book ``request``; raise a :class:`~agent_booking.core.errors.BookingError` if refused.

        Build ``request`` with :meth:`BookingRequest.from_mapping` from a raw body (the
        validation messages are the core's), or with its constructor from typed values. With
        ``idempotency`` (a key already claimed, see :mod:`agent_booking.core.idempotency`), the
        success is recorded under the key in the booking's transaction.
        """
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await self._book(request, idempotency)
            except TransientConflict:
                if attempt == TRANSIENT_ATTEMPTS:
                    raise
            except (SlotTaken, OutsideWorkingHours, NotASlotStart) as error:
                error.alternatives = await self._alternatives(request)
                raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def _alternatives(self, request: BookingRequest) -> tuple[SlotSuggestion, ...]:
        """Nearest free slots to offer instead (same day first), read after the refusal."""
        async with self._reads() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                return ()
            policy = SlotPolicy(settings)
            now = self._clock.now()
            wanted = policy.local_start(request.booking_date, request.booking_time)
            taken = await uow.bookings.active_starts_between(
                wanted.start_of("day").in_timezone("UTC"),
                wanted.add(days=policy.alternative_search_days + 1).in_timezone("UTC"),
            )
        return tuple(
            (start.date().isoformat(), format_time(start.time()))
            for start in policy.nearest_free(wanted, now, taken)
        )

    async def _book(
        self, request: BookingRequest, idempotency: IdempotentSuccess | None
    ) -> AgentBookingResult:
        async with self._uow() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            now = self._clock.now()
            start = SlotPolicy(settings).check(request.booking_date, request.booking_time, now)
            starts_at = as_utc(start)
            if await uow.bookings.slot_is_taken(starts_at):
                raise SlotTaken
            customer, created = await uow.customers.get_or_create(
                request.customer, self._password_hash, now
            )
            # A customer created just now holds nothing yet. For any other, the count holds
            # the customer until the commit, so racing requests for one phone take turns here
            # and each sees the bookings of those before it.
            if self._max_open and not created:
                held = await uow.bookings.count_open_after(customer.id, now)
                if held >= self._max_open:
                    raise TooManyBookings(self._max_open)
            booking = await uow.bookings.add(
                NewBooking(
                    customer_id=customer.id,
                    service_name=request.service_name,
                    booking_date=request.booking_date,
                    booking_time=request.booking_time,
                    starts_at=starts_at,
                    status=request.status,
                    notes=request.notes,
                    created_at=now,
                )
            )
            if idempotency is not None:
                status_code, body = idempotency.render(booking, customer, created)
                await uow.idempotency.complete(idempotency.key, status_code, body)
            # The event goes last, right before the commit: an outbox may order its events by
            # holding a lock from the append to the commit (PostgreSQL's does), so nothing
            # else should happen in between.
            event = await uow.events.append(
                DomainEvent(BOOKING_CREATED, booking_event_payload(booking, customer), now)
            )
            await uow.commit()
        result = AgentBookingResult(booking, customer, created, event)
        await self._notifier.publish([event])
        return result
