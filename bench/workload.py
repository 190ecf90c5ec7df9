"""The benchmark's workload, shared by every script: settings, slots, phones, seeded rows.

The wrk script (``create.lua``) computes the same slots and phones in Lua; this module is the
Python side of that contract (the raw SQLite ceiling, the seeding and the notification run use
it), so a change here must be mirrored there.

* Settings: open 00:00-23:59 every day, 1-minute slots, horizon 3650 days, UTC. That is
  1439 slots a day and about 5.2 million bookable slots.
* Slot ``k`` is day ``day0 + k // 1439`` at minute ``k % 1439``; ``day0`` is tomorrow (UTC).
  Load runs book even slots (``k = 2 n``), the seeded bookings occupy odd ones.
* Phones: ``+1`` and ten digits for seeded customers (``known_phone(i)``); ``+2``, a two-digit
  run number and ten digits for new ones. Every fifth booking is for a new phone.
* Scenario (r), several resources and services: ``RESOURCES`` resources (ids 1..5, all working
  the settings' hours) and the ``SERVICES`` catalog. Request ``n`` books resource
  ``n % RESOURCES + 1``; that resource's ``m = n // RESOURCES``-th booking is service
  ``SERVICES[m % 3]`` starting ``BLOCK_LEAD`` minutes into block ``m`` of ``BLOCK_MINUTES``
  (``BLOCKS_PER_DAY`` a day from midnight), so every occupied interval, buffers included, lies
  inside its own block and no two requests of a run collide.
"""

from __future__ import annotations

import datetime as dt
import json

__all__ = [
    "BLOCKS_PER_DAY",
    "BLOCK_LEAD",
    "BLOCK_MINUTES",
    "CLOSE",
    "HORIZON_DAYS",
    "OPEN",
    "RESOURCES",
    "SERVICES",
    "SLOTS_PER_DAY",
    "SLOT_MINUTES",
    "booking_body",
    "day0",
    "known_phone",
    "new_phone",
    "phone_for",
    "resource_booking_body",
    "settings_args",
    "slot_start",
]

OPEN = "00:00"
CLOSE = "23:59"
SLOT_MINUTES = 1
SLOTS_PER_DAY = (23 * 60 + 59) // SLOT_MINUTES
HORIZON_DAYS = 3650
NEW_PHONE_EVERY = 5
SERVICE_NAME = "Consultation"

RESOURCES = 5
#: (name, duration, buffer before, buffer after) in minutes; mirrored in create.lua.
SERVICES = (("Check-up", 30, 0, 0), ("Treatment", 60, 5, 10), ("Long session", 90, 15, 15))
BLOCK_MINUTES = 120
BLOCK_LEAD = 15  # the largest buffer before
BLOCKS_PER_DAY = 12  # the last block's 90-minute service ends at 23:45, before closing (23:59)


def settings_args() -> list[str]:
    """``booking settings set`` options that give the benchmark millions of distinct slots."""
    return [
        "settings",
        "set",
        "--open",
        OPEN,
        "--close",
        CLOSE,
        "--off-days",
        "none",
        "--slot-minutes",
        str(SLOT_MINUTES),
        "--horizon-days",
        str(HORIZON_DAYS),
    ]


def day0(today: dt.date | None = None) -> dt.date:
    """The first bookable day of the benchmark: tomorrow in UTC, so no slot is in the past."""
    return (today or dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=1)


def slot_start(k: int, first_day: dt.date) -> dt.datetime:
    """Start (UTC) of slot ``k``."""
    day, index = divmod(k, SLOTS_PER_DAY)
    minute = index * SLOT_MINUTES
    return dt.datetime(
        first_day.year, first_day.month, first_day.day, tzinfo=dt.UTC
    ) + dt.timedelta(days=day, minutes=minute)


def known_phone(index: int) -> str:
    return f"+1{index:010d}"


def new_phone(run: int, n: int) -> str:
    return f"+2{run:02d}{n:010d}"


def phone_for(n: int, run: int, pool: int) -> str:
    """Request ``n``'s phone, as create.lua picks it: every fifth new, the rest from the pool."""
    if (n + 1) % NEW_PHONE_EVERY == 0:
        return new_phone(run, n)
    return known_phone((n * 7919) % pool)


def booking_body(n: int, run: int, pool: int, first_day: dt.date) -> dict[str, str]:
    """The request body of booking ``n`` (slot ``2 n``), as create.lua builds it."""
    start = slot_start(2 * n, first_day)
    return {
        "phone": phone_for(n, run, pool),
        "service_name": SERVICE_NAME,
        "booking_date": start.date().isoformat(),
        "booking_time": start.strftime("%H:%M"),
        "first_name": "Bench",
        "last_name": "Load",
        "email": "bench@example.com",
    }


def resource_booking_body(n: int, run: int, pool: int, first_day: dt.date) -> dict[str, object]:
    """The request body of booking ``n`` in scenario (r), as create.lua builds it with
    ``RESOURCES`` given: a catalog service by name, on an explicit resource."""
    resource, m = n % RESOURCES + 1, n // RESOURCES
    day, block = divmod(m, BLOCKS_PER_DAY)
    start = dt.datetime(
        first_day.year, first_day.month, first_day.day, tzinfo=dt.UTC
    ) + dt.timedelta(days=day, minutes=block * BLOCK_MINUTES + BLOCK_LEAD)
    return {
        "phone": phone_for(n, run, pool),
        "service_name": SERVICES[m % len(SERVICES)][0],
        "resource_id": resource,
        "booking_date": start.date().isoformat(),
        "booking_time": start.strftime("%H:%M"),
        "first_name": "Bench",
        "last_name": "Load",
        "email": "bench@example.com",
    }


def event_payload(
    booking_id: int,
    start: dt.datetime,
    created: str,
    customer: tuple[int, str, str, str, str],
    status: str = "upcoming",
) -> str:
    """The outbox payload the service writes for a booking (see booking_event_payload)."""
    customer_id, phone, first_name, last_name, email = customer
    return json.dumps(
        {
            "id": booking_id,
            "service_name": SERVICE_NAME,
            "booking_date": start.date().isoformat(),
            "booking_time": start.strftime("%H:%M:%S"),
            "starts_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": status,
            "notes": "",
            "created_at": created,
            "user_details": {
                "id": customer_id,
                "username": phone,
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                "phone": phone,
            },
        },
        separators=(",", ":"),
    )
