""" "When is my appointment?": a caller's bookings that are still to come, by phone.

Only the customer's own phone finds them, and the answer is the same shape for a phone the
service has never seen (an empty list), so asking reveals no more than the caller knows.
"""

from __future__ import annotations

from attrs import frozen

from agent_booking.core.entities import OPEN_STATUSES, Booking, BookingStatus, Customer
from agent_booking.core.errors import SettingsMissing
from agent_booking.core.placement import Placement
from agent_booking.core.ports import Clock, UnitOfWorkFactory
from agent_booking.core.queries import MAX_PAGE_SIZE, BookingQuery
from agent_booking.core.resources import Catalog
from agent_booking.core.settings import BusinessSettings

__all__ = ["MAX_FOUND_BOOKINGS", "CallerBookings", "FindCallerBookings"]

#: The most one answer lists (the soonest); the per-phone limit keeps real callers far below.
MAX_FOUND_BOOKINGS = 50


@frozen
class CallerBookings:
    settings: BusinessSettings
    bookings: tuple[tuple[Booking, Customer], ...]
    #: The catalog as of the read: each booking's resource and service (:meth:`placement`).
    catalog: Catalog

    def placement(self, booking: Booking) -> Placement:
        return Placement.of_booking(booking, self.catalog)


class FindCallerBookings:
    """Upcoming and pending bookings and live holds of ``phone`` that have not started,
    soonest first."""

    def __init__(self, reads: UnitOfWorkFactory, clock: Clock) -> None:
        self._reads = reads
        self._clock = clock

    async def __call__(self, phone: str) -> CallerBookings:
        now = self._clock.now()
        async with self._reads() as uow:
            settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            catalog = await uow.catalog.get_active(settings)
            # Local dates from yesterday on: whatever the zone, no booking yet to start is
            # left out by the date filter; the start decides below.
            page = await uow.queries.search(
                BookingQuery(
                    date_from=now.in_tz(settings.timezone).date().subtract(days=1),
                    statuses=OPEN_STATUSES | {BookingStatus.HELD},
                    phone=phone,
                    # Those of yesterday and today that have started come first: room for them.
                    limit=MAX_PAGE_SIZE,
                )
            )
        # Holds whose time is up are gone for the caller, swept or not.
        upcoming = tuple(
            row for row in page.rows if row[0].starts_at > now and not row[0].hold_has_expired(now)
        )
        return CallerBookings(settings, upcoming[:MAX_FOUND_BOOKINGS], catalog)
