"""The one table from errors to HTTP statuses, and the handlers that render every error body.

Every error a client can see has the same shape, ``{"success": false, "message", "code"}``:
domain errors carry their own message and code (the core owns the words), framework errors
(unknown path, wrong method, body too large) get ours, and anything unexpected becomes a bare
500 whose details go to the log only. No framework default page or stack trace reaches a client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from agent_booking.core.errors import (
    BookingError,
    BookingPolicyViolation,
    Conflict,
    NotFound,
    RequestValidationError,
    ServiceUnavailable,
)
from agent_booking.entrypoints.http.request_edge import CLIENT_CLOSED_REQUEST, client_disconnected

if TYPE_CHECKING:
    from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "INTERNAL_ERROR_CODE",
    "STATUS_BY_ERROR_FAMILY",
    "error_body",
    "exception_handlers",
    "framework_error",
    "framework_error_body",
    "internal_error_body",
    "status_for",
]

_log = logging.getLogger(__name__)

#: Domain error families and their statuses; the first ``isinstance`` match wins.
STATUS_BY_ERROR_FAMILY: Final[tuple[tuple[type[BookingError], HTTPStatus], ...]] = (
    (RequestValidationError, HTTPStatus.BAD_REQUEST),
    (BookingPolicyViolation, HTTPStatus.UNPROCESSABLE_ENTITY),
    (NotFound, HTTPStatus.NOT_FOUND),
    (Conflict, HTTPStatus.CONFLICT),
    (ServiceUnavailable, HTTPStatus.SERVICE_UNAVAILABLE),
)

INTERNAL_ERROR_CODE: Final = "internal_error"
_INTERNAL_ERROR_MESSAGE: Final = "Internal server error"

#: Framework (routing, transport) errors: status -> (code, message).
_HTTP_ERRORS: Final[dict[int, tuple[str, str]]] = {
    HTTPStatus.BAD_REQUEST: ("invalid_request", "Invalid request"),
    HTTPStatus.UNAUTHORIZED: ("unauthorized", "Authentication required"),
    HTTPStatus.FORBIDDEN: ("forbidden", "Not allowed"),
    HTTPStatus.NOT_FOUND: ("not_found", "Not found"),
    HTTPStatus.METHOD_NOT_ALLOWED: ("method_not_allowed", "Method not allowed"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: ("body_too_large", "Request body too large"),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: ("headers_too_large", "Request headers too large"),
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: (
        "unsupported_media_type",
        "Content-Type must be application/json",
    ),
    HTTPStatus.TOO_MANY_REQUESTS: ("rate_limited", "Too many requests, please retry later"),
    HTTPStatus.SERVICE_UNAVAILABLE: ("service_unavailable", "Service temporarily unavailable"),
}


def status_for(error: BookingError) -> HTTPStatus | None:
    """The status for a domain error, or None if its family is missing from the table."""
    return next(
        (status for family, status in STATUS_BY_ERROR_FAMILY if isinstance(error, family)), None
    )


def error_body(error: BookingError, speech: Speech | None = None) -> dict[str, Any]:
    """The body for ``error``; with ``speech``, each alternative also says how it sounds."""
    body: dict[str, Any] = {"success": False, "message": error.message, "code": error.code}
    if error.alternatives:
        body["alternatives"] = (
            speech.alternatives(error.alternatives)
            if speech is not None
            else [{"booking_date": day, "booking_time": time} for day, time in error.alternatives]
        )
    return body


def _body(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "message": message, "code": code}


def internal_error_body() -> dict[str, Any]:
    """The body of every 500: no detail, which goes to the log only."""
    return _body(INTERNAL_ERROR_CODE, _INTERNAL_ERROR_MESSAGE)


def _booking_error(
    request: Request[Any, Any, Any], error: BookingError, speech: Speech | None = None
) -> Response[Any]:
    status = status_for(error)
    if status is None:  # a new error family nobody mapped: a bug, not the client's fault
        return _internal_error(request, error)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:  # the operator must hear of an outage
        _log.warning(
            "%s on %s %s: %r",
            error.code,
            request.method,
            request.url.path,
            error.__cause__ or error,
        )
    return Response(error_body(error, speech), status_code=status)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if client_disconnected():
        # Litestar reports a body cut short as a 500 ("client disconnected prematurely"); the
        # edge logs and counts the request as the client's leaving (499), not our failure.
        _log.debug(
            "%s %s: the client left before sending its whole request",
            request.method,
            request.url.path,
        )
        return Response(None, status_code=CLIENT_CLOSED_REQUEST)
    if error.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR and (
        error.status_code != HTTPStatus.SERVICE_UNAVAILABLE
    ):
        return _internal_error(request, error)
    return framework_error(error.status_code, headers=error.headers)


def framework_error(
    status: int, *, message: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    """The response for a framework status from the table; ``message`` replaces its wording."""
    return Response(framework_error_body(status, message), status_code=status, headers=headers)


def framework_error_body(status: int, message: str | None = None) -> dict[str, Any]:
    code, default_message = _HTTP_ERRORS.get(status, ("http_error", HTTPStatus(status).phrase))
    return _body(code, message or default_message)


def _internal_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return Response(internal_error_body(), status_code=HTTPStatus.INTERNAL_SERVER_ERROR)


def exception_handlers(speech: Speech | None = None) -> ExceptionHandlersMap:
    """Handlers keyed by class; Litestar picks the most specific one along the MRO. With
    ``speech``, alternatives in refusals carry ``spoken``."""

    def booking_error(request: Request[Any, Any, Any], error: BookingError) -> Response[Any]:
        return _booking_error(request, error, speech)

    return {
        BookingError: booking_error,
        HTTPException: _http_error,
        Exception: _internal_error,
    }
