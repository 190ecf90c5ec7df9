"""Test plumbing: the use cases driven from raw input, as the HTTP layer drives them.

The use cases take typed commands; most tests read best written with the bodies and queries an
agent or admin sends, so these subclasses parse them with the core's own parsers first (the
same calls ``agent_booking.entrypoints.http`` makes) and render results with the HTTP presenters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.core import AgentBookingResult, CreateAgentBooking, DateOrder
from agent_booking.core.check_availability import Availability, AvailabilityQuery, CheckAvailability
from agent_booking.core.create_agent_booking import IdempotentSuccess
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory
from agent_booking.core.request import BookingRequest
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.update_settings import SettingsChanges, SettingsUpdate, UpdateSettings
from agent_booking.entrypoints.http.presenters import (
    availability_view,
    booking_created,
    created_outcome,
    settings_view,
)
from agent_booking.entrypoints.http.spoken_text import Speech
from tests.unit.builders import NOW

__all__ = [
    "AvailabilityFromQuery",
    "CreateFromBody",
    "SettingsFromDocument",
    "availability_body",
    "settings_document",
    "success_body",
]


class CreateFromBody(CreateAgentBooking):
    """Books from a request body (``BookingRequest.from_mapping``, as the endpoint does)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notifier: Notifier,
        *,
        date_order: DateOrder = DateOrder.DMY,
        **options: Any,
    ) -> None:
        super().__init__(uow, clock, notifier, **options)
        self.date_order = date_order

    async def __call__(  # type: ignore[override]
        self, body: object, *, idempotency_key: str | None = None
    ) -> AgentBookingResult:
        request = BookingRequest.from_mapping(body, self.date_order)
        idempotency = (
            None if idempotency_key is None else IdempotentSuccess(idempotency_key, created_outcome)
        )
        return await super().__call__(request, idempotency=idempotency)


class AvailabilityFromQuery(CheckAvailability):
    """Checks ``{"date"}`` or ``{"from", "to"}`` query parameters, as the route does."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, *, date_order: DateOrder = DateOrder.DMY
    ) -> None:
        super().__init__(uow, clock)
        self.date_order = date_order

    async def __call__(self, query: Mapping[str, str]) -> Availability:  # type: ignore[override]
        wanted = AvailabilityQuery.parse(
            date=query.get("date"),
            first=query.get("from"),
            last=query.get("to"),
            service_id=query.get("service_id"),
            resource_id=query.get("resource_id"),
            date_order=self.date_order,
        )
        return await super().__call__(wanted)


class SettingsFromDocument(UpdateSettings):
    """Applies a partial settings document, as the admin API does."""

    async def __call__(self, raw: Mapping[str, object]) -> SettingsUpdate:  # type: ignore[override]
        return await super().__call__(SettingsChanges.from_mapping(raw))


def success_body(result: AgentBookingResult) -> dict[str, Any]:
    """The create endpoint's 201 body for ``result``."""
    body = booking_created(
        result.booking, result.customer, result.customer_created, result.placement
    )
    converted: dict[str, Any] = msgspec.to_builtins(body)
    return converted


def availability_body(availability: Availability) -> dict[str, Any]:
    """The availability answer without each day's ``spoken`` (tests/unit/test_spoken.py
    covers it), so that these tests read as the slots they check."""
    converted: dict[str, Any] = msgspec.to_builtins(
        availability_view(availability, Speech(SpokenStarts("en"), FixedClock(NOW)))
    )
    for day in converted["days"]:
        del day["spoken"]
    return converted


def settings_document(settings: BusinessSettings) -> dict[str, Any]:
    converted: dict[str, Any] = msgspec.to_builtins(settings_view(settings))
    return converted
