"""Cancelling a booking frees its slot at once and tells the dashboards."""

from __future__ import annotations

from attrs import frozen

from agent_booking.core.entities import Booking, Customer
from agent_booking.core.errors import BookingNotFound
from agent_booking.core.events import (
    BOOKING_CANCELLED,
    DomainEvent,
    StoredEvent,
    booking_event_payload,
)
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory

__all__ = ["CancelBooking", "CancelledBooking"]


@frozen
class CancelledBooking:
    booking: Booking
    customer: Customer
    event: StoredEvent
    placement: Placement | None = None


class CancelBooking:
    """Set an upcoming or pending booking to ``cancelled`` and emit ``booking_cancelled``."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(self, booking_id: int) -> CancelledBooking:
        async with self._uow() as uow:
            booking = await uow.bookings.get(booking_id)
            if booking is None:
                raise BookingNotFound
            cancelled = await uow.bookings.set_status(booking_id, booking.cancel().status)
            customer = await uow.customers.get(booking.customer_id)
            if cancelled is None or customer is None:  # pragma: no cover - same transaction
                raise BookingNotFound
            catalog = await current_catalog(uow)
            placement = None if catalog is None else Placement.of_booking(cancelled, catalog)
            event = await uow.events.append(
                DomainEvent(
                    BOOKING_CANCELLED,
                    booking_event_payload(cancelled, customer, placement),
                    self._clock.now(),
                )
            )
            await uow.commit()
        await self._notifier.publish([event])
        return CancelledBooking(cancelled, customer, event, placement)
