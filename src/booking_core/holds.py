"""Holds: a start kept for a caller for a while, as a booking in status ``held``.

A hold occupies its interval like any active booking, so the storage's no-overlap rule covers
it. Its time being up does not free the interval in storage by itself: whoever needs the
interval first marks the hold ``expired`` (:func:`free_interval`, in the write's own
transaction), and a periodic sweep (:class:`~agent_booking.core.sweep_expired_holds.
SweepExpiredHolds`) marks the rest. Each marking writes one ``hold_released`` event with
``"reason": "expired"``; a caller giving a hold up writes one with ``"reason": "released"``.
Reads never wait for either: they leave out holds whose time is up.
"""

from __future__ import annotations

import pendulum
from attrs import frozen

from agent_booking.core.entities import Booking
from agent_booking.core.events import (
    HOLD_RELEASED,
    DomainEvent,
    StoredEvent,
    booking_event_payload,
)
from agent_booking.core.placement import Placement
from agent_booking.core.ports import UnitOfWork
from agent_booking.core.resources import Catalog

__all__ = [
    "EXPIRED",
    "RELEASED",
    "HoldTerms",
    "append_hold_released",
    "free_interval",
]

#: ``reason`` of a ``hold_released`` event: the caller gave it up, or its time ran out.
RELEASED = "released"
EXPIRED = "expired"


@frozen
class HoldTerms:
    """How long a hold keeps its start, and how many live holds one phone may have."""

    seconds: int
    max_per_phone: int

    def __attrs_post_init__(self) -> None:
        if self.seconds < 1:
            msg = f"a hold lasts at least one second, got {self.seconds}"
            raise ValueError(msg)
        if self.max_per_phone < 1:
            msg = f"a phone may have at least one hold, got {self.max_per_phone}"
            raise ValueError(msg)

    def expires(self, now: pendulum.DateTime) -> pendulum.DateTime:
        return now.add(seconds=self.seconds)


async def append_hold_released(
    uow: UnitOfWork, booking: Booking, catalog: Catalog | None, reason: str, now: pendulum.DateTime
) -> StoredEvent:
    """Write the ``hold_released`` event of ``booking`` (released or expired just now)."""
    customer = await uow.customers.get(booking.customer_id)
    if customer is None:  # pragma: no cover - a booking's customer is never deleted
        msg = f"booking {booking.id} has no customer"
        raise RuntimeError(msg)
    placement = None if catalog is None else Placement.of_booking(booking, catalog)
    payload = booking_event_payload(booking, customer, placement)
    payload["reason"] = reason
    return await uow.events.append(DomainEvent(HOLD_RELEASED, payload, now))


async def free_interval(
    uow: UnitOfWork,
    resource_id: int,
    begin: pendulum.DateTime,
    end: pendulum.DateTime,
    now: pendulum.DateTime,
    released: list[Booking],
) -> bool:
    """Whether ``[begin, end)`` of the resource is free for a write at ``now``, after marking
    ``expired`` the holds whose time is up that occupy it (appended to ``released``; the
    caller writes their events once it knows the catalog).

    With no hold in the way this is the one overlap read the write made anyway: only when
    that read finds a hold whose time is up does anything more happen.
    """
    tried: set[int] = set()
    while (occupant := await uow.bookings.occupant(resource_id, begin, end)) is not None:
        if not occupant.is_expired_hold(now) or occupant.booking_id in tried:
            return False
        tried.add(occupant.booking_id)
        expired = await uow.bookings.expire_hold(occupant.booking_id, now)
        if expired is not None:
            released.append(expired)
    return True
