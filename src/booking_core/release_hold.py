"""Releasing a hold: the caller does not want the start after all; it is free at once.

Only the hold's customer may release it (a phone mismatch is answered as a missing booking).
Of concurrent releases (or a release racing the hold's expiry or confirmation) exactly one
changes the row, so exactly one ``hold_released`` event is written.
"""

from __future__ import annotations

from attrs import frozen

from agent_booking.core.confirm_hold import owned_booking
from agent_booking.core.entities import Booking, BookingStatus, Customer
from agent_booking.core.errors import BookingNotHeld, SettingsMissing
from agent_booking.core.events import StoredEvent
from agent_booking.core.holds import EXPIRED, RELEASED, append_hold_released
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory

__all__ = ["ReleaseHold", "ReleasedHold"]


@frozen
class ReleasedHold:
    booking: Booking
    customer: Customer
    event: StoredEvent
    placement: Placement


class ReleaseHold:
    """Mark the caller's live hold ``released`` and emit ``hold_released`` (reason
    ``released``); a booking that is not a live hold is refused with
    :class:`~agent_booking.core.errors.BookingNotHeld` (a hold whose time is up is marked
    ``expired`` on the way, with its own event)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(self, hold_id: int, phone: str) -> ReleasedHold:
        async with self._uow() as uow:
            now = self._clock.now()
            booking, customer = await owned_booking(uow, hold_id, phone)
            if booking.status is not BookingStatus.HELD:
                raise BookingNotHeld(f"This booking is {booking.status.value}, not a hold")
            catalog = await current_catalog(uow)
            if catalog is None:  # refused before anything changes, as a confirmation is
                raise SettingsMissing
            expired = booking.hold_has_expired(now)
            if expired:
                changed = await uow.bookings.expire_hold(hold_id, now)
            else:
                changed = await uow.bookings.release_hold(hold_id)
            if changed is None:  # released, confirmed or expired concurrently
                raise BookingNotHeld
            event = await append_hold_released(
                uow, changed, catalog, EXPIRED if expired else RELEASED, now
            )
            await uow.commit()
        await self._notifier.publish([event])
        if expired:
            raise BookingNotHeld("This hold has expired; the slot is no longer held")
        return ReleasedHold(changed, customer, event, Placement.of_booking(changed, catalog))
