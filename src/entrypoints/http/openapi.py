"""The OpenAPI 3.1 description of the HTTP API, and the routes that serve it.

Litestar's generated schema is off (the handlers read raw bodies, so it would describe nothing),
so the document is built here: by hand where only prose can say it, from the code wherever the
code already knows the answer. In particular every error ``code`` a response may carry comes
from the error classes of the core, grouped by the status :func:`errors.status_for` gives
them, and from the framework error table (:func:`errors.framework_error`), so the documented
codes and the server's cannot drift apart. ``tests/integration/test_openapi.py`` holds the
server to the document in both directions.

Served as JSON at ``/schema/openapi.json`` and as a self-contained HTML page at ``/schema``
(rendered by :mod:`entrypoints.http.openapi_page`; no script, no CDN). The reusable schemas,
headers, parameters and examples live in :mod:`entrypoints.http.openapi_schemas`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from booking_core.check_availability import MAX_AVAILABILITY_DAYS
from booking_core.errors import (
    BookingError,
    BookingNotActive,
    BookingNotFound,
    InvalidDate,
    InvalidField,
    InvalidRequestBody,
    InvalidSettings,
    MissingField,
    ServiceUnavailable,
    SettingsMissing,
    StorageUnavailable,
    TransientConflict,
)
from booking_core.queries import MAX_PAGE_SIZE
from entrypoints.http.admin_page import ADMIN_PAGE_PATH
from entrypoints.http.admin_routes import ADMIN_API_PATH, MAX_PAGE
from entrypoints.http.dashboard_socket import ADMIN_SOCKET_PATH
from entrypoints.http.errors import (
    INTERNAL_ERROR_CODE,
    STATUS_BY_ERROR_FAMILY,
    framework_error,
    status_for,
)
from entrypoints.http.metrics import METRICS_PATH
from entrypoints.http.openapi_page import render_docs_page
from entrypoints.http.openapi_schemas import (
    API_KEY_HEADER,
    BASIC_REQUEST,
    BOOKING_VIEW_EXAMPLE,
    COMPLETE_REQUEST,
    CREATED_EXAMPLE,
    JSON,
    PHONE,
    RATE_LIMIT_HEADERS,
    REQUEST_ID_HEADER,
    SETTINGS_EXAMPLE,
    JsonObject,
    component_schemas,
    header_components,
    headers,
    parameter_components,
    query_parameter,
    ref,
    schema_ref,
)
from entrypoints.http.routes import AVAILABILITY_PATH, BOOKING_CREATE_PATH

__all__ = [
    "DOCS_PAGE_PATH",
    "DOCS_STATIC_DIRECTORY",
    "OPENAPI_JSON_PATH",
    "ErrorCase",
    "domain_error_classes",
    "error_cases",
    "openapi_document",
    "schema_routes",
]

OPENAPI_JSON_PATH: Final = "/schema/openapi.json"
DOCS_PAGE_PATH: Final = "/schema"
#: The page's stylesheet, shipped in the package (``package-data``) and served from here.
DOCS_ASSETS_PATH: Final = "/schema/assets"
DOCS_STATIC_DIRECTORY: Final = Path(__file__).resolve().parent / "static" / "docs"

_AGENT: Final = "agent"
_ADMIN: Final = "admin"
_OPERATIONS: Final = "operations"
_DOCS: Final = "documentation"

# --- the error catalogue: derived from the code --------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    """One documented refusal: its status, its ``code`` and an example ``message``."""

    status: int
    code: str
    message: str


def domain_error_classes() -> tuple[type[BookingError], ...]:
    """Every error the core raises: ``BookingError``'s subclasses, less the family roots.

    A family root of ``errors.STATUS_BY_ERROR_FAMILY`` (``RequestValidationError``, ``Conflict``…)
    only groups its members for the status table; the core never raises one itself.
    """
    roots = {BookingError, *(family for family, _status in STATUS_BY_ERROR_FAMILY)}
    found: list[type[BookingError]] = []
    pending: list[type[BookingError]] = [BookingError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass not in roots and subclass not in found:
                found.append(subclass)
    return tuple(sorted(found, key=lambda error_class: error_class.code))


#: Arguments for the example of errors whose message is built from arguments.
_EXAMPLE_ARGUMENTS: Final[dict[type[BookingError], tuple[str, ...]]] = {
    MissingField: ("phone",),
    InvalidField: ("email", "not a valid e-mail address"),
    InvalidSettings: ("closing time must be after opening time",),
}


def _domain_case(error_class: type[BookingError]) -> ErrorCase:
    # The very function the server answers with, on an instance (``__new__`` skips the
    # constructor's arguments: ``status_for`` only looks at the class).
    status = status_for(error_class.__new__(error_class))
    try:
        message = error_class(*_EXAMPLE_ARGUMENTS.get(error_class, ())).message
    except TypeError:  # a new error that takes arguments: its default still says what it is
        message = error_class.default_message
    # An error family missing from the table is answered as a 500 (errors._booking_error).
    return ErrorCase(int(status or HTTPStatus.INTERNAL_SERVER_ERROR), error_class.code, message)


def _framework_case(status: HTTPStatus, message: str | None = None) -> ErrorCase:
    body = framework_error(status, message=message).content
    return ErrorCase(int(status), str(body["code"]), str(body["message"]))


def _internal_case() -> ErrorCase:
    return ErrorCase(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_CODE, "Internal server error")


def error_cases(*sources: type[BookingError] | ErrorCase) -> tuple[ErrorCase, ...]:
    """Domain error classes and framework cases, as cases; every operation can also 500."""
    cases = [
        source if isinstance(source, ErrorCase) else _domain_case(source) for source in sources
    ]
    return (*cases, _internal_case())


def _family(root: type[BookingError]) -> tuple[type[BookingError], ...]:
    return tuple(error for error in domain_error_classes() if issubclass(error, root))


#: Errors only the admin use cases raise (cancel, settings); the create endpoint raises the rest.
_ADMIN_ONLY_ERRORS: Final = (InvalidSettings, BookingNotFound, BookingNotActive)
_READ_UNAVAILABLE: Final = (SettingsMissing, StorageUnavailable)


def _create_errors() -> tuple[type[BookingError], ...]:
    return tuple(
        error for error in domain_error_classes() if not issubclass(error, _ADMIN_ONLY_ERRORS)
    )


def _agent_access_cases() -> tuple[ErrorCase, ...]:
    """What ``agent_access.AgentAccess`` answers before an agent endpoint runs."""
    return (
        _framework_case(HTTPStatus.UNAUTHORIZED, "API key required"),
        _framework_case(HTTPStatus.FORBIDDEN),
        _framework_case(HTTPStatus.TOO_MANY_REQUESTS),
    )


def _body_cases() -> tuple[ErrorCase, ...]:
    """What any request with a body can be refused with before its handler reads it."""
    return (
        _framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        _framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    )


# --- responses ------------------------------------------------------------------------------------


def _error_example(case: ErrorCase) -> JsonObject:
    body: JsonObject = {"success": False, "message": case.message, "code": case.code}
    if case.code == "slot_taken":
        body["alternatives"] = [
            {"booking_date": "2027-10-20", "booking_time": "15:00:00"},
            {"booking_date": "2027-10-21", "booking_time": "14:00:00"},
        ]
    return body


def _error_response(
    cases: Sequence[ErrorCase],
    response_headers: dict[str, JsonObject],
    *,
    alternatives: bool = False,
) -> JsonObject:
    codes = sorted({case.code for case in cases})
    status = HTTPStatus(cases[0].status)
    described = "; ".join(f"`{case.code}`: {case.message}" for case in cases)
    return {
        "description": f"{status.phrase}. {described}.",
        "headers": response_headers,
        "content": {
            JSON: {
                "schema": {
                    "allOf": [schema_ref("RefusalWithAlternatives" if alternatives else "Error")],
                    "properties": {"code": {"enum": codes}},
                },
                "examples": {
                    case.code: {"summary": case.message, "value": _error_example(case)}
                    for case in cases
                },
            }
        },
    }


#: Refusals recorded under an Idempotency-Key (and so replayed) and those that offer slots.
_REPLAYABLE_STATUSES: Final = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.CONFLICT, HTTPStatus.UNPROCESSABLE_ENTITY}
)
_ALTERNATIVE_STATUSES: Final = frozenset({HTTPStatus.CONFLICT, HTTPStatus.UNPROCESSABLE_ENTITY})


def _success(
    description: str,
    schema: str,
    response_headers: dict[str, JsonObject],
    example: JsonObject | None,
) -> JsonObject:
    media: JsonObject = {"schema": schema_ref(schema)}
    if example is not None:
        media["example"] = example
    return {"description": description, "headers": response_headers, "content": {JSON: media}}


def _error_responses(
    cases: Iterable[ErrorCase],
    *,
    common_headers: Sequence[str] = (),
    challenge: str = "BearerChallenge",
    replayable: bool = False,
    alternatives: bool = False,
) -> dict[str, JsonObject]:
    """One response per status, its codes as an enum, with the headers that status carries."""
    by_status: dict[int, list[ErrorCase]] = {}
    for case in cases:
        by_status.setdefault(case.status, []).append(case)
    responses: dict[str, JsonObject] = {}
    for status, group in sorted(by_status.items()):
        names = [*common_headers]
        if status == HTTPStatus.FORBIDDEN:  # refused before the request is counted
            names = [name for name in names if name not in RATE_LIMIT_HEADERS]
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            names.append("RetryAfter")
        if status == HTTPStatus.UNAUTHORIZED:
            names.append(challenge)
        if replayable and status in _REPLAYABLE_STATUSES:
            names.append("IdempotentReplayed")
        responses[str(status)] = _error_response(
            group,
            headers(*names),
            alternatives=alternatives and status in _ALTERNATIVE_STATUSES,
        )
    return responses


# --- agent endpoints ----------------------------------------------------------------------------


def _create_operation() -> JsonObject:
    cases = error_cases(*_create_errors(), *_agent_access_cases(), *_body_cases())
    return {
        "tags": [_AGENT],
        "operationId": "createAgentBooking",
        "summary": "Create a booking for a customer (created on first booking)",
        "description": (
            "Public unless agent API keys are configured. Checks run in this order and the "
            "first failure wins: required fields → formats → settings exist → not in the past "
            "→ within the horizon → off day / closed date → within working hours → on a slot "
            "start → slot free. A customer is created only together with a successful booking; "
            "each booking is announced on the admin WebSocket once committed. The body is read "
            "as JSON whatever its declared type, unless the type is declared as something other "
            "than JSON (415)."
        ),
        "security": [{}, {"AgentApiKey": []}],
        "parameters": [ref("parameters", "IdempotencyKey")],
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": schema_ref("CreateBookingRequest"),
                    "examples": {
                        "basic": {"summary": "Basic request", "value": BASIC_REQUEST},
                        "complete": {"summary": "Complete request", "value": COMPLETE_REQUEST},
                    },
                }
            },
        },
        "responses": {
            "201": _success(
                "Booked.",
                "BookingCreated",
                headers(*RATE_LIMIT_HEADERS, "IdempotentReplayed"),
                CREATED_EXAMPLE,
            ),
            **_error_responses(
                cases,
                common_headers=RATE_LIMIT_HEADERS,
                challenge="ApiKeyChallenge",
                replayable=True,
                alternatives=True,
            ),
        },
    }


def _availability_operation() -> JsonObject:
    date = schema_ref("AcceptedDate")
    cases = error_cases(
        MissingField, InvalidDate, InvalidField, *_READ_UNAVAILABLE, *_agent_access_cases()
    )
    return {
        "tags": [_AGENT],
        "operationId": "agentAvailability",
        "summary": "Free and taken slot starts per day",
        "description": (
            "Give `date`, or `from` (and optionally `to`, inclusive; a range covers at most "
            f"{MAX_AVAILABILITY_DAYS} days). Public unless agent API keys are configured."
        ),
        "security": [{}, {"AgentApiKey": []}],
        "parameters": [
            query_parameter("date", date, "One day. Takes precedence over `from`/`to`."),
            query_parameter("from", date, "First day of a range (required without `date`)."),
            query_parameter("to", date, "Last day of the range, inclusive (default: `from`)."),
        ],
        "responses": {
            "200": _success(
                "The days asked for.",
                "Availability",
                headers(*RATE_LIMIT_HEADERS),
                {
                    "success": True,
                    "timezone": "UTC",
                    "slot_minutes": 60,
                    "days": [
                        {
                            "date": "2027-10-20",
                            "closed": None,
                            "free": ["12:00:00", "13:00:00", "15:00:00", "16:00:00"],
                            "taken": ["14:00:00"],
                        },
                        {"date": "2027-10-24", "closed": "off_day", "free": [], "taken": []},
                    ],
                },
            ),
            **_error_responses(
                cases, common_headers=RATE_LIMIT_HEADERS, challenge="ApiKeyChallenge"
            ),
        },
    }


# --- admin API ----------------------------------------------------------------------------------


def _admin_operation(
    operation_id: str,
    summary: str,
    success: JsonObject,
    cases: Sequence[ErrorCase],
    **extra: Any,
) -> JsonObject:
    unauthorized = (_framework_case(HTTPStatus.UNAUTHORIZED),)
    return {
        "tags": [_ADMIN],
        "operationId": operation_id,
        "summary": summary,
        "security": [{"AdminToken": []}],
        **extra,
        "responses": {**success, **_error_responses((*unauthorized, *cases))},
    }


#: A booking id that is not a whole number matches no route: the framework's 404.
_NOT_AN_ID: Final = _framework_case(HTTPStatus.NOT_FOUND)


def _admin_paths() -> dict[str, JsonObject]:
    date = schema_ref("AcceptedDate")
    booking_id = [ref("parameters", "BookingId")]
    writes_unavailable = (StorageUnavailable, TransientConflict)
    return {
        f"{ADMIN_API_PATH}/bookings/": {
            "get": _admin_operation(
                "adminListBookings",
                "List bookings, filtered and paged",
                {"200": _success("A page of bookings.", "BookingList", headers(), None)},
                error_cases(InvalidDate, InvalidField, StorageUnavailable),
                parameters=[
                    query_parameter("from", date, "First booking date, inclusive."),
                    query_parameter("to", date, "Last booking date, inclusive."),
                    query_parameter(
                        "status", schema_ref("BookingStatus"), "Only bookings in this status."
                    ),
                    query_parameter(
                        "phone", {"type": "string", "pattern": PHONE}, "Customer's phone."
                    ),
                    query_parameter(
                        "page",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                        "Page.",
                    ),
                    query_parameter(
                        "page_size",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 50},
                        "Bookings per page.",
                    ),
                ],
            )
        },
        f"{ADMIN_API_PATH}/bookings/{{booking_id}}/": {
            "get": _admin_operation(
                "adminGetBooking",
                "One booking",
                {
                    "200": _success(
                        "The booking.",
                        "BookingEnvelope",
                        headers(),
                        {"success": True, "data": BOOKING_VIEW_EXAMPLE},
                    )
                },
                error_cases(BookingNotFound, _NOT_AN_ID, StorageUnavailable),
                parameters=booking_id,
            )
        },
        f"{ADMIN_API_PATH}/bookings/{{booking_id}}/cancel/": {
            "post": _admin_operation(
                "adminCancelBooking",
                "Cancel an upcoming or pending booking",
                {
                    "200": _success(
                        "Cancelled: the slot is free again at once, and dashboards receive "
                        "`booking_cancelled`.",
                        "CancelledBooking",
                        headers(),
                        {
                            "success": True,
                            "message": "Booking cancelled",
                            "data": BOOKING_VIEW_EXAMPLE | {"status": "cancelled"},
                        },
                    )
                },
                # The handler reads no body, so only the declared type can be refused (415).
                error_cases(
                    BookingNotFound,
                    _NOT_AN_ID,
                    BookingNotActive,
                    *writes_unavailable,
                    _framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
                ),
                parameters=booking_id,
            )
        },
        f"{ADMIN_API_PATH}/settings/": {
            "get": _admin_operation(
                "adminGetSettings",
                "The business settings",
                {
                    "200": _success(
                        "The settings.",
                        "SettingsEnvelope",
                        headers(),
                        {"success": True, "data": SETTINGS_EXAMPLE},
                    )
                },
                error_cases(*_READ_UNAVAILABLE),
            ),
            "patch": _admin_operation(
                "adminUpdateSettings",
                "Change some of the business settings",
                {
                    "200": _success(
                        "Changed; lists the bookings the new settings strand.",
                        "SettingsUpdated",
                        headers(),
                        {"success": True, "data": SETTINGS_EXAMPLE, "stranded_bookings": []},
                    )
                },
                error_cases(
                    InvalidRequestBody,
                    InvalidSettings,
                    *_family(ServiceUnavailable),
                    *_body_cases(),
                ),
                requestBody={
                    "required": True,
                    "content": {
                        JSON: {
                            "schema": schema_ref("SettingsChanges"),
                            "example": {"open_time": "09:00", "off_days": ["sat", "sun"]},
                        }
                    },
                },
            ),
        },
    }


# --- operations: health, metrics, pages -------------------------------------------------------


def _operations_paths() -> dict[str, JsonObject]:
    status = {"type": "object", "required": ["status"], "additionalProperties": False}
    return {
        "/health": {
            "get": {
                "tags": [_OPERATIONS],
                "operationId": "health",
                "summary": "Liveness: the process answers (touches nothing else)",
                "responses": {
                    "200": {
                        "description": "Alive.",
                        "headers": headers(),
                        "content": {
                            JSON: {
                                "schema": status | {"properties": {"status": {"const": "ok"}}},
                                "example": {"status": "ok"},
                            }
                        },
                    },
                    **_error_responses(error_cases()),
                },
            }
        },
        "/ready": {
            "get": {
                "tags": [_OPERATIONS],
                "operationId": "ready",
                "summary": "Readiness: the database answers and is migrated",
                "responses": {
                    "200": {
                        "description": "Ready.",
                        "headers": headers(),
                        "content": {
                            JSON: {
                                "schema": status | {"properties": {"status": {"const": "ready"}}},
                                "example": {"status": "ready"},
                            }
                        },
                    },
                    # Never a 500: any failure of the check is "not ready".
                    **_error_responses([_domain_case(StorageUnavailable)]),
                },
            }
        },
        METRICS_PATH: {
            "get": {
                "tags": [_OPERATIONS],
                "operationId": "metrics",
                "summary": "This process's metrics, Prometheus text format 0.0.4",
                "description": (
                    "Per process: with several workers each keeps its own, and a scrape reaches "
                    "whichever worker accepts it. Counters: `booking_bookings_created_total`, "
                    "`booking_rejections_total{code}`, "
                    "`booking_http_request_duration_seconds{route,method,status_class}` "
                    "(histogram), `booking_websocket_clients`, `booking_event_lag_seconds`."
                ),
                "responses": {
                    "200": {
                        "description": "The exposition.",
                        "headers": headers(),
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string"},
                                "example": (
                                    "# HELP booking_bookings_created_total Bookings committed.\n"
                                    "# TYPE booking_bookings_created_total counter\n"
                                    "booking_bookings_created_total 42\n"
                                ),
                            }
                        },
                    },
                    **_error_responses(error_cases()),
                },
            }
        },
        ADMIN_PAGE_PATH: _html_page(
            "adminPage",
            "The admin dashboard (asks for the admin token in the browser)",
            "The page; its scripts and styles are served under the same path. `/admin` "
            "redirects here.",
        ),
        DOCS_PAGE_PATH: _html_page(
            "docsPage", "This document, as a readable page", "The API documentation."
        ),
        OPENAPI_JSON_PATH: {
            "get": {
                "tags": [_DOCS],
                "operationId": "openapiDocument",
                "summary": "This document (OpenAPI 3.1)",
                "responses": {
                    "200": {
                        "description": "The document.",
                        "headers": headers(),
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    **_error_responses(error_cases()),
                },
            }
        },
    }


def _html_page(operation_id: str, summary: str, description: str) -> JsonObject:
    return {
        "get": {
            "tags": [_DOCS if operation_id == "docsPage" else _ADMIN],
            "operationId": operation_id,
            "summary": summary,
            "responses": {
                "200": {
                    "description": description,
                    "headers": headers(),
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                **_error_responses(error_cases()),
            },
        }
    }


# --- the WebSocket (OpenAPI 3.1 has no WebSocket operations) -------------------------------------


def _websockets() -> JsonObject:
    return {
        ADMIN_SOCKET_PATH: {
            "summary": "Live feed of committed bookings for admin dashboards",
            "description": (
                "The handshake needs the admin token, as `Authorization: Bearer <token>` or "
                "`?token=<token>`; without it (or with a wrong one, or a `since` that is not an "
                "event id) the connection is closed with code 1008 before it is accepted "
                "(clients see the handshake refused, HTTP 403). Each committed booking change "
                "arrives in `event_id` order; reconnect with `?since=<last event_id seen>` to "
                "get what was missed, in order, with no gap and no duplicate, then the live "
                "feed. A dashboard that stops reading is disconnected with close code 1013 and "
                "a reason naming the `since` to resume from; shutdown closes with 1001."
            ),
            "query": {
                "token": {"type": "string", "description": "The admin token (or use the header)."},
                "since": {"type": "integer", "minimum": 0, "description": "Last event id seen."},
            },
            "security": [{"AdminToken": []}],
            "serverMessages": [
                schema_ref("SocketBookingEvent"),
                schema_ref("SocketBookingsData"),
                schema_ref("SocketPong"),
                schema_ref("SocketError"),
            ],
            "clientMessages": [schema_ref("SocketRequest")],
            "closeCodes": {
                "1001": "server going away",
                "1008": "admin token required, or since is not an event id",
                "1013": "too slow; reconnect with since=<event_id>",
            },
            "example": {"type": "booking_created", "event_id": 7, "data": BOOKING_VIEW_EXAMPLE},
        }
    }


# --- the document -------------------------------------------------------------------------------


_OVERVIEW: Final = f"""\
Agents create bookings for customers over a public JSON API; admins list, inspect and cancel
them, change the business settings, and follow new bookings live over a WebSocket.

Every error body is `{{"success": false, "message": "...", "code": "..."}}`: `code` is a stable
machine name (each response below lists the codes it can carry), `message` is for people.
A 500 (`internal_error`) says nothing internal; details go to the server log only.

Route-level errors belong to no operation: an unknown path answers 404 `not_found`
(`components/responses/NotFound`), a known path with a method it does not have answers 405
`method_not_allowed` with an `Allow` header (`components/responses/MethodNotAllowed`).
Paths are matched with or without their trailing slash.

Every response carries `{REQUEST_ID_HEADER}`. The agent endpoints (`/api/agent/...`) may
be restricted by the operator: to client networks (403 `forbidden`), to holders of an API key
in `{API_KEY_HEADER}` (401 `unauthorized`), and by a per-client rate limit (429 `rate_limited`
with `Retry-After`; counted answers carry `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`). A request body declared as anything but JSON is refused with 415
`unsupported_media_type`; one larger than the limit (64 KiB by default) with 413
`body_too_large`.

The admin WebSocket `{ADMIN_SOCKET_PATH}` is described in `x-websockets`: OpenAPI 3.1 has
no WebSocket operations.
"""


def _route_level_responses() -> dict[str, JsonObject]:
    def response(status: HTTPStatus, headers: dict[str, JsonObject]) -> JsonObject:
        return _error_response([_framework_case(status)], headers)

    method_headers = headers() | {
        "Allow": {"description": "The methods the path has.", "schema": {"type": "string"}}
    }
    return {
        "NotFound": response(HTTPStatus.NOT_FOUND, headers()),
        "MethodNotAllowed": response(HTTPStatus.METHOD_NOT_ALLOWED, method_headers),
    }


def _version() -> str:
    try:
        return metadata.version("agent-booking")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "0.0.0"


def openapi_document() -> JsonObject:
    """The whole OpenAPI 3.1 document, a fresh dict on every call."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Agent booking service",
            "version": _version(),
            "description": _OVERVIEW,
        },
        "tags": [
            {"name": _AGENT, "description": "Public endpoints for agents."},
            {"name": _ADMIN, "description": "Behind the admin token."},
            {"name": _OPERATIONS, "description": "Probes and metrics."},
            {"name": _DOCS, "description": "This documentation."},
        ],
        "paths": {
            BOOKING_CREATE_PATH: {"post": _create_operation()},
            AVAILABILITY_PATH: {"get": _availability_operation()},
            **_admin_paths(),
            **_operations_paths(),
        },
        "components": {
            "schemas": component_schemas(),
            "parameters": parameter_components(),
            "headers": header_components(),
            "responses": _route_level_responses(),
            "securitySchemes": {
                "AdminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`BOOKING_ADMIN_TOKEN`. Wrong or missing: 401 `unauthorized`.",
                },
                "AgentApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": API_KEY_HEADER,
                    "description": (
                        "Needed only when the operator configured `BOOKING_AGENT_API_KEYS`; "
                        "then a missing or unknown key gets 401 `unauthorized`."
                    ),
                },
            },
        },
        "x-websockets": _websockets(),
    }


# --- serving it -----------------------------------------------------------------------------------


@functools.cache
def _served() -> tuple[bytes, str]:
    """The document as JSON and as the HTML page, built once per process on first use."""
    document = openapi_document()
    page = render_docs_page(
        document, stylesheet=f"{DOCS_ASSETS_PATH}/docs.css", json_url=OPENAPI_JSON_PATH
    )
    return json.dumps(document, indent=2, ensure_ascii=False).encode(), page


def schema_routes() -> list[Router]:
    """``GET /schema/openapi.json``, ``GET /schema`` and the page's stylesheet."""

    @get(OPENAPI_JSON_PATH, name="openapi_json", media_type=MediaType.JSON)
    async def openapi_json() -> Response[bytes]:
        return Response(_served()[0], media_type=MediaType.JSON)

    @get(DOCS_PAGE_PATH, name="docs_page", media_type=MediaType.HTML)
    async def docs_page() -> Response[str]:
        return Response(_served()[1], media_type=MediaType.HTML)

    return [
        Router(path="/", route_handlers=[openapi_json, docs_page]),
        create_static_files_router(
            path=DOCS_ASSETS_PATH,
            directories=[DOCS_STATIC_DIRECTORY],
            name="docs_assets",
            cache_control=CacheControlHeader(no_cache=True),
        ),
    ]
