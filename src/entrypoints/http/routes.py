"""The HTTP routes: the agent endpoints (create, availability) and the health probes.

Handlers are built around the objects the composition root made (the use case, the readiness
check), so there is no module-level state and tests can build as many apps as they like.
The booking handler reads the raw body itself (a declared non-JSON type is refused earlier, by
``entrypoints.http.content_type``; a missing one is fine), and the core, not the framework,
decides what a valid request is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from booking_core.check_availability import CheckAvailability
from booking_core.create_agent_booking import CreateAgentBooking
from booking_core.errors import BookingError, InvalidRequestBody, StorageUnavailable
from booking_core.idempotency import ClaimOutcome, IdempotencyKeys
from entrypoints.http.errors import error_body, status_for

__all__ = [
    "AVAILABILITY_PATH",
    "BOOKING_CREATE_PATH",
    "IDEMPOTENCY_KEY_HEADER",
    "ReadinessCheck",
    "booking_routes",
    "health_routes",
    "json_object",
]

BOOKING_CREATE_PATH = "/api/agent/booking/create/"
AVAILABILITY_PATH = "/api/agent/availability/"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_REPLAYED_HEADER = "Idempotent-Replayed"

#: Raises (typically :class:`~booking_core.errors.StorageUnavailable`) when storage is unusable.
ReadinessCheck = Callable[[], Awaitable[None]]

_UTF8_BOM = b"\xef\xbb\xbf"
_encode_json = msgspec.json.Encoder().encode

_log = logging.getLogger(__name__)


def booking_routes(
    create_booking: CreateAgentBooking,
    idempotency_keys: IdempotencyKeys,
    check_availability: CheckAvailability,
) -> list[HTTPRouteHandler]:
    @post(BOOKING_CREATE_PATH, status_code=HTTPStatus.CREATED, name="create_agent_booking")
    async def create_agent_booking(request: Request[Any, Any, Any]) -> Response[Any]:
        body = json_object(await request.body())
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        if key is None:
            result = await create_booking(body)
            # Encoded here, once, by msgspec: Litestar would inspect and encode the dict itself.
            return Response(
                _encode_json(result.as_response()),
                status_code=HTTPStatus.CREATED,
                media_type=MediaType.JSON,
            )
        return await _idempotent_create(
            create_booking, idempotency_keys, IdempotencyKeys.validate_key(key), body
        )

    @get(AVAILABILITY_PATH, name="agent_availability")
    async def agent_availability(request: Request[Any, Any, Any]) -> Response[Any]:
        availability = await check_availability(dict(request.query_params))
        return Response(availability.as_response())

    return [create_agent_booking, agent_availability]


async def _idempotent_create(
    create_booking: CreateAgentBooking,
    keys: IdempotencyKeys,
    key: str,
    body: dict[str, Any],
) -> Response[Any]:
    """Run a create under an Idempotency-Key: the first outcome is the outcome, every time.

    A success is recorded by the use case inside the booking's transaction; a refusal (4xx) is
    recorded right after; a failure a retry may fix (5xx) releases the key instead.
    """
    claim = await keys.begin(key, body)
    if claim.outcome is ClaimOutcome.REPLAY:
        return Response(
            claim.body, status_code=claim.status_code or 200, headers={_REPLAYED_HEADER: "true"}
        )
    try:
        result = await create_booking(body, idempotency_key=key)
    except BookingError as error:
        status = status_for(error)
        if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
            await keys.record(key, status, error_body(error))
        else:
            await keys.release(key)
        raise
    except Exception:
        await keys.release(key)
        raise
    return Response(result.as_response(), status_code=HTTPStatus.CREATED)


def health_routes(check_ready: ReadinessCheck) -> list[HTTPRouteHandler]:
    @get("/health", name="health")
    async def health() -> Response[Any]:
        """Liveness: the process answers. Deliberately touches nothing else."""
        return Response({"status": "ok"})

    @get("/ready", name="ready")
    async def ready() -> Response[Any]:
        """Readiness: storage answers. Any failure means "not ready", never a 500."""
        try:
            await check_ready()
        except Exception as error:
            # One line, no traceback: probes repeat every few seconds during an outage.
            _log.warning("readiness check failed: %r", error.__cause__ or error)
            return Response(
                error_body(StorageUnavailable()), status_code=HTTPStatus.SERVICE_UNAVAILABLE
            )
        return Response({"status": "ready"})

    return [health, ready]


def json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be one JSON object.

    A UTF-8 byte order mark is tolerated (RFC 8259 allows it; some Windows tools send one).
    msgspec reports invalid UTF-8 and excessive nesting with builtin exceptions, not
    ``DecodeError``, and both are the client's fault, so they get the same 400.
    """
    try:
        body = msgspec.json.decode(raw.removeprefix(_UTF8_BOM))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequestBody from None
    if not isinstance(body, dict):
        raise InvalidRequestBody
    return body
