"""The endpoint under test: its path, request bodies, and the response bodies the contract fixes.

Success bodies are compared whole against the spec's shape and error bodies against
``{"success": false, "message", "code"}`` (DESIGN.md's HTTP contract), so an extra, missing or
renamed key fails a test just as a wrong value does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from typing import Any

import httpx

__all__ = [
    "CREATE_PATH",
    "assert_created",
    "assert_created_for_the_public",
    "assert_error",
    "booking_body",
    "unique_phone",
    "unique_service",
]

CREATE_PATH = "/api/agent/booking/create/"

_ERROR_KEYS = {"success", "message", "code"}
_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
#: How far a booking's ``created_at`` may be from the test's clock (same machine).
_CLOCK_SLACK = dt.timedelta(minutes=2)
#: Ten-digit phone numbers no two tests of one run share (tests share servers and databases).
_PHONES = itertools.count(5_550_000_001)


def unique_phone() -> str:
    return str(next(_PHONES))


def unique_service(label: str = "Legal Consultation") -> str:
    """A service name that identifies one test's bookings in a shared database."""
    return f"{label} {uuid.uuid4().hex[:8]}"


def booking_body(day: dt.date, time: str = "14:00", /, **fields: Any) -> dict[str, Any]:
    """The spec's basic request for ``day`` at ``time`` and a new phone; ``fields`` override."""
    return {
        "phone": unique_phone(),
        "service_name": "Legal Consultation",
        "booking_date": day.isoformat(),
        "booking_time": time,
    } | fields


#: Refusals of a valid date at a bad or taken time offer the nearest free slots instead.
_CODES_WITH_ALTERNATIVES = frozenset({"slot_taken", "outside_working_hours", "not_slot_start"})


def assert_error(
    response: httpx.Response,
    status: int,
    code: str,
    message: str | None = None,
    *,
    message_prefix: str | None = None,
) -> dict[str, Any]:
    """Our error body, exactly; ``alternatives`` is allowed only on a refused slot or time."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("content-type", "").startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body, dict), body
    extra = set(body) - _ERROR_KEYS
    if code in _CODES_WITH_ALTERNATIVES and "alternatives" in body:
        extra.discard("alternatives")
        alternatives = body["alternatives"]
        assert isinstance(alternatives, list), body
        assert alternatives, "alternatives must be left out rather than empty"
        for alternative in alternatives:
            assert set(alternative) == {"booking_date", "booking_time", "spoken"}, alternative
            assert isinstance(alternative["spoken"], str), alternative
            assert alternative["spoken"], alternative
    assert not extra, f"unexpected keys {sorted(extra)} in {body}"
    assert body["success"] is False, body
    assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    if message_prefix is not None:
        assert body["message"].startswith(message_prefix), body
    assert isinstance(body["message"], str), body
    assert body["message"], body
    return body


def one_resource(service_name: str, slot_minutes: int = 60) -> dict[str, Any]:
    """What a booking of a one-resource business gains in answers (issue 14): the resource
    migration 0004 creates, and the request's free-text service booked for one slot."""
    return {
        "resource": {"id": 1, "name": "Default"},
        "service": {"id": None, "name": service_name, "duration_minutes": slot_minutes},
    }


def assert_created(
    response: httpx.Response,
    request: dict[str, Any],
    *,
    user_created: bool,
    booking_date: dt.date,
    booking_time: str = "14:00:00",
    user: dict[str, Any] | None = None,
    placement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The spec's success body for ``request``, exactly, with the booking's resource and
    service (``placement``; by default :func:`one_resource`).

    ``user`` overrides the expected customer fields (an existing customer keeps the profile of
    their first booking, whatever a later request says).
    """
    assert response.status_code == 201, (response.status_code, response.text)
    body = response.json()
    booking_id = body.get("booking_id")
    user_id = body.get("user_id")
    assert isinstance(booking_id, int), body
    assert isinstance(user_id, int), body
    assert booking_id > 0, body
    assert user_id > 0, body
    created_at = body.get("data", {}).get("booking", {}).get("created_at", "")
    assert _ISO_UTC.fullmatch(created_at), body
    instant = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    assert abs(instant - dt.datetime.now(dt.UTC)) < _CLOCK_SLACK, created_at

    profile = {
        "first_name": request.get("first_name", ""),
        "last_name": request.get("last_name", ""),
        "email": request.get("email", ""),
    } | (user or {})
    phone = (user or {}).get("phone", request["phone"])
    expected = {
        "success": True,
        "message": "Booking created successfully",
        "user_created": user_created,
        "user_id": user_id,
        "booking_id": booking_id,
        "data": {
            "booking": {
                "id": booking_id,
                "service_name": request["service_name"],
                "booking_date": booking_date.isoformat(),
                "booking_time": booking_time,
                "status": request.get("status", "upcoming"),
                "notes": request.get("notes", ""),
                "created_at": created_at,
            }
            | (placement or one_resource(request["service_name"])),
            "user": {
                "id": user_id,
                "username": phone,
                "first_name": profile["first_name"],
                "last_name": profile["last_name"],
                "email": profile["email"],
                "phone": phone,
                "is_active": True,
                "created": user_created,
            },
        },
    }
    assert body == expected
    return body


def assert_created_for_the_public(
    response: httpx.Response,
    request: dict[str, Any],
    *,
    booking_date: dt.date,
    booking_time: str = "14:00:00",
    placement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The success body for a caller that is not a trusted agent, exactly: the spec's keys and
    booking, the customer only as ``request`` described it, ``null`` for what only the stored
    customer could tell (its id, whether the phone was new, whether it is active)."""
    assert response.status_code == 201, (response.status_code, response.text)
    body = response.json()
    booking_id = body.get("booking_id")
    assert isinstance(booking_id, int), body
    assert booking_id > 0, body
    created_at = body.get("data", {}).get("booking", {}).get("created_at", "")
    assert _ISO_UTC.fullmatch(created_at), body
    expected = {
        "success": True,
        "message": "Booking created successfully",
        "user_created": None,
        "user_id": None,
        "booking_id": booking_id,
        "data": {
            "booking": {
                "id": booking_id,
                "service_name": request["service_name"],
                "booking_date": booking_date.isoformat(),
                "booking_time": booking_time,
                "status": request.get("status", "upcoming"),
                "notes": request.get("notes", ""),
                "created_at": created_at,
            }
            | (placement or one_resource(request["service_name"])),
            "user": {
                "id": None,
                "username": request["phone"],
                "first_name": request.get("first_name", ""),
                "last_name": request.get("last_name", ""),
                "email": request.get("email", ""),
                "phone": request["phone"],
                "is_active": None,
                "created": None,
            },
        },
    }
    assert body == expected
    return body
