"""The admin API: list, inspect and cancel bookings; read and change the business settings.

Every route is behind the admin token (``Authorization: Bearer …``, compared in constant time).
Handlers only translate HTTP to use-case calls; rules and their errors live in the core.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, Response, Router, get, patch, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from booking_core.cancel_booking import CancelBooking
from booking_core.entities import BookingStatus
from booking_core.errors import (
    BookingNotFound,
    InvalidField,
    SettingsMissing,
)
from booking_core.events import booking_event_payload
from booking_core.parsing import DateOrder, parse_date
from booking_core.ports import UnitOfWorkFactory
from booking_core.queries import MAX_PAGE_SIZE, BookingQuery
from booking_core.request import normalize_phone
from booking_core.update_settings import UpdateSettings
from entrypoints.http.booking_endpoint import json_object
from entrypoints.http.dashboard_socket import bearer_token, token_matches

__all__ = ["ADMIN_API_PATH", "MAX_PAGE", "admin_router"]

ADMIN_API_PATH = "/api/admin"
_DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Ids are 64-bit in storage; a larger one cannot name a booking (and would overflow a query).
_MAX_ID = 2**63 - 1


def admin_router(
    admin_token: str | None,
    reads: UnitOfWorkFactory,
    cancel_booking: CancelBooking,
    update_settings: UpdateSettings,
    date_order: DateOrder,
) -> Router:
    async def require_admin(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        if not token_matches(bearer_token(connection.headers), admin_token):
            raise NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})

    @get("/bookings/", name="admin_list_bookings")
    async def list_bookings(request: Request[Any, Any, Any]) -> Response[Any]:
        query, page, page_size = _booking_query(dict(request.query_params), date_order)
        async with reads() as uow:
            found = await uow.queries.search(query)
        return Response(
            {
                "success": True,
                "data": [booking_event_payload(b, c) for b, c in found.rows],
                "page": page,
                "page_size": page_size,
                "total": found.total,
            }
        )

    @get("/bookings/{booking_id:int}/", name="admin_get_booking")
    async def get_booking(booking_id: int) -> Response[Any]:
        if not 0 < booking_id <= _MAX_ID:
            raise BookingNotFound
        async with reads() as uow:
            booking = await uow.bookings.get(booking_id)
            customer = None if booking is None else await uow.customers.get(booking.customer_id)
        if booking is None or customer is None:
            raise BookingNotFound
        return Response({"success": True, "data": booking_event_payload(booking, customer)})

    @post("/bookings/{booking_id:int}/cancel/", status_code=HTTPStatus.OK, name="admin_cancel")
    async def cancel(booking_id: int) -> Response[Any]:
        if not 0 < booking_id <= _MAX_ID:
            raise BookingNotFound
        cancelled = await cancel_booking(booking_id)
        return Response(
            {
                "success": True,
                "message": "Booking cancelled",
                "data": booking_event_payload(cancelled.booking, cancelled.customer),
            }
        )

    @get("/settings/", name="admin_get_settings")
    async def get_settings() -> Response[Any]:
        async with reads() as uow:
            settings = await uow.settings.get_active()
        if settings is None:
            raise SettingsMissing
        return Response({"success": True, "data": settings.as_document()})

    @patch("/settings/", name="admin_update_settings")
    async def change_settings(request: Request[Any, Any, Any]) -> Response[Any]:
        update = await update_settings(json_object(await request.body()))
        return Response(
            {
                "success": True,
                "data": update.settings.as_document(),
                "stranded_bookings": [booking_event_payload(b, c) for b, c in update.stranded],
            }
        )

    return Router(
        path=ADMIN_API_PATH,
        route_handlers=[list_bookings, get_booking, cancel, get_settings, change_settings],
        guards=[require_admin],
    )


def _booking_query(params: dict[str, str], date_order: DateOrder) -> tuple[BookingQuery, int, int]:
    page = _positive_int(params, "page", 1, MAX_PAGE)
    page_size = _positive_int(params, "page_size", _DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    status = params.get("status") or None
    if status is not None and status not in {s.value for s in BookingStatus}:
        raise InvalidField("status", "must be upcoming, pending, completed or cancelled")
    return (
        BookingQuery(
            date_from=parse_date(params["from"], date_order) if params.get("from") else None,
            date_to=parse_date(params["to"], date_order) if params.get("to") else None,
            statuses=None if status is None else frozenset({BookingStatus(status)}),
            phone=normalize_phone(params["phone"]) if params.get("phone") else None,
            offset=(page - 1) * page_size,
            limit=page_size,
        ),
        page,
        page_size,
    )


def _positive_int(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidField(name, f"must be a whole number from 1 to {maximum}")
    return int(raw)
