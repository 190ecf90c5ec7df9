"""The caller's own bookings, for an agent on the phone: find them, cancel one.

``GET /api/agent/bookings/?phone=`` lists the caller's bookings still to come;
``POST /api/agent/bookings/{id}/cancel/`` cancels one, given the phone it was booked with. Both
sit behind the agent endpoints' checks (``agent_access``: networks, rate limit, API key) and the
rule on what callers learn about customers: what a phone's bookings are, and that the phone has
any, is stored customer information, so only a **trusted agent** (API keys are configured and
it sent one) may ask. Anyone else gets ``403 forbidden`` saying so; with no keys configured
these two endpoints are closed, as a public form must not let anybody who knows a phone number
read or cancel that person's bookings.

A booking of another phone is ``404 booking_not_found``, exactly as one that does not exist.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Final, Literal

import msgspec
from attrs import frozen
from litestar import MediaType, Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from msgspec import Meta

from agent_booking.core.cancel_booking import (
    MAX_REASON_LENGTH,
    CallerCancellation,
    CancelBooking,
    IdempotentCancel,
)
from agent_booking.core.entities import MAX_ID, Booking, Customer
from agent_booking.core.errors import (
    BookingError,
    BookingNotActive,
    BookingNotFound,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidField,
    InvalidIdempotencyKey,
    InvalidRequestBody,
    MissingField,
    SettingsMissing,
    StorageUnavailable,
    TooLate,
    TransientConflict,
)
from agent_booking.core.events import format_instant, format_time
from agent_booking.core.find_bookings import MAX_FOUND_BOOKINGS, FindCallerBookings
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyKeys
from agent_booking.core.placement import Placement
from agent_booking.core.request import PhoneReader, read_phone
from agent_booking.entrypoints.http.agent_access import is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import REPLAYED_HEADER, json_object
from agent_booking.entrypoints.http.errors import error_body, framework_error, status_for
from agent_booking.entrypoints.http.openapi import (
    AGENT_SECURITY,
    TrustedAgentOperation,
    framework_case,
    id_in_path,
    idempotency_key_header,
    query,
    refusals,
)
from agent_booking.entrypoints.http.presenters import (
    Date,
    Instant,
    ResourceRef,
    ServiceRef,
    Time,
    resource_ref,
    service_ref,
)
from agent_booking.entrypoints.http.request_bodies import IDEMPOTENCY_KEY_HEADER, PHONE, documented
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "CALLER_BOOKINGS_PATH",
    "ONLY_TRUSTED",
    "CallerBookingView",
    "CallerBookingsEndpoint",
    "EarlyAnswer",
    "caller_booking_routes",
    "possible_booking_id",
]

CALLER_BOOKINGS_PATH: Final = "/api/agent/bookings/"
ONLY_TRUSTED: Final = (
    "Finding and cancelling bookings by phone needs an agent API key (BOOKING_AGENT_API_KEYS)"
)
_STATE_KEY: Final = "booking_idempotency_key"


class CallerBookingView(msgspec.Struct, frozen=True, kw_only=True):
    """One of the caller's bookings."""

    id: int
    service_name: str
    booking_date: Date
    booking_time: Time
    starts_at: Instant
    status: Literal["upcoming", "pending", "cancelled", "held"]
    notes: str
    resource: ResourceRef
    service: ServiceRef
    spoken: Annotated[
        str,
        Meta(
            description="The start as a voice agent says it, in `BOOKING_LOCALE` and the "
            "business time zone (no year unless not this year).",
            examples=["Wednesday, October 20, 2:00\u202fPM"],
        ),
    ]
    hold_expires_at: Annotated[
        Instant | msgspec.UnsetType,
        Meta(description="Only for a live hold (status `held`): until when it is kept."),
    ] = msgspec.UNSET


class CallerBookingList(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    data: Annotated[
        list[CallerBookingView],
        Meta(
            description="Upcoming and pending bookings and live holds of this phone that have "
            f"not started, soonest first (at most {MAX_FOUND_BOOKINGS}); empty for a phone "
            "without any, "
            "known or not."
        ),
    ]


class CallerBookingCancelled(msgspec.Struct, frozen=True, kw_only=True):
    success: Literal[True] = True
    message: Literal["Booking cancelled"] = "Booking cancelled"
    data: CallerBookingView


class CancelBookingRequest(msgspec.Struct, frozen=True):
    """Who asks (the phone the booking was made with, read as a create request's phone) and,
    optionally, why. Other fields are ignored."""

    phone: Annotated[
        str, documented("The phone the booking was made with (any accepted form).", pattern=PHONE)
    ]
    reason: (
        Annotated[
            str,
            documented(
                f"Why, in up to {MAX_REASON_LENGTH} characters; sent to the dashboards with "
                "`booking_cancelled` as `cancellation_reason`.",
                maxLength=MAX_REASON_LENGTH,
            ),
        ]
        | None
    ) = None


def _view(
    booking: Booking, placement: Placement, speech: Speech, this_year: int
) -> CallerBookingView:
    return CallerBookingView(
        resource=resource_ref(placement),
        service=service_ref(placement),
        id=booking.id,
        service_name=booking.service_name,
        booking_date=booking.booking_date.isoformat(),
        booking_time=format_time(booking.booking_time),
        starts_at=format_instant(booking.starts_at),
        status=booking.status.value,  # type: ignore[arg-type]
        notes=booking.notes,
        spoken=speech.starts(booking.booking_date, booking.booking_time, this_year),
        hold_expires_at=(
            msgspec.UNSET
            if booking.hold_expires_at is None
            else format_instant(booking.hold_expires_at)
        ),
    )


def _refusal(error: BookingError) -> Response[Any]:
    return Response(error_body(error), status_code=status_for(error) or 500)


@frozen
class EarlyAnswer:
    """A cancel answered before it runs: a refusal not recorded, or a recorded answer replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class CallerBookingsEndpoint:
    """Find and cancel by phone, as the routes and the agent tools both run them.

    The caller must be a trusted agent: each surface checks that first (403 over HTTP, the same
    body as a tool error).
    """

    def __init__(
        self,
        find: FindCallerBookings,
        cancel: CancelBooking,
        keys: IdempotencyKeys,
        speech: Speech,
        phones: PhoneReader | None,
    ) -> None:
        self._find = find
        self._cancel = cancel
        self._keys = keys
        self._speech = speech
        self._phones = phones

    async def find(self, phone: str | None) -> CallerBookingList:
        found = await self._find(read_phone(phone, self._phones))
        this_year = self._speech.this_year(found.settings.timezone)
        return CallerBookingList(
            data=[
                _view(booking, found.placement(booking), self._speech, this_year)
                for booking, _ in found.bookings
            ]
        )

    async def begin_cancel(
        self, booking_id: object, body: dict[str, Any], key: str | None
    ) -> EarlyAnswer | None:
        """Refusals before the cancel runs, in the core's words: an id beyond any, a body
        the core refuses (not recorded under a key), an invalid key; then ``key`` is claimed,
        and a recorded answer is replayed. ``None``: go on with :meth:`cancel` (and ``key``)."""
        if not possible_booking_id(booking_id):
            return _early(BookingNotFound())  # beyond any id: not worth a key
        try:
            CallerCancellation.from_fields(
                phone=body.get("phone"), reason=body.get("reason"), phones=self._phones
            )
            if key is None:
                return None
            IdempotencyKeys.validate_key(key)
            claim = await self._keys.begin(key, {"cancel_booking": booking_id, "body": body})
        except BookingError as error:
            return _early(error)
        if claim.outcome is ClaimOutcome.REPLAY:
            return EarlyAnswer(
                claim.status_code or HTTPStatus.OK, dict(claim.body or {}), replayed=True
            )
        return None

    async def cancel(
        self, booking_id: int, phone: object, reason: object, key: str | None
    ) -> CallerBookingCancelled:
        """Cancel (after :meth:`begin_cancel` claimed ``key``); a refusal raises and, under a
        key, is recorded (a 5xx releases the key)."""
        caller = CallerCancellation.from_fields(phone=phone, reason=reason, phones=self._phones)
        speech = self._speech
        this_year = speech.this_year()

        def answer(booking: Booking, placement: Placement | None) -> CallerBookingCancelled:
            if placement is None:  # no settings: the caller's cancel refused that already
                raise SettingsMissing
            return CallerBookingCancelled(data=_view(booking, placement, speech, this_year))

        def render(
            booking: Booking, customer: Customer, placement: Placement | None
        ) -> tuple[int, dict[str, Any]]:
            del customer
            return HTTPStatus.OK, msgspec.to_builtins(answer(booking, placement))

        keys = self._keys
        try:
            cancelled = await self._cancel(
                booking_id,
                caller=caller,
                idempotency=IdempotentCancel(key, render) if key is not None else None,
            )
        except BookingError as error:
            if key is not None:
                status = status_for(error)
                if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                    await keys.record(key, status, error_body(error))
                else:
                    await keys.release(key)
            raise
        except Exception:
            if key is not None:
                await keys.release(key)
            raise
        return answer(cancelled.booking, cancelled.placement)


def possible_booking_id(booking_id: object) -> bool:
    return (
        isinstance(booking_id, int)
        and not isinstance(booking_id, bool)
        and 0 < booking_id <= MAX_ID
    )


def _early(error: BookingError) -> EarlyAnswer:
    return EarlyAnswer(status_for(error) or HTTPStatus.INTERNAL_SERVER_ERROR, error_body(error))


def caller_booking_routes(endpoint: CallerBookingsEndpoint) -> list[HTTPRouteHandler]:
    async def only_trusted(request: Request[Any, Any, Any]) -> Response[Any] | None:
        if is_trusted_agent(request.scope):
            return None
        return framework_error(HTTPStatus.FORBIDDEN, message=ONLY_TRUSTED)

    async def check_cancel(request: Request[Any, Any, Any]) -> Response[Any] | None:
        """Refusals before the handler runs, in the core's words (Litestar's decoding would
        answer with its own): not a trusted agent, a body the core refuses (not recorded
        under a key), an invalid key; then the key is claimed, and a recorded answer is
        replayed."""
        if not is_trusted_agent(request.scope):
            return framework_error(HTTPStatus.FORBIDDEN, message=ONLY_TRUSTED)
        booking_id = request.path_params.get("booking_id")
        if not possible_booking_id(booking_id):
            return _refusal(BookingNotFound())  # before the body, as the id is checked first
        try:
            body = json_object(await request.body())
        except BookingError as error:
            return _refusal(error)
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        early = await endpoint.begin_cancel(booking_id, body, key)
        if early is not None:
            return Response(
                early.body,
                status_code=early.status,
                media_type=MediaType.JSON,
                headers={REPLAYED_HEADER: "true"} if early.replayed else None,
            )
        if key is not None:
            request.state[_STATE_KEY] = key
        return None

    @get(
        CALLER_BOOKINGS_PATH,
        name="agent_find_bookings",
        operation_id="agentFindBookings",
        tags=["agent"],
        summary="The caller's bookings still to come, by phone",
        description=(
            "Upcoming and pending bookings of the phone (read as a create request's phone) "
            "that have not started, soonest first, each with `spoken`. Only for trusted agents "
            "(API keys configured and one sent): anyone else gets 403, because a phone's "
            "bookings are stored customer information."
        ),
        security=AGENT_SECURITY,
        operation_class=TrustedAgentOperation,
        before_request=only_trusted,
        responses=refusals(
            MissingField,
            InvalidField,
            SettingsMissing,
            StorageUnavailable,
            framework_case(HTTPStatus.UNAUTHORIZED, "API key required"),
            framework_case(HTTPStatus.FORBIDDEN, ONLY_TRUSTED),
            framework_case(HTTPStatus.TOO_MANY_REQUESTS),
        ),
    )
    async def find_bookings(
        phone: Annotated[
            str | None,
            query("phone", "The caller's phone (required).", {"type": "string", "pattern": PHONE}),
        ] = None,
    ) -> CallerBookingList:
        return await endpoint.find(phone)

    @post(
        CALLER_BOOKINGS_PATH + "{booking_id:int}/cancel/",
        status_code=HTTPStatus.OK,
        name="agent_cancel_booking",
        operation_id="agentCancelBooking",
        tags=["agent"],
        summary="Cancel one of the caller's bookings",
        description=(
            "Give the phone the booking was made with: a booking of another phone is 404 "
            "`booking_not_found`, as one that does not exist. The slot is free at once and "
            "dashboards get `booking_cancelled` (with `cancellation_reason` if one was given). "
            "Refused with 422 `too_late` from `cancel_notice_minutes` (a business setting, "
            "0 by default) before the start, and once it has started; 409 "
            "`booking_not_active` if it is not upcoming or pending (also for all but one of "
            "concurrent cancellations). Only for trusted agents (403 otherwise)."
        ),
        security=AGENT_SECURITY,
        operation_class=TrustedAgentOperation,
        before_request=check_cancel,
        responses=refusals(
            InvalidRequestBody,
            MissingField,
            InvalidField,
            InvalidIdempotencyKey,
            BookingNotFound,
            BookingNotActive,
            TooLate,
            IdempotencyKeyReused,
            IdempotencyRequestInProgress,
            SettingsMissing,
            StorageUnavailable,
            TransientConflict,
            framework_case(HTTPStatus.NOT_FOUND),
            framework_case(HTTPStatus.UNAUTHORIZED, "API key required"),
            framework_case(HTTPStatus.FORBIDDEN, ONLY_TRUSTED),
            framework_case(HTTPStatus.TOO_MANY_REQUESTS),
            framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
            framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ),
    )
    async def cancel_booking(
        request: Request[Any, Any, Any],
        booking_id: Annotated[
            int,
            id_in_path("The booking's id."),
        ],
        data: JSONBody[CancelBookingRequest],
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(
                "Makes a retried cancel safe: the first request's answer (200, or a "
                "404/409/422 refusal) is recorded and a retry with the same key and body "
                "gets it again, with `Idempotent-Replayed: true`. A 400 is not recorded. "
                "Keys are shared with create: the same key with another request is 422 "
                "`idempotency_key_reused`. Kept 48 hours."
            ),
        ] = None,
    ) -> CallerBookingCancelled:
        del idempotency_key  # claimed by check_cancel; declared for the document
        key: str | None = request.state.get(_STATE_KEY)
        return await endpoint.cancel(booking_id, data.phone, data.reason, key)

    return [find_bookings, cancel_booking]
