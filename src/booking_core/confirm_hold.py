"""Confirming a hold: the caller said yes, the hold becomes the booking (same id).

The confirmation is announced as ``booking_created``, exactly as a direct create, so dashboards
and webhooks see a confirmed booking one way only. Only the hold's customer may confirm it (the
phone, as for find and cancel: a mismatch is answered as a missing booking). A hold whose time is
up is not confirmed: it is marked ``expired`` (its ``hold_released`` event committed) and the
caller gets :class:`~agent_booking.core.errors.HoldExpired`.
"""

from __future__ import annotations

import pendulum

from agent_booking.core.create_agent_booking import AgentBookingResult, IdempotentSuccess
from agent_booking.core.entities import Booking, BookingStatus, Customer
from agent_booking.core.errors import (
    BookingNotFound,
    BookingNotHeld,
    HoldExpired,
    SettingsMissing,
)
from agent_booking.core.events import (
    BOOKING_CREATED,
    DomainEvent,
    StoredEvent,
    booking_event_payload,
)
from agent_booking.core.holds import EXPIRED, append_hold_released
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.resources import Catalog

__all__ = ["ConfirmHold", "owned_booking"]


async def owned_booking(uow: UnitOfWork, booking_id: int, phone: str) -> tuple[Booking, Customer]:
    """The booking and its customer, if ``phone`` is that customer's; else BookingNotFound."""
    booking = await uow.bookings.get(booking_id)
    if booking is None:
        raise BookingNotFound
    customer = await uow.customers.get(booking.customer_id)
    if customer is None or customer.phone != phone:
        raise BookingNotFound
    return booking, customer


class ConfirmHold:
    """Turn the caller's live hold into an ``upcoming`` booking and emit ``booking_created``."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(
        self, hold_id: int, phone: str, *, idempotency: IdempotentSuccess | None = None
    ) -> AgentBookingResult:
        """Confirm hold ``hold_id`` of the customer with ``phone`` (as the service stores
        phones). With ``idempotency``, the answer is recorded in the same transaction."""
        expired: StoredEvent | None = None
        async with self._uow() as uow:
            now = self._clock.now()
            booking, customer = await owned_booking(uow, hold_id, phone)
            if booking.status is not BookingStatus.HELD:
                raise BookingNotHeld(f"This booking is {booking.status.value}, not a hold")
            catalog = await current_catalog(uow)
            if catalog is None:
                raise SettingsMissing
            confirmed = None
            if not booking.hold_has_expired(now):
                confirmed = await uow.bookings.confirm_hold(hold_id, BookingStatus.UPCOMING, now)
            if confirmed is None:
                gone = await uow.bookings.expire_hold(hold_id, now)
                if gone is None:  # changed by a concurrent transaction in between
                    raise BookingNotHeld
                expired = await append_hold_released(uow, gone, catalog, EXPIRED, now)
                await uow.commit()
            else:
                result = await _announce(uow, confirmed, customer, catalog, now, idempotency)
                await uow.commit()
        if expired is not None:
            await self._notifier.publish([expired])
            raise HoldExpired
        await self._notifier.publish([result.event])
        return result


async def _announce(
    uow: UnitOfWork,
    booking: Booking,
    customer: Customer,
    catalog: Catalog,
    now: pendulum.DateTime,
    idempotency: IdempotentSuccess | None,
) -> AgentBookingResult:
    placement = Placement.of_booking(booking, catalog)
    if idempotency is not None:
        status_code, body = idempotency.render(booking, customer, False, placement)
        await uow.idempotency.complete(idempotency.key, status_code, body)
    event = await uow.events.append(
        DomainEvent(BOOKING_CREATED, booking_event_payload(booking, customer, placement), now)
    )
    return AgentBookingResult(booking, customer, False, event, placement)
