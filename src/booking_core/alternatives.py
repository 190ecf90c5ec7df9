"""What to offer instead of a refused start: the nearest free starts for the same service.

A refused create and a refused move both answer with these (``alternatives`` in the error
body). A move's own booking does not stand in its own way: its interval is ``not_counting``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pendulum

from agent_booking.core.errors import SlotSuggestion
from agent_booking.core.events import format_time
from agent_booking.core.occupancy import Occupancy, OccupiedInterval
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import BookingRepository
from agent_booking.core.resources import Resource, Service

__all__ = ["nearest_alternatives", "occupancy_without"]


async def nearest_alternatives(
    bookings: BookingRepository,
    policy: SlotPolicy,
    now: pendulum.DateTime,
    wanted: pendulum.DateTime,
    service: Service,
    candidates: Sequence[Resource],
    *,
    not_counting: OccupiedInterval | None = None,
) -> tuple[SlotSuggestion, ...]:
    """Up to three free starts near ``wanted`` (local) for ``service`` on ``candidates``: the
    same day first, then the following days (:meth:`SlotPolicy.nearest_free_for`)."""
    days = policy.service_search_days(service, candidates) + 1
    reach = service.buffer_before + service.duration_minutes + service.buffer_after
    occupied = await bookings.occupied_between(
        wanted.start_of("day").in_timezone("UTC").subtract(minutes=reach),
        wanted.start_of("day").add(days=days).in_timezone("UTC").add(minutes=reach),
        now=now,
    )
    occupancy = occupancy_without(occupied, not_counting)
    found = policy.nearest_free_for(wanted, now, service, candidates, occupancy)
    return tuple((start.date().isoformat(), format_time(start.time())) for start, _ in found)


def occupancy_without(
    intervals: Sequence[OccupiedInterval], not_counting: OccupiedInterval | None
) -> Occupancy:
    """The occupancy of ``intervals`` but one: intervals of one resource never overlap, so
    the booking's own interval is there at most once and is told apart by its bounds."""
    if not_counting is None:
        return Occupancy(intervals)
    return Occupancy(item for item in intervals if item != not_counting)
