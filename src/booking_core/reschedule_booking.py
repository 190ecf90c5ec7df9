"""Moving a booking to another start: one transaction that changes the same row.

The customer on the phone moves their own booking. As for a cancellation, the phone must be
the booking's (another phone is answered as a booking that does not exist,
:class:`BookingNotFound`), only an upcoming or pending booking moves
(:class:`BookingNotActive`), and not later than ``reschedule_notice_minutes`` before its
*current* start, never once it has started (:class:`TooLate`).

The new start obeys every rule a create obeys, checked by the same :class:`SlotPolicy`
placement (hours, off days, closed dates, the service's minimum notice, the horizon), for the
booking's own service and duration. The booking does not stand in its own way: its current
interval is not counted as taken, so it may move an hour later into an interval overlapping
its old one. Without a resource asked for, it stays on its resource when that one can take
the new interval, else goes where a create would put it.

The row changes in one statement (:meth:`BookingRepository.move`), and storage checks the new
interval against every other active booking (PostgreSQL's exclusion constraint, SQLite's
update trigger): of two moves into one start exactly one commits, and the other is refused
with :class:`SlotTaken` and alternatives and stays where it was. The old start is free again
only once the move commits. ``booking_rescheduled`` (the booking at its new start, with
``previous``: where it was) is written in the same transaction and published after commit.
"""

from __future__ import annotations

from collections.abc import Callable

import pendulum
from attrs import frozen

from agent_booking.core.alternatives import nearest_alternatives, occupancy_without
from agent_booking.core.create_agent_booking import TRANSIENT_ATTEMPTS, candidates_for
from agent_booking.core.entities import Booking, BookingMove, Customer
from agent_booking.core.errors import (
    BookingNotActive,
    BookingNotFound,
    BookingPolicyViolation,
    MissingField,
    NotASlotStart,
    NoticeTooShort,
    OutsideWorkingHours,
    SettingsMissing,
    SlotSuggestion,
    SlotTaken,
    TooLate,
    TransientConflict,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.events import (
    BOOKING_RESCHEDULED,
    DomainEvent,
    JsonObject,
    StoredEvent,
    booking_event_payload,
    format_instant,
    format_time,
)
from agent_booking.core.holds import EXPIRED, append_hold_released
from agent_booking.core.instants import as_utc
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.parsing import DateOrder
from agent_booking.core.placement import Placement
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.request import (
    PhoneReader,
    read_date_and_time,
    read_optional_id,
    read_phone,
)
from agent_booking.core.resources import Catalog, Resource, Service
from agent_booking.core.settings import BusinessSettings

__all__ = [
    "CallerMove",
    "IdempotentReschedule",
    "MovedBooking",
    "RescheduleBooking",
    "RescheduledBooking",
    "previous_start",
]


@frozen
class CallerMove:
    """A move asked for by the customer: the phone the booking was made with (as the service
    stores phones), the new local start and, optionally, the resource wanted."""

    phone: str
    booking_date: pendulum.Date
    booking_time: pendulum.Time
    resource_id: int | None = None

    @classmethod
    def from_fields(
        cls,
        *,
        phone: object,
        booking_date: object,
        booking_time: object,
        resource_id: object = None,
        date_order: DateOrder = DateOrder.DMY,
        phones: PhoneReader | None = None,
    ) -> CallerMove:
        """Validate a request's fields as a create request's are (same order, same
        messages: every required field first, then the formats)."""
        for name, value in (
            ("phone", phone),
            ("booking_date", booking_date),
            ("booking_time", booking_time),
        ):
            if value is None or (isinstance(value, str) and not value.strip()):
                raise MissingField(name)
        phone_number = read_phone(phone, phones)
        day, time = read_date_and_time(booking_date, booking_time, date_order)
        return cls(phone_number, day, time, read_optional_id("resource_id", resource_id))


@frozen
class MovedBooking:
    """A committed-to-be move: the booking at its new start and where it was before."""

    booking: Booking
    customer: Customer
    placement: Placement
    previous: Booking
    previous_placement: Placement


@frozen
class RescheduledBooking:
    moved: MovedBooking
    event: StoredEvent


@frozen
class IdempotentReschedule:
    """Record the answer under ``key`` in the move's own transaction, so a retry never finds a
    moved booking without its recorded answer."""

    key: str
    render: Callable[[MovedBooking], tuple[int, JsonObject]]


def previous_start(booking: Booking, placement: Placement) -> JsonObject:
    """Where a moved booking was: the ``previous`` object of ``booking_rescheduled``."""
    return {
        "booking_date": booking.booking_date.isoformat(),
        "booking_time": format_time(booking.booking_time),
        "starts_at": format_instant(booking.starts_at),
        "resource": {"id": placement.resource_id, "name": placement.resource_name},
    }


class RescheduleBooking:
    """Move an upcoming or pending booking to a new start; emit ``booking_rescheduled``."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notifier: Notifier,
        *,
        reads: UnitOfWorkFactory | None = None,
    ) -> None:
        self._uow = uow
        self._reads = reads or uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(
        self,
        booking_id: int,
        move: CallerMove,
        *,
        idempotency: IdempotentReschedule | None = None,
    ) -> RescheduledBooking:
        """Move the caller's booking, or raise a
        :class:`~agent_booking.core.errors.BookingError` and change nothing."""
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return await self._move(booking_id, move, idempotency)
            except TransientConflict:
                if attempt == TRANSIENT_ATTEMPTS:
                    raise
            except (SlotTaken, OutsideWorkingHours, NotASlotStart, NoticeTooShort) as error:
                error.alternatives = await self._alternatives(booking_id, move)
                raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def _move(
        self, booking_id: int, move: CallerMove, idempotency: IdempotentReschedule | None
    ) -> RescheduledBooking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
            customer = None if booking is None else await uow.customers.get(booking.customer_id)
            if booking is None or customer is None or customer.phone != move.phone:
                raise BookingNotFound
            if not booking.is_open:
                raise BookingNotActive(f"Booking is {booking.status.value}, not movable")
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            now = self._clock.now()
            _check_notice(booking, settings, now)
            catalog = await uow.catalog.get_active(settings)
            service = _service_of(booking, catalog, settings)
            candidates = candidates_for(move, catalog, service)
            start, resource = await _place(
                uow, SlotPolicy(settings), booking, move, now, service, candidates
            )
            occupied_from, occupied_until = service.occupied(start)
            # Holds whose time is up read as free above, but their rows still occupy their
            # intervals in storage: mark them expired first (one statement on a partial index
            # that is all but empty), each with its ``hold_released``, in this transaction.
            freed = [
                await append_hold_released(uow, item, catalog, EXPIRED, now)
                for item in await uow.bookings.expire_holds(now)
            ]
            moved = await uow.bookings.move(
                booking.id,
                BookingMove(
                    booking_date=move.booking_date,
                    booking_time=move.booking_time,
                    starts_at=as_utc(start),
                    resource_id=resource.id,
                    occupied_from=occupied_from,
                    occupied_until=occupied_until,
                ),
            )
            if moved is None:  # cancelled (or moved on) by a transaction that committed first
                raise BookingNotActive("Booking is no longer upcoming or pending, not movable")
            result = MovedBooking(
                moved,
                customer,
                Placement.of(resource, service),
                booking,
                Placement.of_booking(booking, catalog),
            )
            if idempotency is not None:
                status, body = idempotency.render(result)
                await uow.idempotency.complete(idempotency.key, status, body)
            payload = booking_event_payload(moved, customer, result.placement)
            payload["previous"] = previous_start(booking, result.previous_placement)
            # Last before the commit, as in the create (the outbox may order by a lock).
            event = await uow.events.append(DomainEvent(BOOKING_RESCHEDULED, payload, now))
            await uow.commit()
        await self._notifier.publish([*freed, event])
        return RescheduledBooking(result, event)

    async def _alternatives(self, booking_id: int, move: CallerMove) -> tuple[SlotSuggestion, ...]:
        """Nearest free starts for the booking's service, its own interval not counted."""
        async with self._reads() as uow:
            booking = await uow.bookings.get(booking_id)
            settings = await uow.settings.get_active()
            if booking is None or settings is None:
                return ()
            catalog = await uow.catalog.get_active(settings)
            try:
                service = _service_of(booking, catalog, settings)
                candidates = candidates_for(move, catalog, service)
            except (UnknownService, UnknownResource):
                return ()
            policy = SlotPolicy(settings)
            return await nearest_alternatives(
                uow.bookings,
                policy,
                self._clock.now(),
                policy.local_start(move.booking_date, move.booking_time),
                service,
                candidates,
                not_counting=_own_interval(booking),
            )


def _check_notice(booking: Booking, settings: BusinessSettings, now: pendulum.DateTime) -> None:
    notice = settings.reschedule_notice_minutes
    if now >= booking.starts_at:
        raise TooLate("Too late to move: this booking has already started")
    if now > booking.starts_at.subtract(minutes=notice):
        raise TooLate(
            f"Too late to move: bookings can be moved up to {notice} minutes before they start"
        )


def _service_of(booking: Booking, catalog: Catalog, settings: BusinessSettings) -> Service:
    """The service the booking is for, as the catalog has it now; a free-text service (the
    spec's) keeps its name and is one slot long, as a create would book it today."""
    if booking.service_id is None:
        return Service(None, booking.service_name, settings.slot_minutes)
    service = catalog.service(booking.service_id)
    if service is None or not service.active:
        raise UnknownService(catalog.offered_names())
    return service


def _own_interval(booking: Booking) -> tuple[int, pendulum.DateTime, pendulum.DateTime]:
    return booking.resource_id, booking.occupied_from, booking.occupied_until


async def _place(
    uow: UnitOfWork,
    policy: SlotPolicy,
    booking: Booking,
    move: CallerMove,
    now: pendulum.DateTime,
    service: Service,
    candidates: tuple[Resource, ...],
) -> tuple[pendulum.DateTime, Resource]:
    """The new start and resource, the booking's own interval not counted as taken.

    The booking's current interval and the chosen one are locked together (in one order, so
    two moves crossing between two resources wait for each other rather than deadlock) before
    the interval is checked again: moves and creates placing bookings in overlapping intervals
    of one resource take turns, as in the create. A choice made from a read that another
    transaction overtook is made again, as the create does.
    """
    own = _own_interval(booking)
    day, time = move.booking_date, move.booking_time
    begin, end = service.occupied(policy.local_start(day, time))
    counts = dict(await uow.bookings.active_counts_on(day))
    if booking.booking_date == day and counts.get(booking.resource_id):
        counts[booking.resource_id] -= 1  # the booking itself is not another one that day
    current = tuple(item for item in candidates if item.id == booking.resource_id)
    for _ in range(len(candidates) + 1):
        occupancy = occupancy_without(await uow.bookings.occupied_between(begin, end, now=now), own)
        start, resource = _choose(
            policy, move, now, service, candidates, current, occupancy, counts
        )
        chosen = (resource.id, *service.occupied(start))
        await uow.bookings.lock_intervals([own, chosen])
        occupancy = occupancy_without(await uow.bookings.occupied_between(begin, end, now=now), own)
        if occupancy.is_free(*chosen):
            return start, resource
    raise SlotTaken


def _choose(
    policy: SlotPolicy,
    move: CallerMove,
    now: pendulum.DateTime,
    service: Service,
    candidates: tuple[Resource, ...],
    current: tuple[Resource, ...],
    occupancy: Occupancy,
    counts: dict[int, int],
) -> tuple[pendulum.DateTime, Resource]:
    """The policy's placement; without a resource asked for, the current one first."""
    day, time = move.booking_date, move.booking_time
    if current and move.resource_id is None:
        try:
            return policy.place(day, time, now, service, current, occupancy, counts)
        except (BookingPolicyViolation, SlotTaken):
            pass  # another resource may take it; the policy says why not, if none can
    return policy.place(day, time, now, service, candidates, occupancy, counts)
