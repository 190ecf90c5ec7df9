"""Cancelling a booking frees its slot at once and tells the dashboards.

Two callers cancel: an admin (any open booking) and the customer on the phone through an agent.
The customer must give the phone the booking was made with; a booking of another phone is
answered exactly as one that does not exist (:class:`BookingNotFound`), so that guessing ids
reveals nothing. A customer may cancel only up to ``cancel_notice_minutes`` before the start,
and never once it has started (:class:`TooLate`).

Concurrent cancellations of one booking cancel it once: the status changes only from an open
one (:meth:`BookingRepository.set_status` answers ``None`` for a booking already in the new
status, also when another transaction got there first), so exactly one ``booking_cancelled``
event is written; the others get :class:`BookingNotActive`.
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from agent_booking.core.entities import Booking, Customer
from agent_booking.core.errors import BookingNotActive, BookingNotFound, SettingsMissing, TooLate
from agent_booking.core.events import (
    BOOKING_CANCELLED,
    DomainEvent,
    JsonObject,
    StoredEvent,
    booking_event_payload,
)
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.request import PhoneReader, bounded_text, read_phone

__all__ = [
    "MAX_REASON_LENGTH",
    "CallerCancellation",
    "CancelBooking",
    "CancelledBooking",
    "IdempotentCancel",
]

#: Longest reason a caller may give, in characters.
MAX_REASON_LENGTH = 500


@frozen
class CancelledBooking:
    booking: Booking
    customer: Customer
    event: StoredEvent
    placement: Placement | None = None


@frozen
class CallerCancellation:
    """A cancellation asked for by the customer: the phone it gives (as the service stores
    phones) and why, if it said."""

    phone: str
    reason: str = ""

    @classmethod
    def from_fields(
        cls, *, phone: object, reason: object = None, phones: PhoneReader | None = None
    ) -> CallerCancellation:
        """Validate a request's fields as a create request's are (same messages)."""
        return cls(read_phone(phone, phones), bounded_text("reason", reason, MAX_REASON_LENGTH))


@frozen
class IdempotentCancel:
    """Record the answer under ``key`` in the cancellation's own transaction, so a retry
    never finds a cancelled booking without its recorded answer."""

    key: str
    render: Callable[[Booking, Customer, Placement | None], tuple[int, JsonObject]]


class CancelBooking:
    """Set an upcoming or pending booking to ``cancelled`` and emit ``booking_cancelled``."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(
        self,
        booking_id: int,
        *,
        caller: CallerCancellation | None = None,
        idempotency: IdempotentCancel | None = None,
    ) -> CancelledBooking:
        """Cancel as an admin, or with ``caller`` as the booking's customer."""
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
            if booking is None:
                raise BookingNotFound
            customer = await uow.customers.get(booking.customer_id)
            if customer is None or (caller is not None and customer.phone != caller.phone):
                raise BookingNotFound
            booking.cancel()  # BookingNotActive unless open
            if caller is not None:
                await self._check_notice(uow, booking)
            cancelled = await uow.bookings.set_status(booking_id, booking.cancel().status)
            if cancelled is None:  # another cancellation committed first
                raise BookingNotActive(
                    f"Booking is {booking.cancel().status.value}, not cancellable"
                )
            catalog = await current_catalog(uow)
            placement = None if catalog is None else Placement.of_booking(cancelled, catalog)
            payload = booking_event_payload(cancelled, customer, placement)
            if caller is not None and caller.reason:
                payload["cancellation_reason"] = caller.reason
            event = await uow.events.append(
                DomainEvent(BOOKING_CANCELLED, payload, self._clock.now())
            )
            if idempotency is not None:
                status, body = idempotency.render(cancelled, customer, placement)
                await uow.idempotency.complete(idempotency.key, status, body)
            await uow.commit()
        await self._notifier.publish([event])
        return CancelledBooking(cancelled, customer, event, placement)

    async def _check_notice(self, uow: UnitOfWork, booking: Booking) -> None:
        settings = await uow.settings.get_active()
        if settings is None:
            raise SettingsMissing
        now = self._clock.now()
        notice = settings.cancel_notice_minutes
        if now >= booking.starts_at:
            raise TooLate("Too late to cancel: this booking has already started")
        if now > booking.starts_at.subtract(minutes=notice):
            raise TooLate(
                f"Too late to cancel: bookings can be cancelled up to {notice} minutes "
                "before they start"
            )
