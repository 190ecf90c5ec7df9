"""The periodic sweep: holds whose time is up are marked ``expired`` without any request.

Every server process runs it (see the app's lifespan); the status change itself (``held`` and
expired → ``expired``) happens once per hold whichever process gets there first, so each hold
gets exactly one ``hold_released`` event (reason ``expired``), committed with the change.
"""

from __future__ import annotations

from agent_booking.core.holds import EXPIRED, append_hold_released
from agent_booking.core.placement import current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory

__all__ = ["SweepExpiredHolds"]


class SweepExpiredHolds:
    """Mark every hold whose time is up ``expired``; how many this run marked."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier

    async def __call__(self) -> int:
        async with self._uow() as uow:
            now = self._clock.now()
            expired = await uow.bookings.expire_holds(now)
            if not expired:
                return 0
            catalog = await current_catalog(uow)
            events = [
                await append_hold_released(uow, booking, catalog, EXPIRED, now)
                for booking in expired
            ]
            await uow.commit()
        await self._notifier.publish(events)
        return len(events)
