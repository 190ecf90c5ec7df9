"""``spoken``: what an answer's slot starts sound like, for voice agents.

Formatting costs a few microseconds a start and is done only for answers that carry starts
(availability, and refusals offering alternatives), never for a successful create.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import frozen

from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.core.errors import SlotSuggestion
from agent_booking.core.parsing import parse_date, parse_time
from agent_booking.core.ports import Clock

__all__ = ["Speech"]


@frozen
class Speech:
    """:class:`SpokenStarts` in ``BOOKING_LOCALE``, and the clock that says which year is
    this year (a start in another year is said with its year)."""

    starts: SpokenStarts
    clock: Clock

    def this_year(self, zone: str = "UTC") -> int:
        return self.clock.now().in_tz(zone).year

    def alternatives(self, suggestions: Iterable[SlotSuggestion]) -> list[dict[str, Any]]:
        """Alternatives as the error body lists them, each with ``spoken``. They are local
        dates and times already; their zone is not at hand here, so "this year" is UTC's
        (the two differ only for hours around New Year)."""
        year = self.this_year()
        return [
            {
                "booking_date": day,
                "booking_time": time,
                "spoken": self.starts(parse_date(day), parse_time(time), year),
            }
            for day, time in suggestions
        ]
