"""The reusable parts of the OpenAPI document: component schemas, headers, parameters, examples.

Each schema says what the code accepts or answers: the limits and formats of a create request
(``booking_core.request``), the documents of ``booking_core.events`` and ``settings``, the
availability and admin views. Where the core exports the value (required fields, statuses,
weekday names, page size) it is used here; the length limits are checked against the server by
``tests/integration/test_openapi.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from booking_core.entities import OPEN_STATUSES, BookingStatus
from booking_core.queries import MAX_PAGE_SIZE
from booking_core.request import REQUIRED_FIELDS
from booking_core.settings import WEEKDAY_NAMES
from entrypoints.http.dashboard_socket import RECENT_BOOKINGS
from entrypoints.http.routes import IDEMPOTENCY_KEY_HEADER

__all__ = [
    "ACCEPTED_TIME",
    "API_KEY_HEADER",
    "BASIC_REQUEST",
    "BOOKING_VIEW_EXAMPLE",
    "COMPLETE_REQUEST",
    "CREATED_EXAMPLE",
    "JSON",
    "PHONE",
    "RATE_LIMIT_HEADERS",
    "REPLAYED_HEADER",
    "REQUEST_ID_HEADER",
    "SETTINGS_EXAMPLE",
    "JsonObject",
    "array_schema",
    "component_schemas",
    "header_components",
    "headers",
    "integer_schema",
    "object_schema",
    "parameter_components",
    "query_parameter",
    "ref",
    "schema_ref",
    "text_schema",
]

JsonObject = dict[str, Any]

JSON: Final = "application/json"
API_KEY_HEADER: Final = "X-API-Key"
REQUEST_ID_HEADER: Final = "X-Request-ID"
REPLAYED_HEADER: Final = "Idempotent-Replayed"


# --- building blocks ------------------------------------------------------------------------------


def ref(kind: str, name: str) -> JsonObject:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema_ref(name: str) -> JsonObject:
    return ref("schemas", name)


def object_schema(
    properties: dict[str, JsonObject],
    *,
    required: Iterable[str] | None = None,
    description: str | None = None,
    closed: bool = True,
) -> JsonObject:
    """An object schema; every property is required unless ``required`` says otherwise."""
    schema: JsonObject = {"type": "object"}
    if description:
        schema["description"] = description
    schema["required"] = list(properties if required is None else required)
    schema["properties"] = properties
    schema["additionalProperties"] = not closed
    return schema


def text_schema(description: str, **constraints: Any) -> JsonObject:
    return {"type": "string", "description": description, **constraints}


def integer_schema(description: str, **constraints: Any) -> JsonObject:
    return {"type": "integer", "description": description, **constraints}


def array_schema(items: JsonObject, description: str) -> JsonObject:
    return {"type": "array", "items": items, "description": description}


def _true() -> JsonObject:
    return {"const": True}


#: Characters the core refuses in text fields (Unicode category Cc, ``request._printable``).
_CONTROLS = r"\u0000-\u001f\u007f-\u009f"
#: The same, less tab, line feed and carriage return, which notes may contain.
_CONTROLS_BUT_LINES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_NO_CONTROLS = rf"^[^{_CONTROLS}]*$"
_NOT_BLANK = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"
#: ``booking_core.parsing``'s formats; a matching value can still be no such day or time.
_ACCEPTED_DATE = (
    r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
    r"|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4})$"
)
ACCEPTED_TIME = r"^([0-9]{1,2}:[0-9]{2}(:[0-9]{2})?|[0-9]{1,2}:[0-9]{2} ?[AaPp][Mm])$"
#: 6 to 15 digits, optionally after ``+``, among spaces, dashes, dots and parentheses.
PHONE = r"^[\s.()-]*\+?([\s.()-]*[0-9]){6,15}[\s.()-]*$"
_EMAIL_PART = rf"[^@\s{_CONTROLS}]+"
_EMAIL = rf"^({_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART})?$"


_DATE_FORMATS = (
    "`YYYY-MM-DD`, `DD/MM/YYYY`, `MM/DD/YYYY`, `DD-MM-YYYY` or `MM-DD-YYYY`; an ambiguous "
    "`05/06/2027` is read day first (month first with `BOOKING_DATE_ORDER=MDY`), a pair with "
    "a number above 12 the only way it can be read"
)


_TIME_FORMATS = "`HH:MM`, `H:MM AM/PM`, `H:MMAM/PM` (any case) or `HH:MM:SS`"


def _value_schemas() -> dict[str, JsonObject]:
    return {
        "Date": text_schema("A calendar date, ISO 8601.", format="date", examples=["2027-10-20"]),
        "Time": text_schema(
            "A local time of day in the business time zone, `HH:MM:SS`.",
            pattern=r"^[0-9]{2}:[0-9]{2}:[0-9]{2}$",
            examples=["14:00:00"],
        ),
        "Instant": text_schema(
            "A UTC instant to the second, ISO 8601 with a `Z` suffix.",
            format="date-time",
            pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
            examples=["2026-11-25T12:00:00Z"],
        ),
        "AcceptedDate": text_schema(
            f"A date in any accepted format: {_DATE_FORMATS}.",
            maxLength=32,
            pattern=_ACCEPTED_DATE,
            examples=["2027-10-20", "20/10/2027", "10-20-2027"],
        ),
        "AcceptedTime": text_schema(
            f"A local time in the business time zone: {_TIME_FORMATS}.",
            maxLength=32,
            pattern=ACCEPTED_TIME,
            examples=["14:00", "2:00 PM", "2:00pm", "14:00:00"],
        ),
        "BookingStatus": {
            "type": "string",
            "enum": [status.value for status in BookingStatus],
            "description": "A booking's status.",
        },
    }


# --- errors ---------------------------------------------------------------------------------------


def _error_schemas() -> dict[str, JsonObject]:
    error_properties: dict[str, JsonObject] = {
        "success": {"const": False},
        "message": text_schema("For people: what went wrong.", minLength=1),
        "code": text_schema(
            "For programs: a stable machine name. Each response lists the codes it can carry.",
            pattern="^[a-z_]+$",
        ),
    }
    return {
        "Error": object_schema(
            error_properties,
            description='Every error body: `{"success": false, "message", "code"}`.',
        ),
        "RefusalWithAlternatives": object_schema(
            {
                **error_properties,
                "alternatives": {
                    "type": "array",
                    "minItems": 1,
                    "items": schema_ref("SlotSuggestion"),
                    "description": (
                        "The nearest free slots (same day first), on `slot_taken`, "
                        "`outside_working_hours` and `not_slot_start` refusals of a create; "
                        "left out when there is none."
                    ),
                },
            },
            required=["success", "message", "code"],
            description="An error body that may offer free slots instead of the refused one.",
        ),
        "SlotSuggestion": object_schema(
            {"booking_date": schema_ref("Date"), "booking_time": schema_ref("Time")},
            description="A free slot start, ready to send back as a create request's fields.",
        ),
    }


# --- headers and parameters -----------------------------------------------------------------------


def header_components() -> dict[str, JsonObject]:
    def header(description: str, schema: JsonObject) -> JsonObject:
        return {"description": description, "schema": schema}

    seconds = {"type": "string", "pattern": "^[0-9]+$"}
    return {
        "RequestId": header(
            "This request's id, in every response and in every log line of the request: the "
            f"client's `{REQUEST_ID_HEADER}` if it sent a valid one (1 to 128 characters of "
            "`A-Z a-z 0-9 ._~:;=+/@-`), else a fresh one.",
            {"type": "string", "minLength": 1, "maxLength": 128},
        ),
        "RateLimitLimit": header(
            "Requests this client may make per window (when rate limiting is on).", seconds
        ),
        "RateLimitRemaining": header("Requests left in the current window.", seconds),
        "RateLimitReset": header("Seconds until the current window ends.", seconds),
        "RetryAfter": header("Seconds to wait before retrying.", seconds),
        "IdempotentReplayed": header(
            "`true` when this is the recorded outcome of an earlier request with the same "
            "`Idempotency-Key` and body, replayed instead of run again.",
            {"type": "string", "enum": ["true"]},
        ),
        "BearerChallenge": header("`Bearer`: the admin token is required.", {"type": "string"}),
        "ApiKeyChallenge": header(
            f'`ApiKey header="{API_KEY_HEADER}"`: an agent API key is required.',
            {"type": "string"},
        ),
    }


def headers(*names: str) -> dict[str, JsonObject]:
    wire_names = {
        "RequestId": REQUEST_ID_HEADER,
        "RateLimitLimit": "RateLimit-Limit",
        "RateLimitRemaining": "RateLimit-Remaining",
        "RateLimitReset": "RateLimit-Reset",
        "RetryAfter": "Retry-After",
        "IdempotentReplayed": REPLAYED_HEADER,
        "BearerChallenge": "WWW-Authenticate",
        "ApiKeyChallenge": "WWW-Authenticate",
    }
    return {wire_names[name]: ref("headers", name) for name in ("RequestId", *names)}


RATE_LIMIT_HEADERS: Final = ("RateLimitLimit", "RateLimitRemaining", "RateLimitReset")


def query_parameter(name: str, schema: JsonObject, description: str) -> JsonObject:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def parameter_components() -> dict[str, JsonObject]:
    return {
        "IdempotencyKey": {
            "name": IDEMPOTENCY_KEY_HEADER,
            "in": "header",
            "required": False,
            "description": (
                "Makes a retried create safe: the first request with a key is run and its "
                "outcome (201, or a 400/409/422 refusal) recorded; a retry with the same key "
                f"and body gets that outcome again, with `{REPLAYED_HEADER}: true`, instead of a "
                "second booking. The same key with another body is refused (422 "
                "`idempotency_key_reused`); a retry while the first request still runs waits "
                "for it briefly, then gets 409 `idempotency_in_progress`. Outages (5xx) are not "
                "recorded, so a retry runs again. Keys are kept 48 hours."
            ),
            "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            "example": "7f9c2ba4-e88f-4c1b-9d4a-2f6a7f1d3e21",
        },
        "BookingId": {
            "name": "booking_id",
            "in": "path",
            "required": True,
            "description": "The booking's id (a 64-bit integer).",
            "schema": {"type": "integer", "minimum": 1},
        },
    }


# --- agent endpoints ------------------------------------------------------------------------------


def _create_request_schema() -> JsonObject:
    def optional_text(limit: int, description: str, pattern: str = _NO_CONTROLS) -> JsonObject:
        return {
            "type": ["string", "null"],
            "maxLength": limit,
            "pattern": pattern,
            "description": description,
        }

    properties: dict[str, JsonObject] = {
        "phone": text_schema(
            "The customer's phone number and username: 6 to 15 digits once spaces, dashes, "
            "dots and parentheses are removed, optionally starting with `+`.",
            pattern=PHONE,
            examples=["1234567890", "+44 20 7946 0958"],
        ),
        "service_name": text_schema(
            "Name of the service, 1 to 100 characters (after trimming), no control characters.",
            minLength=1,
            maxLength=100,
            pattern=_NOT_BLANK,
        ),
        "booking_date": {"$ref": "#/components/schemas/AcceptedDate"},
        "booking_time": {"$ref": "#/components/schemas/AcceptedTime"},
        "first_name": optional_text(150, "Used only when the phone is new."),
        "last_name": optional_text(150, "Used only when the phone is new."),
        "email": {
            "type": ["string", "null"],
            "maxLength": 254,
            "pattern": _EMAIL,
            "description": "A valid address; used only when the phone is new.",
        },
        "gender": {
            "enum": ["male", "female", "other", None],
            "description": "Any case. Used only when the phone is new.",
        },
        "country": optional_text(100, "Used only when the phone is new."),
        "notes": optional_text(
            2000,
            "Booking notes; may span lines (tabs and line breaks allowed).",
            rf"^[^{_CONTROLS_BUT_LINES}]*$",
        ),
        "status": {
            "enum": [*sorted(status.value for status in OPEN_STATUSES), None],
            "description": "Any case; `upcoming` when left out.",
        },
    }
    return object_schema(
        properties,
        required=REQUIRED_FIELDS,
        closed=False,
        description=(
            "A create request. Blank required fields count as missing; `null` optional fields "
            "as left out; other fields are ignored. An existing customer (same phone) is never "
            "modified by this endpoint."
        ),
    )


def _create_response_schemas() -> dict[str, JsonObject]:
    return {
        "CreateBookingRequest": _create_request_schema(),
        "BookingCreated": object_schema(
            {
                "success": _true(),
                "message": {"const": "Booking created successfully"},
                "user_created": {"type": "boolean", "description": "The phone was new."},
                "user_id": integer_schema("The customer's id."),
                "booking_id": integer_schema("The booking's id."),
                "data": object_schema(
                    {"booking": schema_ref("CreatedBooking"), "user": schema_ref("CreatedUser")}
                ),
            },
            description="The spec's success body.",
        ),
        "CreatedBooking": object_schema(
            {
                "id": integer_schema("The booking's id."),
                "service_name": {"type": "string"},
                "booking_date": schema_ref("Date"),
                "booking_time": schema_ref("Time"),
                "status": {"enum": sorted(status.value for status in OPEN_STATUSES)},
                "notes": {"type": "string"},
                "created_at": schema_ref("Instant"),
            }
        ),
        "CreatedUser": object_schema(
            {
                "id": integer_schema("The customer's id."),
                "username": text_schema("The normalised phone."),
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "email": {"type": "string"},
                "phone": text_schema("The normalised phone."),
                "is_active": {"type": "boolean"},
                "created": {"type": "boolean", "description": "Same as `user_created`."},
            }
        ),
    }


BASIC_REQUEST: Final = {
    "phone": "1234567890",
    "service_name": "Legal Consultation",
    "booking_date": "2027-10-20",
    "booking_time": "14:00",
}


COMPLETE_REQUEST: Final = {
    "phone": "1234567890",
    "first_name": "John",
    "last_name": "Doe",
    "email": "john.doe@example.com",
    "gender": "male",
    "country": "USA",
    "service_name": "Legal Consultation",
    "booking_date": "2027-10-20",
    "booking_time": "14:00",
    "notes": "Agent created booking",
    "status": "upcoming",
}


CREATED_EXAMPLE: Final = {
    "success": True,
    "message": "Booking created successfully",
    "user_created": True,
    "user_id": 123,
    "booking_id": 456,
    "data": {
        "booking": {
            "id": 456,
            "service_name": "Legal Consultation",
            "booking_date": "2027-10-20",
            "booking_time": "14:00:00",
            "status": "upcoming",
            "notes": "Agent created booking",
            "created_at": "2026-11-25T12:00:00Z",
        },
        "user": {
            "id": 123,
            "username": "1234567890",
            "first_name": "John",
            "last_name": "Doe",
            "email": "john.doe@example.com",
            "phone": "1234567890",
            "is_active": True,
            "created": True,
        },
    },
}


def _availability_schemas() -> dict[str, JsonObject]:
    return {
        "Availability": object_schema(
            {
                "success": _true(),
                "timezone": text_schema("The business time zone (IANA name).", examples=["UTC"]),
                "slot_minutes": integer_schema("Slot length in minutes.", minimum=1),
                "days": array_schema(schema_ref("DayAvailability"), "One entry per day, in order."),
            }
        ),
        "DayAvailability": object_schema(
            {
                "date": schema_ref("Date"),
                "closed": {
                    "enum": [None, "off_day", "closed_date"],
                    "description": "Why the day has no slots, or `null` for a working day.",
                },
                "free": array_schema(
                    schema_ref("Time"),
                    "Exactly the starts a create request would be granted now. Past starts "
                    "and starts beyond the horizon are in neither list.",
                ),
                "taken": array_schema(schema_ref("Time"), "Starts already booked."),
            }
        ),
    }


# --- admin API ------------------------------------------------------------------------------------


BOOKING_VIEW_EXAMPLE: Final = {
    "id": 7,
    "service_name": "Legal Consultation",
    "booking_date": "2026-12-01",
    "booking_time": "14:00:00",
    "starts_at": "2026-12-01T14:00:00Z",
    "status": "upcoming",
    "notes": "",
    "created_at": "2026-11-25T10:00:00Z",
    "user_details": {
        "id": 3,
        "username": "1234567890",
        "first_name": "John",
        "last_name": "Doe",
        "email": "john@example.com",
        "phone": "1234567890",
    },
}


SETTINGS_EXAMPLE: Final = {
    "open_time": "12:00",
    "close_time": "17:00",
    "off_days": ["sun"],
    "slot_minutes": 60,
    "timezone": "UTC",
    "horizon_days": 365,
    "closed_dates": ["2026-12-25"],
}


def _admin_schemas() -> dict[str, JsonObject]:
    weekday = {"enum": list(WEEKDAY_NAMES)}
    clock = text_schema("`HH:MM`, local time.", pattern=r"^[0-9]{2}:[0-9]{2}$")
    return {
        "BookingView": object_schema(
            {
                "id": integer_schema("The booking's id."),
                "service_name": {"type": "string"},
                "booking_date": schema_ref("Date"),
                "booking_time": schema_ref("Time"),
                "starts_at": schema_ref("Instant"),
                "status": schema_ref("BookingStatus"),
                "notes": {"type": "string"},
                "created_at": schema_ref("Instant"),
                "user_details": schema_ref("UserDetails"),
            },
            description="A booking as admins and the WebSocket see it.",
        ),
        "UserDetails": object_schema(
            {
                "id": integer_schema("The customer's id."),
                "username": {"type": "string"},
                "first_name": {"type": "string"},
                "last_name": {"type": "string"},
                "email": {"type": "string"},
                "phone": {"type": "string"},
            }
        ),
        "BookingList": object_schema(
            {
                "success": _true(),
                "data": array_schema(schema_ref("BookingView"), "Ordered by start time, then id."),
                "page": integer_schema("This page's number.", minimum=1),
                "page_size": integer_schema(
                    "Page size asked for.", minimum=1, maximum=MAX_PAGE_SIZE
                ),
                "total": integer_schema("Bookings matching the filters, on all pages.", minimum=0),
            }
        ),
        "BookingEnvelope": object_schema({"success": _true(), "data": schema_ref("BookingView")}),
        "CancelledBooking": object_schema(
            {
                "success": _true(),
                "message": {"const": "Booking cancelled"},
                "data": schema_ref("BookingView"),
            }
        ),
        "SettingsView": object_schema(
            {
                "open_time": clock,
                "close_time": clock,
                "off_days": array_schema(weekday, "Weekdays without slots."),
                "slot_minutes": integer_schema("Slot length.", minimum=1, maximum=24 * 60),
                "timezone": text_schema("IANA time zone name.", examples=["Europe/Berlin"]),
                "horizon_days": integer_schema(
                    "How many days ahead bookings are taken.", minimum=0
                ),
                "closed_dates": array_schema(schema_ref("Date"), "Dates without slots, in order."),
            },
            description="The business settings.",
        ),
        "SettingsChanges": object_schema(
            {
                "open_time": text_schema("A time such as `09:30`.", pattern=ACCEPTED_TIME),
                "close_time": text_schema("A time such as `18:00`.", pattern=ACCEPTED_TIME),
                "off_days": {
                    "type": ["array", "string"],
                    "items": {"type": "string"},
                    "description": (
                        "Weekday names (`mon`…`sun` or full names); also a comma-separated "
                        'string, `"none"` or `[]` for no off day.'
                    ),
                },
                "slot_minutes": integer_schema(
                    "Slot length, 1 to 1440, fitting the opening hours."
                ),
                "timezone": text_schema("An IANA time zone name."),
                "horizon_days": integer_schema("Days ahead bookings are taken, 0 to 3660."),
                "closed_dates": {
                    "type": ["array", "string"],
                    "items": text_schema("`YYYY-MM-DD`."),
                    "description": 'ISO dates; also a comma-separated string, `"none"` or `[]`.',
                },
            },
            required=[],
            description=(
                "Any subset of the settings view's fields. Unknown fields and inconsistent "
                "values are refused with 400 `invalid_settings`, and nothing changes."
            ),
        ),
        "SettingsEnvelope": object_schema({"success": _true(), "data": schema_ref("SettingsView")}),
        "SettingsUpdated": object_schema(
            {
                "success": _true(),
                "data": schema_ref("SettingsView"),
                "stranded_bookings": array_schema(
                    schema_ref("BookingView"),
                    "Active future bookings the new settings would no longer accept. They are "
                    "kept: the operator decides what to do with them.",
                ),
            }
        ),
    }


# --- the WebSocket's messages ---------------------------------------------------------------------


def _socket_schemas() -> dict[str, JsonObject]:
    return {
        "SocketBookingEvent": object_schema(
            {
                "type": {"enum": ["booking_created", "booking_cancelled"]},
                "event_id": integer_schema("Grows with commit order; resume with `?since=`."),
                "data": schema_ref("BookingView"),
            },
            description="A committed booking change: the spec's message plus `event_id`.",
        ),
        "SocketBookingsData": object_schema(
            {
                "type": {"const": "bookings_data"},
                "data": array_schema(
                    schema_ref("BookingView"), "The newest bookings, newest first."
                ),
            },
            description=f'The answer to `{{"type": "get_bookings"}}`: the {RECENT_BOOKINGS} '
            "newest bookings.",
        ),
        "SocketPong": object_schema({"type": {"const": "pong"}}),
        "SocketError": object_schema({"type": {"const": "error"}, "message": {"type": "string"}}),
        "SocketRequest": object_schema(
            {"type": {"enum": ["get_bookings", "ping"]}},
            closed=False,
            description="What a dashboard may send.",
        ),
    }


# --- all of them ----------------------------------------------------------------------------------


def component_schemas() -> dict[str, JsonObject]:
    return {
        **_value_schemas(),
        **_error_schemas(),
        **_create_response_schemas(),
        **_availability_schemas(),
        **_admin_schemas(),
        **_socket_schemas(),
    }
