"""Domain events, and the payload the spec defines for a booking event.

Events are written to an outbox in the same transaction as the booking they describe, so their
payload is built here, from committed-to-be entities, in the spec's WebSocket message format.
(HTTP answers are the HTTP layer's: ``agent_booking.entrypoints.http.presenters``.)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pendulum
from attrs import frozen

from agent_booking.core.entities import Booking, Customer
from agent_booking.core.instants import as_utc

if TYPE_CHECKING:
    from agent_booking.core.placement import Placement

__all__ = [
    "BOOKING_CANCELLED",
    "BOOKING_CREATED",
    "BOOKING_HELD",
    "BOOKING_RESCHEDULED",
    "EVENT_TYPES",
    "HOLD_RELEASED",
    "DomainEvent",
    "StoredEvent",
    "booking_event_payload",
    "format_instant",
    "format_time",
]

BOOKING_CREATED = "booking_created"
BOOKING_CANCELLED = "booking_cancelled"
BOOKING_RESCHEDULED = "booking_rescheduled"
BOOKING_HELD = "booking_held"
HOLD_RELEASED = "hold_released"

#: Every event type the service emits or is about to (holds and rescheduling are being built):
#: what a webhook subscription may ask for by name.
EVENT_TYPES = (BOOKING_CREATED, BOOKING_CANCELLED, BOOKING_RESCHEDULED, BOOKING_HELD, HOLD_RELEASED)

JsonObject = dict[str, Any]


@frozen
class DomainEvent:
    """Something that happened, not yet stored."""

    type: str
    payload: JsonObject
    occurred_at: pendulum.DateTime


@frozen
class StoredEvent:
    """An event as the outbox holds it: ``event_id`` grows with commit order."""

    event_id: int
    type: str
    payload: JsonObject
    occurred_at: pendulum.DateTime

    def message(self) -> JsonObject:
        """The WebSocket message: the spec's ``{"type", "data"}`` plus ``event_id``."""
        return {"type": self.type, "event_id": self.event_id, "data": self.payload}


def format_instant(instant: pendulum.DateTime) -> str:
    """UTC, second precision, ``Z`` suffix: ``2025-10-14T12:00:00Z`` as in the spec."""
    utc = as_utc(instant)
    # %-formatting: on the hot path, and about twice as fast as strftime or an f-string.
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
    )


def format_time(time: dt.time) -> str:
    """``HH:MM:SS``, as the spec shows booking times."""
    return time.isoformat(timespec="seconds")


def booking_event_payload(
    booking: Booking, customer: Customer, placement: Placement | None = None
) -> JsonObject:
    """The spec's ``data`` object of a booking message (plus status, notes and times), with
    the booking's ``resource`` and ``service`` objects when its ``placement`` is given."""
    payload: JsonObject = {
        "id": booking.id,
        "service_name": booking.service_name,
        "booking_date": booking.booking_date.isoformat(),
        "booking_time": format_time(booking.booking_time),
        "starts_at": format_instant(booking.starts_at),
        "status": booking.status.value,
        "notes": booking.notes,
        "created_at": format_instant(booking.created_at),
        "user_details": {
            "id": customer.id,
            "username": customer.username,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": customer.phone,
        },
    }
    if booking.hold_expires_at is not None:
        payload["hold_expires_at"] = format_instant(booking.hold_expires_at)
    if placement is not None:
        payload |= placement.as_json()
    return payload
