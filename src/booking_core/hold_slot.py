"""Holding a start for a caller while they make up their mind ("hold the 2 PM for me").

A hold is a booking in status ``held``: created by exactly the create's code (same request,
same policy, placement, overlap rule and storage constraint), so it can never disagree with
create about which starts are free. Only three things differ, and
:class:`~agent_booking.core.create_agent_booking.CreateAgentBooking` does them when handed the
:class:`~agent_booking.core.holds.HoldTerms`: the status, its ``hold_expires_at``, the limit of
live holds per phone (counted in the write's own transaction), and the ``booking_held`` event.
"""

from __future__ import annotations

from agent_booking.core.create_agent_booking import (
    AgentBookingResult,
    CreateAgentBooking,
    IdempotentSuccess,
)
from agent_booking.core.holds import HoldTerms
from agent_booking.core.request import BookingRequest

__all__ = ["HoldSlot"]


class HoldSlot:
    """Hold the start ``request`` asks for, for ``terms.seconds``; refused as create refuses,
    or with :class:`~agent_booking.core.errors.TooManyHolds`."""

    def __init__(self, create: CreateAgentBooking, terms: HoldTerms) -> None:
        self._create = create
        self.terms = terms

    async def __call__(
        self, request: BookingRequest, *, idempotency: IdempotentSuccess | None = None
    ) -> AgentBookingResult:
        return await self._create(request, idempotency=idempotency, hold=self.terms)
