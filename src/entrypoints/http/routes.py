"""The HTTP routes: the agent endpoints (create, availability) and the health probes.

Handlers are built around the objects the composition root made (the use case, the readiness
check), so there is no module-level state and tests can build as many apps as they like. Their
parameters and return types are what the generated OpenAPI document describes.

The create endpoint's behaviour lives in :mod:`agent_booking.entrypoints.http.booking_endpoint`;
most requests reach it through that module's direct lane, and the Litestar route here serves the
rest (CORS requests), with the same answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Annotated, Any

from litestar import MediaType, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from agent_booking.core.check_availability import (
    MAX_AVAILABILITY_DAYS,
    MAX_AVAILABILITY_SLOTS,
    AvailabilityQuery,
    CheckAvailability,
)
from agent_booking.core.errors import (
    BookingError,
    InvalidDate,
    InvalidField,
    MissingField,
    SettingsMissing,
    StorageUnavailable,
    TooLate,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.parsing import DateOrder
from agent_booking.entrypoints.http.agent_access import is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import BOOKING_CREATE_PATH, BookingEndpoint
from agent_booking.entrypoints.http.errors import error_body
from agent_booking.entrypoints.http.openapi import (
    ADMIN_ONLY_ERRORS,
    AGENT_SECURITY,
    CATALOG_ID,
    HOLD_ONLY_ERRORS,
    DocumentedOperation,
    domain_error_classes,
    framework_case,
    idempotency_key_header,
    query,
    refusals,
)
from agent_booking.entrypoints.http.presenters import (
    AvailabilityView,
    BookingCreated,
    LiveStatus,
    PublicBookingCreated,
    ReadyStatus,
    availability_view,
)
from agent_booking.entrypoints.http.request_bodies import (
    DATE_OR_EMPTY,
    IDEMPOTENCY_KEY_HEADER,
    CreateBookingRequest,
)
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "AVAILABILITY_PATH",
    "BOOKING_CREATE_PATH",
    "IDEMPOTENCY_KEY_HEADER",
    "ReadinessCheck",
    "agent_access_cases",
    "body_cases",
    "booking_routes",
    "create_refusals",
    "direct_answer",
    "health_routes",
]

AVAILABILITY_PATH = "/api/agent/availability/"

#: Raises (typically :class:`~agent_booking.core.errors.StorageUnavailable`) when storage is
#: unusable.
ReadinessCheck = Callable[[], Awaitable[None]]

_log = logging.getLogger(__name__)

#: Empty counts as not given; anything else must be a date (``AvailabilityQuery.parse``).
_DATE = {"type": "string", "pattern": DATE_OR_EMPTY}


def agent_access_cases() -> tuple[Any, ...]:
    """What ``agent_access.AgentAccess`` answers before an agent endpoint runs."""
    return (
        framework_case(HTTPStatus.UNAUTHORIZED, "API key required"),
        framework_case(HTTPStatus.FORBIDDEN),
        framework_case(HTTPStatus.TOO_MANY_REQUESTS),
    )


def body_cases() -> tuple[Any, ...]:
    """What any request with a body can be refused with before its handler reads it."""
    return (
        framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    )


def create_refusals() -> list[type[BookingError]]:
    """The core's refusals of a create request (a hold adds ``too_many_holds``)."""
    return [
        error
        for error in domain_error_classes()
        if not issubclass(error, (*ADMIN_ONLY_ERRORS, *HOLD_ONLY_ERRORS, TooLate))
    ]


def direct_answer(
    endpoint: BookingEndpoint,
) -> Callable[[Request[Any, Any, Any]], Awaitable[Response[bytes] | None]]:
    """A route's ``before_request`` for a :class:`BookingEndpoint` (create, hold)."""

    async def answer_unless_plain(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        """Litestar decodes ``data`` leniently and would refuse with words of its own; the
        contract's refusals are the core's. So a request this hook cannot leave to the handler
        (a body the Struct refuses, an Idempotency-Key, which is claimed before the body is
        judged) is answered here, exactly as the direct lane answers it."""
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        raw_body = await request.body()
        if key is None and endpoint.decodes(raw_body):
            return None
        answer = await endpoint.answer(
            content_type=request.headers.get("content-type"),
            idempotency_key=key,
            raw_body=raw_body,
            trusted=is_trusted_agent(request.scope),
        )
        return Response(
            answer.body,
            status_code=answer.status,
            media_type=MediaType.JSON,
            headers=dict(answer.headers),
        )

    return answer_unless_plain


def booking_routes(
    endpoint: BookingEndpoint,
    check_availability: CheckAvailability,
    date_order: DateOrder,
    speech: Speech,
) -> list[HTTPRouteHandler]:
    answer_unless_plain = direct_answer(endpoint)

    create_errors = create_refusals()

    @post(
        BOOKING_CREATE_PATH,
        status_code=HTTPStatus.CREATED,
        response_description=(
            "Booked. A trusted agent (API keys are configured and it sent one) gets the spec's "
            "body, `BookingCreated`: the customer as stored (an existing customer keeps the "
            "profile of its first booking), its id, and whether the phone was new. Any other "
            "caller gets `PublicBookingCreated`: the same keys and booking, but the customer "
            "only as this request described it, and `null` for the customer's id, "
            "`user_created`, `is_active` and `created`, so that knowing a phone number reveals "
            "neither a stored profile nor whether the phone is a customer's. An idempotent "
            "replay follows the same rule for the caller that replays."
        ),
        name="create_agent_booking",
        operation_id="createAgentBooking",
        tags=["agent"],
        summary="Create a booking for a customer (created on first booking)",
        description=(
            "Public unless agent API keys are configured. Checks run in this order and the "
            "first failure wins: required fields → formats → settings exist → not in the past "
            "→ within the horizon → off day / closed date → within working hours → on a slot "
            "start → slot free → the phone holds fewer open (upcoming or pending, not yet "
            "started) bookings than the operator's limit (`BOOKING_MAX_ACTIVE_PER_PHONE`, 5 "
            "by default; 422 `too_many_bookings`). "
            "A customer is created only together with a successful booking; "
            "each booking is announced on the admin WebSocket once committed. The body is read "
            "as JSON whatever its declared type, unless the type is declared as something other "
            "than JSON (415)."
        ),
        security=AGENT_SECURITY,
        operation_class=DocumentedOperation,
        before_request=answer_unless_plain,
        responses=refusals(*create_errors, *agent_access_cases(), *body_cases(), alternatives=True),
    )
    async def create_agent_booking(
        request: Request[Any, Any, Any],
        data: JSONBody[CreateBookingRequest],
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(
                "Makes a retried create safe: the first request with a key is run and its "
                "outcome (201, or a 400/409/422 refusal) recorded; a retry with the same key "
                "and body gets that outcome again, with `Idempotent-Replayed: true`, instead "
                "of a second booking. The same key with another body is refused (422 "
                "`idempotency_key_reused`); a retry while the first request still runs "
                "waits for it briefly, then gets 409 `idempotency_in_progress`. Outages "
                "(5xx) are not recorded, so a retry runs again. Keys are kept 48 hours."
            ),
        ] = None,
    ) -> BookingCreated | PublicBookingCreated:
        """Reached by CORS requests only (the others take the direct lane), and only with a
        body the Struct accepts and no Idempotency-Key (``answer_unless_plain``)."""
        del idempotency_key  # always None here; declared for the document
        return await endpoint.book(data, trusted=is_trusted_agent(request.scope))

    @get(
        AVAILABILITY_PATH,
        name="agent_availability",
        operation_id="agentAvailability",
        tags=["agent"],
        summary="Free and taken slot starts per day",
        description=(
            "Give `date`, or `from` (and optionally `to`, inclusive; a range covers at most "
            f"{MAX_AVAILABILITY_DAYS} days, and at most {MAX_AVAILABILITY_SLOTS:,} slot starts: "
            "its days times the slots of one day, so with short slots fewer days; a longer "
            "range is refused with 400 `invalid_field`, saying how many days fit). Public "
            "unless agent API keys are configured."
        ),
        security=AGENT_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(
            MissingField,
            InvalidDate,
            InvalidField,
            UnknownService,
            UnknownResource,
            SettingsMissing,
            StorageUnavailable,
            *agent_access_cases(),
        ),
    )
    async def agent_availability(
        date: Annotated[
            str | None, query("date", "One day. Takes precedence over `from`/`to`.", _DATE)
        ] = None,
        first: Annotated[
            str | None, query("from", "First day of a range (required without `date`).", _DATE)
        ] = None,
        last: Annotated[
            str | None, query("to", "Last day of the range, inclusive (default: `from`).", _DATE)
        ] = None,
        service_id: Annotated[
            str | None,
            query(
                "service_id",
                "A catalog service: its duration, buffers, notice and resources (default: a "
                "booking one slot long on any resource, as a free-text service is booked).",
                CATALOG_ID,
            ),
        ] = None,
        resource_id: Annotated[
            str | None,
            query(
                "resource_id",
                "Only this resource (default: every one that performs it).",
                CATALOG_ID,
            ),
        ] = None,
    ) -> AvailabilityView:
        wanted = AvailabilityQuery.parse(
            date=date,
            first=first,
            last=last,
            service_id=service_id,
            resource_id=resource_id,
            date_order=date_order,
        )
        return availability_view(await check_availability(wanted), speech)

    return [create_agent_booking, agent_availability]


def health_routes(check_ready: ReadinessCheck) -> list[HTTPRouteHandler]:
    @get(
        "/health",
        name="health",
        operation_id="health",
        tags=["operations"],
        summary="Liveness: the process answers (touches nothing else)",
        responses=refusals(),
        operation_class=DocumentedOperation,
    )
    async def health() -> LiveStatus:
        """Liveness: the process answers. Deliberately touches nothing else."""
        return LiveStatus()

    @get(
        "/ready",
        name="ready",
        operation_id="ready",
        tags=["operations"],
        summary="Readiness: the database answers and is migrated",
        responses=refusals(StorageUnavailable, can_fail=False),
        operation_class=DocumentedOperation,
    )
    async def ready() -> Response[ReadyStatus]:
        """Readiness: storage answers. Any failure means "not ready", never a 500."""
        try:
            await check_ready()
        except Exception as error:
            # One line, no traceback: probes repeat every few seconds during an outage.
            _log.warning("readiness check failed: %r", error.__cause__ or error)
            refusal: Any = error_body(StorageUnavailable())
            return Response(refusal, status_code=HTTPStatus.SERVICE_UNAVAILABLE)
        return Response(ReadyStatus())

    return [health, ready]
