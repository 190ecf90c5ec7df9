"""Moving one of the caller's bookings: ``POST /api/agent/bookings/{id}/reschedule/``.

The same door as cancel (``caller_bookings``): the agent endpoints' checks, then only a
**trusted agent** (API keys configured and one sent) may move a booking, given the phone it was
made with; another phone is ``404 booking_not_found``. The body is the phone and the new
``booking_date`` and ``booking_time`` in the create's formats, optionally a ``resource_id``.
The answer is the create's body for the booking at its new start, plus ``data.previous``
(where it was). ``Idempotency-Key`` works as for cancel (keys are shared with every route).

:class:`RescheduleEndpoint` is what the route and the ``reschedule_booking`` agent tool both
run.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody
from msgspec import Meta

from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import (
    BeyondHorizon,
    BookingError,
    BookingInPast,
    BookingNotActive,
    BookingNotFound,
    ClosedDate,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidDate,
    InvalidField,
    InvalidIdempotencyKey,
    InvalidRequestBody,
    InvalidTime,
    MissingField,
    NotASlotStart,
    NoticeTooShort,
    OffDay,
    OutsideWorkingHours,
    SettingsMissing,
    SlotTaken,
    StorageUnavailable,
    TooLate,
    TransientConflict,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.events import format_instant, format_time
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyKeys
from agent_booking.core.parsing import DateOrder
from agent_booking.core.request import PhoneReader
from agent_booking.core.reschedule_booking import (
    CallerMove,
    IdempotentReschedule,
    MovedBooking,
    RescheduleBooking,
)
from agent_booking.entrypoints.http.agent_access import is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import REPLAYED_HEADER, json_object
from agent_booking.entrypoints.http.caller_bookings import (
    CALLER_BOOKINGS_PATH,
    ONLY_TRUSTED,
    EarlyAnswer,
    possible_booking_id,
)
from agent_booking.entrypoints.http.errors import error_body, framework_error, status_for
from agent_booking.entrypoints.http.openapi import (
    AGENT_SECURITY,
    TrustedAgentOperation,
    framework_case,
    id_in_path,
    idempotency_key_header,
    refusals,
)
from agent_booking.entrypoints.http.presenters import (
    CreatedBooking,
    CreatedUser,
    Date,
    Instant,
    ResourceRef,
    Time,
    created_user,
    resource_ref,
    service_ref,
)
from agent_booking.entrypoints.http.request_bodies import (
    IDEMPOTENCY_KEY_HEADER,
    PHONE,
    AcceptedDate,
    AcceptedTime,
    documented,
)
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = [
    "RESCHEDULE_PATH",
    "BookingRescheduled",
    "RescheduleBookingRequest",
    "RescheduleEndpoint",
    "reschedule_routes",
]

RESCHEDULE_PATH: Final = CALLER_BOOKINGS_PATH + "{booking_id:int}/reschedule/"
_MESSAGE: Final = "Booking rescheduled"
_STATE_KEY: Final = "reschedule_idempotency_key"

_Spoken = Annotated[
    str,
    Meta(
        description="The start as a voice agent says it, in `BOOKING_LOCALE` and the business "
        "time zone (no year unless not this year).",
        examples=["Thursday, November 26, 3:00\u202fPM"],
    ),
]


class RescheduleBookingRequest(msgspec.Struct, frozen=True):
    """Who asks (the phone the booking was made with, read as a create request's phone) and
    the new start, in the create request's formats. Other fields are ignored."""

    phone: Annotated[
        str, documented("The phone the booking was made with (any accepted form).", pattern=PHONE)
    ]
    booking_date: AcceptedDate
    booking_time: AcceptedTime
    resource_id: (
        Annotated[
            int,
            documented(
                "The resource (person or room) to move to; left out, the booking stays on its "
                "resource if that one is free at the new start, else it goes where a create "
                "would put it (of the free ones, the fewest active bookings that day, then the "
                "lowest id).",
                minimum=1,
                maximum=MAX_ID,
            ),
        ]
        | None
    ) = None


class MovedBookingView(CreatedBooking, frozen=True, kw_only=True):
    """The booking at its new start (the create's booking object), and how it sounds."""

    starts_at: Instant
    spoken: _Spoken


class PreviousStart(msgspec.Struct, frozen=True, kw_only=True):
    """Where the booking was before the move."""

    booking_date: Date
    booking_time: Time
    starts_at: Instant
    resource: ResourceRef
    spoken: _Spoken


class RescheduledData(msgspec.Struct, frozen=True, kw_only=True):
    booking: MovedBookingView
    user: CreatedUser
    previous: PreviousStart


class BookingRescheduled(msgspec.Struct, frozen=True, kw_only=True):
    """The create's success body for the booking at its new start, plus where it was."""

    success: Literal[True] = True
    message: Literal["Booking rescheduled"] = _MESSAGE
    user_id: int
    booking_id: int
    data: RescheduledData


def rescheduled_view(moved: MovedBooking, speech: Speech, this_year: int) -> BookingRescheduled:
    booking, placement, previous = moved.booking, moved.placement, moved.previous
    customer = moved.customer
    return BookingRescheduled(
        user_id=customer.id,
        booking_id=booking.id,
        data=RescheduledData(
            booking=MovedBookingView(
                resource=resource_ref(placement),
                service=service_ref(placement),
                id=booking.id,
                service_name=booking.service_name,
                booking_date=booking.booking_date.isoformat(),
                booking_time=format_time(booking.booking_time),
                status=booking.status.value,  # type: ignore[arg-type]
                notes=booking.notes,
                created_at=format_instant(booking.created_at),
                starts_at=format_instant(booking.starts_at),
                spoken=speech.starts(booking.booking_date, booking.booking_time, this_year),
            ),
            user=created_user(customer, created=False),
            previous=PreviousStart(
                booking_date=previous.booking_date.isoformat(),
                booking_time=format_time(previous.booking_time),
                starts_at=format_instant(previous.starts_at),
                resource=resource_ref(moved.previous_placement),
                spoken=speech.starts(previous.booking_date, previous.booking_time, this_year),
            ),
        ),
    )


class RescheduleEndpoint:
    """The move as the route and the agent tool both run it (after the caller was found to be
    a trusted agent: each surface checks that first)."""

    def __init__(
        self,
        reschedule: RescheduleBooking,
        keys: IdempotencyKeys,
        speech: Speech,
        *,
        date_order: DateOrder,
        phones: PhoneReader | None,
    ) -> None:
        self._reschedule = reschedule
        self._keys = keys
        self._speech = speech
        self._date_order = date_order
        self._phones = phones

    def read(self, body: dict[str, Any]) -> CallerMove:
        return CallerMove.from_fields(
            phone=body.get("phone"),
            booking_date=body.get("booking_date"),
            booking_time=body.get("booking_time"),
            resource_id=body.get("resource_id"),
            date_order=self._date_order,
            phones=self._phones,
        )

    async def begin(
        self, booking_id: object, body: dict[str, Any], key: str | None
    ) -> EarlyAnswer | None:
        """Refusals before the move runs: an impossible id, a body the core refuses (neither
        recorded under a key), an invalid key; then ``key`` is claimed, and a recorded answer
        replayed. ``None``: go on with :meth:`move`."""
        if not possible_booking_id(booking_id):
            return self._early(BookingNotFound())
        try:
            self.read(body)
            if key is None:
                return None
            IdempotencyKeys.validate_key(key)
            claim = await self._keys.begin(key, {"reschedule_booking": booking_id, "body": body})
        except BookingError as error:
            return self._early(error)
        if claim.outcome is ClaimOutcome.REPLAY:
            return EarlyAnswer(
                claim.status_code or HTTPStatus.OK, dict(claim.body or {}), replayed=True
            )
        return None

    async def move(
        self, booking_id: int, body: dict[str, Any], key: str | None
    ) -> BookingRescheduled:
        """Move (after :meth:`begin` claimed ``key``); a refusal raises and, under a key, is
        recorded (a 5xx releases the key)."""
        move = self.read(body)
        speech = self._speech
        this_year = speech.this_year()

        def render(moved: MovedBooking) -> tuple[int, dict[str, Any]]:
            return HTTPStatus.OK, msgspec.to_builtins(rescheduled_view(moved, speech, this_year))

        keys = self._keys
        try:
            done = await self._reschedule(
                booking_id,
                move,
                idempotency=IdempotentReschedule(key, render) if key is not None else None,
            )
        except BookingError as error:
            if key is not None:
                status = status_for(error)
                if status is not None and status < HTTPStatus.INTERNAL_SERVER_ERROR:
                    await keys.record(key, status, error_body(error, speech))
                else:
                    await keys.release(key)
            raise
        except Exception:
            if key is not None:
                await keys.release(key)
            raise
        return rescheduled_view(done.moved, speech, this_year)

    def _early(self, error: BookingError) -> EarlyAnswer:
        return EarlyAnswer(
            status_for(error) or HTTPStatus.INTERNAL_SERVER_ERROR, error_body(error, self._speech)
        )


def reschedule_routes(endpoint: RescheduleEndpoint) -> list[HTTPRouteHandler]:
    async def check_move(request: Request[Any, Any, Any]) -> Response[Any] | None:
        """Refusals before the handler runs, in the core's words (as for cancel)."""
        if not is_trusted_agent(request.scope):
            return framework_error(HTTPStatus.FORBIDDEN, message=ONLY_TRUSTED)
        booking_id = request.path_params.get("booking_id")
        if not possible_booking_id(booking_id):
            return Response(error_body(BookingNotFound()), status_code=HTTPStatus.NOT_FOUND)
        try:
            body = json_object(await request.body())
        except BookingError as error:
            return Response(error_body(error), status_code=status_for(error) or 500)
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        early = await endpoint.begin(booking_id, body, key)
        if early is not None:
            return Response(
                early.body,
                status_code=early.status,
                media_type=MediaType.JSON,
                headers={REPLAYED_HEADER: "true"} if early.replayed else None,
            )
        request.state[_STATE_KEY] = (key, body)
        return None

    @post(
        RESCHEDULE_PATH,
        status_code=HTTPStatus.OK,
        name="agent_reschedule_booking",
        operation_id="agentRescheduleBooking",
        tags=["agent"],
        summary="Move one of the caller's bookings to another start",
        description=(
            "Give the phone the booking was made with (another phone is 404 "
            "`booking_not_found`, as a booking that does not exist) and the new date and time "
            "in the create's formats. One transaction changes the same booking: the new start "
            "obeys every create rule (hours, off days, closed dates, the service's minimum "
            "notice, the horizon; same codes), the booking's own interval does not count "
            "against it, and if the new start is taken the answer is 409 `slot_taken` with "
            "`alternatives` and the booking stays where it was: its old start is free again "
            "only once the move commits. Without `resource_id` it stays on its resource if "
            "that one can take the new start. 422 `too_late` from `reschedule_notice_minutes` "
            "(a business setting, 0 by default) before the *current* start, and once it has "
            "started; 409 `booking_not_active` if it is not upcoming or pending. Dashboards "
            "get `booking_rescheduled` (with `previous`). Only for trusted agents (403 "
            "otherwise)."
        ),
        security=AGENT_SECURITY,
        operation_class=TrustedAgentOperation,
        before_request=check_move,
        responses=refusals(
            InvalidRequestBody,
            MissingField,
            InvalidDate,
            InvalidTime,
            InvalidField,
            InvalidIdempotencyKey,
            BookingNotFound,
            BookingNotActive,
            SlotTaken,
            TooLate,
            BookingInPast,
            BeyondHorizon,
            OffDay,
            ClosedDate,
            OutsideWorkingHours,
            NotASlotStart,
            NoticeTooShort,
            UnknownService,
            UnknownResource,
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
            alternatives=True,
        ),
    )
    async def reschedule_booking(
        request: Request[Any, Any, Any],
        booking_id: Annotated[
            int,
            id_in_path("The booking's id."),
        ],
        data: JSONBody[RescheduleBookingRequest],
        idempotency_key: Annotated[
            str | None,
            idempotency_key_header(
                "Makes a retried move safe: the first request's answer (200, or a "
                "404/409/422 refusal) is recorded and a retry with the same key and body "
                "gets it again, with `Idempotent-Replayed: true`. A 400 is not recorded. "
                "Keys are shared with create and cancel: the same key with another "
                "request is 422 `idempotency_key_reused`. Kept 48 hours."
            ),
        ] = None,
    ) -> BookingRescheduled:
        del data, idempotency_key  # read and claimed by check_move; declared for the document
        key, body = request.state[_STATE_KEY]
        return await endpoint.move(booking_id, body, key)

    return [reschedule_booking]
