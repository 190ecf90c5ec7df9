"""The admin API: list, inspect and cancel bookings; read and change the business settings; a
day's availability for the dashboard; the catalog (resources, their plans and exceptions,
services).

Every route is behind the admin token (``Authorization: Bearer …``, compared in constant time).
Handlers only translate HTTP to use-case calls; rules and their errors live in the core.
Query parameters are read as text and parsed here or by the core, never by Litestar, so a bad
value gets the core's refusal (``invalid_field`` with its message); their documented schemas say
what is accepted.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated, Any, Final, TypeVar

import msgspec
import pendulum
from litestar import (
    Controller,
    HttpMethod,
    Request,
    Response,
    Router,
    delete,
    get,
    patch,
    post,
    put,
    route,
)
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody, PathParameter, QueryParameter

from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.check_availability import AvailabilityQuery, CheckAvailability
from agent_booking.core.entities import MAX_ID, BookingStatus
from agent_booking.core.errors import (
    BookingNotActive,
    BookingNotFound,
    InvalidCatalog,
    InvalidDate,
    InvalidField,
    InvalidRequestBody,
    InvalidSettings,
    MissingField,
    ResourceNotFound,
    ServiceNameTaken,
    ServiceNotFound,
    ServiceUnavailable,
    SettingsMissing,
    StorageUnavailable,
    TransientConflict,
    UnknownResource,
    UnknownService,
)
from agent_booking.core.manage_resources import ManageResources, PlanReplaced
from agent_booking.core.manage_services import ManageServices
from agent_booking.core.parsing import DateOrder, parse_date
from agent_booking.core.placement import current_catalog
from agent_booking.core.ports import UnitOfWorkFactory
from agent_booking.core.queries import MAX_PAGE_SIZE, BookingQuery
from agent_booking.core.request import PhoneReader, normalize_phone
from agent_booking.core.update_settings import SettingsChanges, UpdateSettings
from agent_booking.entrypoints.http.booking_endpoint import json_object
from agent_booking.entrypoints.http.dashboard_socket import bearer_token, token_matches
from agent_booking.entrypoints.http.openapi import (
    CATALOG_ID,
    DocumentedOperation,
    domain_error_classes,
    framework_case,
    id_in_path,
    query,
    refusals,
)
from agent_booking.entrypoints.http.presenters import (
    AvailabilityView,
    BookingEnvelope,
    BookingList,
    CancelledBookingView,
    SettingsEnvelope,
    SettingsUpdated,
    availability_view,
    booking_view,
    booking_views,
    settings_view,
)
from agent_booking.entrypoints.http.request_bodies import (
    ACCEPTED_DATE,
    DATE_OR_EMPTY,
    PHONE_OR_EMPTY,
    SettingsChangesRequest,
)
from agent_booking.entrypoints.http.resource_views import (
    ExceptionBody,
    NewResourceBody,
    PlanBody,
    PlanReplacedView,
    ResourceChangesBody,
    ResourceEnvelope,
    ResourceList,
    exception_intervals,
    resource_view,
    weekly_plan,
)
from agent_booking.entrypoints.http.service_views import (
    NewServiceBody,
    ServiceChangedView,
    ServiceChangesBody,
    ServiceEnvelope,
    ServiceList,
    service_changes,
    service_view,
)
from agent_booking.entrypoints.http.spoken_text import Speech

__all__ = ["ADMIN_API_PATH", "MAX_PAGE", "admin_router"]

ADMIN_API_PATH = "/api/admin"
_DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Ids are 64-bit in storage; a larger one cannot name a booking (and would overflow a query).

_TAGS: Final = ["admin"]
_SECURITY: Final[list[dict[str, list[str]]]] = [{"AdminToken": []}]
_UNAUTHORIZED: Final = framework_case(HTTPStatus.UNAUTHORIZED)
#: A booking id that is not a whole number matches no route: the framework's 404.
_NOT_AN_ID: Final = framework_case(HTTPStatus.NOT_FOUND)
#: A required query parameter left out: the framework's 400 (an empty one is the core's).
_NO_DATE: Final = framework_case(HTTPStatus.BAD_REQUEST)
# Every query parameter left empty counts as not given.
_DATE: Final = {"type": "string", "pattern": DATE_OR_EMPTY}
_STATUSES: Final = [status.value for status in BookingStatus]
_BookingId = Annotated[
    int,
    id_in_path("The booking's id (a 64-bit integer)."),
]

_Body = TypeVar(
    "_Body",
    NewResourceBody,
    ResourceChangesBody,
    PlanBody,
    ExceptionBody,
    NewServiceBody,
    ServiceChangesBody,
)
_ResourceId = Annotated[
    int,
    id_in_path("The resource's id (a 64-bit integer)."),
]

_ServiceId = Annotated[
    int,
    id_in_path("The service's id (a 64-bit integer)."),
]

_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_Day = Annotated[
    str,
    PathParameter(
        description="The date, YYYY-MM-DD.",
        schema_extra={"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    ),
]

#: Whole numbers in ASCII digits (leading zeros allowed), 1 to the maximum, or empty.
_WHOLE_NUMBERS: Final = {
    MAX_PAGE: "0*(?:[1-9][0-9]{0,5}|1000000)",
    MAX_PAGE_SIZE: "0*(?:[1-9][0-9]?|1[0-9]{2}|200)",
}


def _page_number(maximum: int, default: int) -> dict[str, Any]:
    """Documented as the text :func:`_positive_int` accepts (an empty value is the default)."""
    return {
        "type": "string",
        "pattern": f"^(?:{_WHOLE_NUMBERS[maximum]})?$",
        "default": str(default),
    }


class _AllMethodsAllowed(Controller):
    """A controller whose OPTIONS answer names every method the app routes to its path.

    Litestar makes an OPTIONS handler for a path when its first method is registered and keeps
    it when a second one joins, so its ``Allow`` named one method only. (Litestar registers a
    controller's handlers sorted by name, and this class's sorts first.)
    """

    @route("/", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def allowed_methods(self, request: Request[Any, Any, Any]) -> Response[None]:
        methods = request.app.route_handler_method_map[ADMIN_API_PATH + self.path.rstrip("/")]
        return Response(
            None, status_code=HTTPStatus.NO_CONTENT, headers={"Allow": ", ".join(sorted(methods))}
        )


def admin_router(  # noqa: PLR0913, PLR0915, PLR0917 - one handler per route; one use case each
    admin_token: str | None,
    reads: UnitOfWorkFactory,
    cancel_booking: CancelBooking,
    update_settings: UpdateSettings,
    check_availability: CheckAvailability,
    date_order: DateOrder,
    speech: Speech,
    manage_resources: ManageResources,
    manage_services: ManageServices,
    *,
    phones: PhoneReader | None = None,
) -> Router:
    async def require_admin(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        if not token_matches(bearer_token(connection.headers), admin_token):
            raise NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})

    @get(
        "/bookings/",
        name="admin_list_bookings",
        operation_id="adminListBookings",
        summary="List bookings, filtered and paged",
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(_UNAUTHORIZED, InvalidDate, InvalidField, StorageUnavailable),
    )
    async def list_bookings(
        first: Annotated[str | None, query("from", "First booking date, inclusive.", _DATE)] = None,
        last: Annotated[str | None, query("to", "Last booking date, inclusive.", _DATE)] = None,
        status: Annotated[
            str | None,
            query(
                "status",
                "Only bookings in this status.",
                {"type": "string", "enum": ["", *_STATUSES]},
            ),
        ] = None,
        phone: Annotated[
            str | None,
            query(
                "phone",
                "Customer's phone, read as a create request's `phone` (any accepted form).",
                {"type": "string", "pattern": PHONE_OR_EMPTY},
            ),
        ] = None,
        page: Annotated[str | None, query("page", "Page.", _page_number(MAX_PAGE, 1))] = None,
        page_size: Annotated[
            str | None,
            query(
                "page_size",
                "Bookings per page.",
                _page_number(MAX_PAGE_SIZE, _DEFAULT_PAGE_SIZE),
            ),
        ] = None,
    ) -> BookingList:
        page_number = _positive_int("page", page, 1, MAX_PAGE)
        size = _positive_int("page_size", page_size, _DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if status and status not in _STATUSES:
            raise InvalidField("status", "must be upcoming, pending, completed or cancelled")
        wanted = BookingQuery(
            date_from=parse_date(first, date_order) if first else None,
            date_to=parse_date(last, date_order) if last else None,
            statuses=frozenset({BookingStatus(status)}) if status else None,
            # Read as the create request reads it (E.164 with BOOKING_DEFAULT_REGION).
            phone=(phones or normalize_phone)(phone) if phone else None,
            offset=(page_number - 1) * size,
            limit=size,
        )
        async with reads() as uow:
            found = await uow.queries.search(wanted)
            catalog = await current_catalog(uow)
        return BookingList(
            data=booking_views(found.rows, catalog),
            page=page_number,
            page_size=size,
            total=found.total,
        )

    @get(
        "/availability/",
        name="admin_availability",
        operation_id="adminAvailability",
        summary="Free and taken slot starts of one day, for the dashboard",
        description=(
            "The agent availability answer for `date`, behind the admin token instead of the "
            "agent API keys, so the dashboard's day view works whether or not keys are set. "
            "`free_resources[i]` lists the resources free at `free[i]` (one column per "
            "resource in a day view); `service_id` and `resource_id` narrow it as for agents."
        ),
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(
            _UNAUTHORIZED,
            _NO_DATE,
            MissingField,
            InvalidDate,
            InvalidField,
            UnknownService,
            UnknownResource,
            SettingsMissing,
            StorageUnavailable,
        ),
    )
    async def availability(
        date: Annotated[
            str,
            QueryParameter(
                description="The day.",
                required=True,
                schema_extra={"oneOf": None, "type": "string", "pattern": ACCEPTED_DATE},
            ),
        ],
        service_id: Annotated[
            str | None,
            query(
                "service_id",
                "A catalog service: its duration, buffers, notice and resources (default: a "
                "booking one slot long on any resource).",
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
            date=date, service_id=service_id, resource_id=resource_id, date_order=date_order
        )
        return availability_view(await check_availability(wanted), speech)

    @get(
        "/bookings/{booking_id:int}/",
        name="admin_get_booking",
        operation_id="adminGetBooking",
        summary="One booking",
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(_UNAUTHORIZED, BookingNotFound, _NOT_AN_ID, StorageUnavailable),
    )
    async def get_booking(booking_id: _BookingId) -> BookingEnvelope:
        if not 0 < booking_id <= MAX_ID:
            raise BookingNotFound
        async with reads() as uow:
            booking = await uow.bookings.get(booking_id)
            customer = None if booking is None else await uow.customers.get(booking.customer_id)
            catalog = await current_catalog(uow)
        if booking is None or customer is None:
            raise BookingNotFound
        return BookingEnvelope(data=booking_view(booking, customer, catalog))

    @post(
        "/bookings/{booking_id:int}/cancel/",
        status_code=HTTPStatus.OK,
        name="admin_cancel",
        operation_id="adminCancelBooking",
        summary="Cancel an upcoming or pending booking",
        description="The slot is free again at once, and dashboards receive `booking_cancelled`.",
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        # The handler reads no body, so only the declared type can be refused (415).
        responses=refusals(
            _UNAUTHORIZED,
            BookingNotFound,
            _NOT_AN_ID,
            BookingNotActive,
            StorageUnavailable,
            TransientConflict,
            framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ),
    )
    async def cancel(booking_id: _BookingId) -> CancelledBookingView:
        if not 0 < booking_id <= MAX_ID:
            raise BookingNotFound
        cancelled = await cancel_booking(booking_id)
        async with reads() as uow:
            catalog = await current_catalog(uow)
        return CancelledBookingView(
            data=booking_view(cancelled.booking, cancelled.customer, catalog)
        )

    async def apply_changes(raw_body: bytes) -> SettingsUpdated:
        """The core judges the body as sent (fields in its order, its messages)."""
        update = await update_settings(SettingsChanges.from_mapping(json_object(raw_body)))
        async with reads() as uow:
            catalog = await current_catalog(uow)
        return SettingsUpdated(
            data=settings_view(update.settings),
            stranded_bookings=booking_views(
                ((item.booking, item.customer) for item in update.stranded), catalog
            ),
        )

    async def answer_unless_typed(request: Request[Any, Any, Any]) -> SettingsUpdated | None:
        """Litestar would refuse a body its Struct does not accept with words of its own; the
        core's refusal (``invalid_body``, ``invalid_settings`` and its message) is the
        contract. So only a body the Struct accepts is left to the handler."""
        raw_body = await request.body()
        return None if _decodes_as_changes(raw_body) else await apply_changes(raw_body)

    class SettingsController(_AllMethodsAllowed):
        """The settings: GET and PATCH, and the OPTIONS answer naming both."""

        path = "/settings/"

        @get(
            "/",
            name="admin_get_settings",
            operation_id="adminGetSettings",
            summary="The business settings",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(_UNAUTHORIZED, SettingsMissing, StorageUnavailable),
        )
        async def get_settings(self) -> SettingsEnvelope:
            async with reads() as uow:
                settings = await uow.settings.get_active()
            if settings is None:
                raise SettingsMissing
            return SettingsEnvelope(data=settings_view(settings))

        @patch(
            "/",
            name="admin_update_settings",
            operation_id="adminUpdateSettings",
            summary="Change some of the business settings",
            description="Lists the active future bookings the new settings strand (they are kept).",
            before_request=answer_unless_typed,
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(
                _UNAUTHORIZED,
                InvalidRequestBody,
                InvalidSettings,
                *(
                    error
                    for error in domain_error_classes()
                    if issubclass(error, ServiceUnavailable)
                ),
                framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
                framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
            ),
        )
        async def change_settings(
            self,
            request: Request[Any, Any, Any],
            data: JSONBody[SettingsChangesRequest],
        ) -> SettingsUpdated:
            del data  # the gate's type; the core reads the body as sent (its check order)
            return await apply_changes(await request.body())

    body_refusals = (
        _UNAUTHORIZED,
        framework_case(HTTPStatus.BAD_REQUEST),
        InvalidCatalog,
        framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        SettingsMissing,
        StorageUnavailable,
        TransientConflict,
    )

    class ResourcesController(_AllMethodsAllowed):
        """The resources: GET and POST, and the OPTIONS answer naming both."""

        path = "/resources/"

        @get(
            "/",
            name="admin_list_resources",
            operation_id="adminListResources",
            summary="The resources (people, rooms) with their weekly plans and date exceptions",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(_UNAUTHORIZED, SettingsMissing, StorageUnavailable),
        )
        async def list_resources(self) -> ResourceList:
            async with reads() as uow:
                catalog = await current_catalog(uow)
            if catalog is None:
                raise SettingsMissing
            return ResourceList(data=[resource_view(item) for item in catalog.resources])

        @post(
            "/",
            name="admin_add_resource",
            operation_id="adminAddResource",
            summary="Add a resource (active, without working hours until it gets a plan)",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(*body_refusals),
        )
        async def new_resource(
            self, request: Request[Any, Any, Any], data: JSONBody[NewResourceBody]
        ) -> ResourceEnvelope:
            del data  # documents the body; read strictly below
            body = _strictly(NewResourceBody, await request.body())
            return ResourceEnvelope(data=resource_view(await manage_resources.add(body.name)))

    @patch(
        "/resources/{resource_id:int}/",
        name="admin_change_resource",
        operation_id="adminChangeResource",
        summary="Rename a resource, or deactivate or activate it",
        description="An inactive resource takes no new bookings; its bookings are kept.",
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(*body_refusals, ResourceNotFound, _NOT_AN_ID),
    )
    async def change_resource(
        request: Request[Any, Any, Any],
        resource_id: _ResourceId,
        data: JSONBody[ResourceChangesBody],
    ) -> ResourceEnvelope:
        del data  # documents the body; read strictly below
        body = _strictly(ResourceChangesBody, await request.body())
        if not 0 < resource_id <= MAX_ID:
            raise ResourceNotFound
        changed = await manage_resources.change(resource_id, name=body.name, active=body.active)
        return ResourceEnvelope(data=resource_view(changed))

    @put(
        "/resources/{resource_id:int}/plan/",
        name="admin_replace_plan",
        operation_id="adminReplacePlan",
        summary="Replace a resource's weekly plan",
        description="Lists the resource's active future bookings the new plan strands (they are "
        "kept). The resource stops following the business hours.",
        tags=_TAGS,
        security=_SECURITY,
        operation_class=DocumentedOperation,
        responses=refusals(*body_refusals, ResourceNotFound, _NOT_AN_ID),
    )
    async def replace_plan(
        request: Request[Any, Any, Any], resource_id: _ResourceId, data: JSONBody[PlanBody]
    ) -> PlanReplacedView:
        del data  # documents the body; read strictly below
        body = _strictly(PlanBody, await request.body())
        if not 0 < resource_id <= MAX_ID:
            raise ResourceNotFound
        replaced = await manage_resources.replace_plan(resource_id, weekly_plan(body))
        return await answer_stranding(replaced)

    async def answer_stranding(replaced: PlanReplaced) -> PlanReplacedView:
        async with reads() as uow:
            catalog = await current_catalog(uow)
        return PlanReplacedView(
            data=resource_view(replaced.resource),
            stranded_bookings=booking_views(replaced.stranded, catalog),
        )

    class ExceptionsController(_AllMethodsAllowed):
        """A date exception: PUT and DELETE, and the OPTIONS answer naming both."""

        path = "/resources/{resource_id:int}/exceptions/{day:str}/"

        @put(
            "/",
            name="admin_set_exception",
            operation_id="adminSetException",
            summary="Set a resource's exception on one date: other hours, or closed all day",
            description="Replaces the weekly plan on that date (an exception already there is "
            "replaced). Lists the resource's active future bookings it strands (they are kept).",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(*body_refusals, InvalidDate, ResourceNotFound, _NOT_AN_ID),
        )
        async def set_exception(
            self,
            request: Request[Any, Any, Any],
            resource_id: _ResourceId,
            day: _Day,
            data: JSONBody[ExceptionBody],
        ) -> PlanReplacedView:
            del data  # documents the body; read strictly below
            body = _strictly(ExceptionBody, await request.body())
            date = _iso_date(day)
            if not 0 < resource_id <= MAX_ID:
                raise ResourceNotFound
            intervals = exception_intervals(body)
            return await answer_stranding(
                await manage_resources.set_exception(resource_id, date, intervals)
            )

        @delete(
            "/",
            name="admin_remove_exception",
            operation_id="adminRemoveException",
            summary="Remove a resource's exception on one date: its weekly plan applies again",
            description="Removing an exception that is not there changes nothing. Lists the "
            "resource's active future bookings its weekly plan strands on that date or others.",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            status_code=HTTPStatus.OK,
            responses=refusals(
                _UNAUTHORIZED,
                InvalidDate,
                ResourceNotFound,
                _NOT_AN_ID,
                SettingsMissing,
                StorageUnavailable,
                TransientConflict,
            ),
        )
        async def remove_exception(self, resource_id: _ResourceId, day: _Day) -> PlanReplacedView:
            date = _iso_date(day)
            if not 0 < resource_id <= MAX_ID:
                raise ResourceNotFound
            return await answer_stranding(
                await manage_resources.remove_exception(resource_id, date)
            )

    class ServicesController(_AllMethodsAllowed):
        """The services: GET and POST, and the OPTIONS answer naming both."""

        path = "/services/"

        @get(
            "/",
            name="admin_list_services",
            operation_id="adminListServices",
            summary="The catalog's services, inactive ones too, with the resources performing them",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(_UNAUTHORIZED, SettingsMissing, StorageUnavailable),
        )
        async def list_services(self) -> ServiceList:
            async with reads() as uow:
                catalog = await current_catalog(uow)
            if catalog is None:
                raise SettingsMissing
            ordered = sorted(catalog.services, key=lambda item: item.id or 0)
            return ServiceList(data=[service_view(item) for item in ordered])

        @post(
            "/",
            name="admin_add_service",
            operation_id="adminAddService",
            summary="Add a service to the catalog",
            description="Requests naming it (case-insensitively) book it from then on, in every "
            "process. Every resource performs it unless `resource_ids` lists some.",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(*body_refusals, UnknownResource, ServiceNameTaken),
        )
        async def new_service(
            self, request: Request[Any, Any, Any], data: JSONBody[NewServiceBody]
        ) -> ServiceEnvelope:
            del data  # documents the body; read strictly below
            body = _strictly(NewServiceBody, await request.body())
            return ServiceEnvelope(
                data=service_view(await manage_services.add(service_changes(body)))
            )

    class ServiceController(_AllMethodsAllowed):
        """One service: GET and PATCH (there is no DELETE: bookings keep their service, so a
        service is deactivated instead), and the OPTIONS answer naming both."""

        path = "/services/{service_id:int}/"

        @get(
            "/",
            name="admin_get_service",
            operation_id="adminGetService",
            summary="One service",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(
                _UNAUTHORIZED, ServiceNotFound, _NOT_AN_ID, SettingsMissing, StorageUnavailable
            ),
        )
        async def get_service(self, service_id: _ServiceId) -> ServiceEnvelope:
            async with reads() as uow:
                catalog = await current_catalog(uow)
            if catalog is None:
                raise SettingsMissing
            found = catalog.service(service_id) if 0 < service_id <= MAX_ID else None
            if found is None:
                raise ServiceNotFound
            return ServiceEnvelope(data=service_view(found))

        @patch(
            "/",
            name="admin_change_service",
            operation_id="adminChangeService",
            summary="Change any of a service's fields; deactivate it with `active: false`",
            description="Lists the service's active future bookings the change strands (they "
            "are kept, and keep the time they were booked for). There is no delete: bookings "
            "keep the service they booked, so a service no longer offered is deactivated.",
            tags=_TAGS,
            security=_SECURITY,
            operation_class=DocumentedOperation,
            responses=refusals(
                *body_refusals, UnknownResource, ServiceNameTaken, ServiceNotFound, _NOT_AN_ID
            ),
        )
        async def change_service(
            self,
            request: Request[Any, Any, Any],
            service_id: _ServiceId,
            data: JSONBody[ServiceChangesBody],
        ) -> ServiceChangedView:
            del data  # documents the body; read strictly below
            body = _strictly(ServiceChangesBody, await request.body())
            if not 0 < service_id <= MAX_ID:
                raise ServiceNotFound
            changed = await manage_services.change(service_id, service_changes(body))
            async with reads() as uow:
                catalog = await current_catalog(uow)
            return ServiceChangedView(
                data=service_view(changed.service),
                stranded_bookings=booking_views(changed.stranded, catalog),
            )

    return Router(
        path=ADMIN_API_PATH,
        route_handlers=[
            availability,
            list_bookings,
            get_booking,
            cancel,
            SettingsController,
            ResourcesController,
            change_resource,
            replace_plan,
            ExceptionsController,
            ServicesController,
            ServiceController,
        ],
        guards=[require_admin],
    )


_decode_changes = msgspec.json.Decoder(SettingsChangesRequest).decode


def _decodes_as_changes(raw_body: bytes) -> bool:
    try:
        _decode_changes(raw_body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True


def _strictly(kind: type[_Body], raw_body: bytes) -> _Body:
    """The body decoded as documented: Litestar converts loosely (``0`` for ``false``), so a
    handler's typed ``data`` only documents it, and a body strict decoding refuses is a 400."""
    try:
        return msgspec.json.decode(raw_body, type=kind, strict=True)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise ValidationException from None


def _iso_date(text: str) -> pendulum.Date:
    """A path's date: YYYY-MM-DD and a real calendar date, else 400 invalid_date."""
    if not _ISO_DATE.fullmatch(text):
        raise InvalidDate("date must be YYYY-MM-DD")
    try:
        return pendulum.Date.fromisoformat(text)
    except ValueError:
        raise InvalidDate("date must be a real calendar date") from None


def _positive_int(name: str, raw: str | None, default: int, maximum: int) -> int:
    if not raw:
        return default
    # Leading zeros are allowed (as documented); the length check keeps int() from reading a
    # number of thousands of digits, which it refuses with a ValueError (a 500).
    digits = raw.lstrip("0")
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(digits) > len(str(maximum))
        or not 1 <= int(digits or "0") <= maximum
    ):
        raise InvalidField(name, f"must be a whole number from 1 to {maximum}")
    return int(digits)
