"""What is taken: the occupied intervals of active bookings, per resource.

The policy asks one question of it: is ``[begin, end)`` free on this resource? Stored intervals
of one resource never overlap (the database refuses it), so each resource's intervals are
ordered by start and by end alike, and the question is answered by bisection rather than by
scanning a day of 1-minute bookings for every candidate start.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping

import pendulum
from attrs import frozen

from agent_booking.core.slot_grid import micros

__all__ = ["Occupancy", "Occupant", "OccupiedInterval"]

#: ``(resource_id, occupied_from, occupied_until)``, instants in UTC.
OccupiedInterval = tuple[int, pendulum.DateTime, pendulum.DateTime]


@frozen
class Occupant:
    """The active booking that occupies part of an interval asked about; ``hold_expires_at``
    is set when it is a hold."""

    booking_id: int
    hold_expires_at: pendulum.DateTime | None = None

    def is_expired_hold(self, now: pendulum.DateTime) -> bool:
        """A hold whose time is up: a write may mark it ``expired`` and take the interval."""
        return self.hold_expires_at is not None and self.hold_expires_at <= now


class Occupancy:
    """Occupied ``[from, until)`` intervals by resource id."""

    def __init__(self, intervals: Iterable[OccupiedInterval] = ()) -> None:
        self._by_resource: dict[int, list[tuple[pendulum.DateTime, pendulum.DateTime]]] = {}
        self._micros: dict[int, tuple[list[int], list[int]]] = {}
        for resource_id, begin, end in intervals:
            self.add(resource_id, begin, end)

    def add(self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime) -> None:
        insort(self._by_resource.setdefault(resource_id, []), (begin, end))
        self._micros.pop(resource_id, None)

    def micros(self, resource_id: int) -> tuple[list[int], list[int]]:
        """The resource's intervals as two sorted lists, starts and ends, in microseconds since
        the epoch (see :mod:`agent_booking.core.slot_grid`), built once per resource."""
        found = self._micros.get(resource_id)
        if found is None:
            taken = self._by_resource.get(resource_id, [])
            found = [micros(begin) for begin, _ in taken], [micros(end) for _, end in taken]
            self._micros[resource_id] = found
        return found

    def is_free(self, resource_id: int, begin: pendulum.DateTime, end: pendulum.DateTime) -> bool:
        """Whether ``[begin, end)`` overlaps none of the resource's occupied intervals."""
        taken = self._by_resource.get(resource_id)
        if not taken:
            return True
        # The last interval starting before ``end`` is the only one that can reach past
        # ``begin``: the ones before it end before it starts.
        # (``(end,)`` sorts before every interval that starts at ``end``.)
        index = bisect_left(taken, (end,)) - 1
        return index < 0 or taken[index][1] <= begin

    def intervals(self) -> Mapping[int, tuple[tuple[pendulum.DateTime, pendulum.DateTime], ...]]:
        return {key: tuple(value) for key, value in self._by_resource.items()}
