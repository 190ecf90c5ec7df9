"""The HTTP routes: the agent endpoints (create, availability) and the health probes.

Handlers are built around the objects the composition root made (the use case, the readiness
check), so there is no module-level state and tests can build as many apps as they like.
The create endpoint's behaviour lives in :mod:`entrypoints.http.booking_endpoint`; most requests
reach it through that module's direct lane, and the Litestar route here serves the rest (CORS
requests), with the same answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from booking_core.check_availability import CheckAvailability
from booking_core.errors import StorageUnavailable
from entrypoints.http.booking_endpoint import (
    BOOKING_CREATE_PATH,
    IDEMPOTENCY_KEY_HEADER,
    BookingEndpoint,
)
from entrypoints.http.errors import error_body

__all__ = [
    "AVAILABILITY_PATH",
    "BOOKING_CREATE_PATH",
    "IDEMPOTENCY_KEY_HEADER",
    "ReadinessCheck",
    "booking_routes",
    "health_routes",
]

AVAILABILITY_PATH = "/api/agent/availability/"

#: Raises (typically :class:`~booking_core.errors.StorageUnavailable`) when storage is unusable.
ReadinessCheck = Callable[[], Awaitable[None]]

_log = logging.getLogger(__name__)


def booking_routes(
    endpoint: BookingEndpoint, check_availability: CheckAvailability
) -> list[HTTPRouteHandler]:
    @post(BOOKING_CREATE_PATH, status_code=HTTPStatus.CREATED, name="create_agent_booking")
    async def create_agent_booking(request: Request[Any, Any, Any]) -> Response[Any]:
        """Reached by CORS requests only; the others take :class:`BookingLane`, same answer."""
        answer = await endpoint.answer(
            content_type=request.headers.get("content-type"),
            idempotency_key=request.headers.get(IDEMPOTENCY_KEY_HEADER),
            raw_body=await request.body(),
        )
        return Response(
            answer.body,
            status_code=answer.status,
            media_type=MediaType.JSON,
            headers=dict(answer.headers),
        )

    @get(AVAILABILITY_PATH, name="agent_availability")
    async def agent_availability(request: Request[Any, Any, Any]) -> Response[Any]:
        availability = await check_availability(dict(request.query_params))
        return Response(availability.as_response())

    return [create_agent_booking, agent_availability]


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
