"""Read-side queries: what admins and agents ask of stored bookings."""

from __future__ import annotations

import pendulum
from attrs import field, frozen

from agent_booking.core.entities import Booking, BookingStatus, Customer

__all__ = ["MAX_PAGE_SIZE", "BookingPage", "BookingQuery"]

MAX_PAGE_SIZE = 200


def _frozen_statuses(values: frozenset[BookingStatus] | None) -> frozenset[BookingStatus] | None:
    return None if values is None else frozenset(values)


@frozen
class BookingQuery:
    """Filters for listing bookings, ordered by start then id. Dates (the agreed local
    booking dates) are inclusive; ``None`` means "no filter"."""

    date_from: pendulum.Date | None = None
    date_to: pendulum.Date | None = None
    statuses: frozenset[BookingStatus] | None = field(default=None, converter=_frozen_statuses)
    phone: str | None = None
    offset: int = 0
    limit: int = 50


@frozen
class BookingPage:
    """One page of bookings with their customers, and how many match in all."""

    rows: tuple[tuple[Booking, Customer], ...]
    total: int
