"""Fixed instants and request bodies shared by the unit tests.

The clock stands still at Wednesday 2026-11-25 10:00 UTC, so every date below is deterministic.
"""

from __future__ import annotations

import pendulum

__all__ = [
    "LAST_SUNDAY",
    "NEXT_SUNDAY",
    "NOW",
    "ONE_RESOURCE_PLACEMENT",
    "TODAY",
    "TOMORROW",
    "basic_body",
    "complete_body",
    "without",
]

NOW = pendulum.datetime(2026, 11, 25, 10, 0, tz="UTC")  # a Wednesday
TODAY = pendulum.Date(2026, 11, 25)
TOMORROW = pendulum.Date(2026, 11, 26)  # a Thursday
NEXT_SUNDAY = pendulum.Date(2026, 11, 29)
#: What a booking of a one-resource business gains in answers and messages (issue 14): the
#: resource migration 0004 creates, and the spec's free-text service booked for a slot.
ONE_RESOURCE_PLACEMENT: dict[str, object] = {
    "resource": {"id": 1, "name": "Default"},
    "service": {"id": None, "name": "Legal Consultation", "duration_minutes": 60},
}
LAST_SUNDAY = pendulum.Date(2026, 11, 22)


def basic_body(**overrides: object) -> dict[str, object]:
    """The spec's basic request, for tomorrow 14:00, with ``overrides`` applied."""
    body: dict[str, object] = {
        "phone": "1234567890",
        "service_name": "Legal Consultation",
        "booking_date": TOMORROW.isoformat(),
        "booking_time": "14:00",
    }
    body.update(overrides)
    return body


def complete_body(**overrides: object) -> dict[str, object]:
    """The spec's complete request, for tomorrow 14:00, with ``overrides`` applied."""
    body = basic_body(
        first_name="John",
        last_name="Doe",
        email="john.doe@example.com",
        gender="male",
        country="USA",
        notes="Agent created booking",
        status="upcoming",
    )
    body.update(overrides)
    return body


def without(body: dict[str, object], *names: str) -> dict[str, object]:
    """``body`` with the named fields left out."""
    return {name: value for name, value in body.items() if name not in names}
