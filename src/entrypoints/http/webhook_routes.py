"""The admin API for webhook subscriptions (``/api/admin/webhooks/``), behind the admin token.

Bodies are read as sent and judged by the core (:mod:`agent_booking.core.webhooks`), so a bad
one gets the core's ``invalid_field`` or ``webhook_url_refused`` with its message. A secret is
in the answer to create and rotate only.
"""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from typing import Annotated, Any, Final

import msgspec
from litestar import HttpMethod, Request, Response, Router, delete, get, patch, post, route
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from msgspec import Meta

from agent_booking.adapters.sql.webhook_store import (
    MAX_ATTEMPTS_SHOWN,
    AttemptRecord,
    DeliveryRecord,
    WebhookSubscription,
)
from agent_booking.adapters.webhooks.subscriptions import WebhookSubscriptions
from agent_booking.core.entities import MAX_ID
from agent_booking.core.errors import (
    InvalidField,
    InvalidRequestBody,
    StorageUnavailable,
    WebhookNotFound,
    WebhookUrlRefused,
)
from agent_booking.entrypoints.http.booking_endpoint import json_object
from agent_booking.entrypoints.http.dashboard_socket import bearer_token, token_matches
from agent_booking.entrypoints.http.openapi import (
    DocumentedOperation,
    framework_case,
    id_in_path,
    query,
    refusals,
)

__all__ = ["webhook_router"]

_PATH: Final = "/api/admin/webhooks"
_TAGS: Final = ["admin", "webhooks"]
_SECURITY: Final[list[dict[str, list[str]]]] = [{"AdminToken": []}]
_UNAUTHORIZED: Final = framework_case(HTTPStatus.UNAUTHORIZED)
_NOT_AN_ID: Final = framework_case(HTTPStatus.NOT_FOUND)
_BODY_REFUSALS: Final = (
    framework_case(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
)
_MAX_LOG_PAGE: Final = 200
#: 18 digits: any delivery id there will be, and a pattern the document can state exactly.
_MAX_BEFORE: Final = 10**18 - 1
_WebhookId = Annotated[
    int,
    id_in_path("The subscription's id."),
]
Instant = Annotated[str, Meta(description="A UTC instant, ISO 8601 with `Z`.")]


class WebhookView(msgspec.Struct, kw_only=True):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    #: Why the service disabled it (410 Gone, or failing for 5 days); null otherwise.
    disabled_reason: str | None
    failing_since: Instant | None
    previous_secret_valid_until: Instant | None
    created_at: Instant
    updated_at: Instant


class WebhookEnvelope(msgspec.Struct, kw_only=True):
    success: bool = True
    data: WebhookView


class WebhookWithSecret(msgspec.Struct, kw_only=True):
    success: bool = True
    data: WebhookView
    secret: Annotated[
        str, Meta(description="The signing secret, shown only in this answer.", pattern="^whsec_")
    ]


class WebhookList(msgspec.Struct, kw_only=True):
    success: bool = True
    data: list[WebhookView]


class WebhookDeleted(msgspec.Struct, kw_only=True):
    success: bool = True
    deleted: int


class AttemptView(msgspec.Struct, kw_only=True):
    attempt: Annotated[
        int, Meta(description="Its number in the delivery's schedule (a replay starts at 1).")
    ]
    started_at: Instant
    status_code: Annotated[int | None, Meta(description="The receiver's answer, if any.")]
    error: Annotated[str | None, Meta(description="Why no answer came (refused, timed out).")]
    latency_ms: float | None
    next_attempt_at: Annotated[
        Instant | None, Meta(description="When the next attempt was due (null: none).")
    ]


class DeliveryView(msgspec.Struct, kw_only=True):
    id: int
    event_id: int
    status: Annotated[str, Meta(description="pending, delivered, failed or cancelled.")]
    attempts: int
    next_attempt_at: Instant | None
    last_attempt_at: Instant | None
    last_status_code: int | None
    last_error: str | None
    last_latency_ms: float | None
    created_at: Instant
    attempt_log: Annotated[
        list[AttemptView],
        Meta(description=f"Its latest attempts (at most {MAX_ATTEMPTS_SHOWN}), oldest first."),
    ]


class DeliveryList(msgspec.Struct, kw_only=True):
    success: bool = True
    data: list[DeliveryView]


class ReplayScheduled(msgspec.Struct, kw_only=True):
    success: bool = True
    scheduled: int


def _instant(value: float | None, *, precise: bool = False) -> str | None:
    """ISO 8601 in UTC, to the second (to the millisecond when ``precise``: attempts made
    within one second keep their order)."""
    if value is None:
        return None
    moment = dt.datetime.fromtimestamp(value, dt.UTC)
    if precise:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _view(subscription: WebhookSubscription, now: float | None = None) -> WebhookView:
    until = subscription.previous_secret_until
    still_valid = until is not None and (now is None or until > now)
    return WebhookView(
        id=subscription.id,
        url=subscription.url,
        description=subscription.description,
        event_types=list(subscription.event_types),
        enabled=subscription.enabled,
        disabled_reason=subscription.disabled_reason,
        failing_since=_instant(subscription.failing_since),
        previous_secret_valid_until=_instant(until) if still_valid else None,
        created_at=_instant(subscription.created_at) or "",
        updated_at=_instant(subscription.updated_at) or "",
    )


def _attempt(record: AttemptRecord) -> AttemptView:
    return AttemptView(
        attempt=record.attempt,
        started_at=_instant(record.started_at, precise=True) or "",
        status_code=record.status_code,
        error=record.error,
        latency_ms=record.latency_ms,
        next_attempt_at=_instant(record.next_attempt_at),
    )


def _delivery(record: DeliveryRecord) -> DeliveryView:
    return DeliveryView(
        id=record.id,
        event_id=record.event_id,
        status=record.status,
        attempts=record.attempts,
        next_attempt_at=_instant(record.next_attempt_at) if record.status == "pending" else None,
        last_attempt_at=_instant(record.last_attempt_at),
        last_status_code=record.last_status_code,
        last_error=record.last_error,
        last_latency_ms=record.last_latency_ms,
        created_at=_instant(record.created_at) or "",
        attempt_log=[_attempt(attempt) for attempt in record.history],
    )


def _whole(name: str, raw: str | None, default: int | None, maximum: int) -> int | None:
    if not raw:
        return default
    digits = raw.lstrip("0")
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(digits) > len(str(maximum))
        or not 1 <= int(digits or "0") <= maximum
    ):
        raise InvalidField(name, f"must be a whole number from 1 to {maximum}")
    return int(digits)


def _known(webhook_id: int) -> int:
    if not 0 < webhook_id <= MAX_ID:
        raise WebhookNotFound
    return webhook_id


def _allowed(request: Request[Any, Any, Any], tail: str) -> Response[None]:
    """Litestar's own OPTIONS answer names only the first method of a path; this one reads
    the methods the app routes to it (as the settings' does)."""
    methods = request.app.route_handler_method_map[_PATH + tail]
    return Response(
        None, status_code=HTTPStatus.NO_CONTENT, headers={"Allow": ", ".join(sorted(methods))}
    )


def webhook_router(admin_token: str | None, webhooks: WebhookSubscriptions) -> Router:
    async def require_admin(
        connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        if not token_matches(bearer_token(connection.headers), admin_token):
            raise NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})

    documented: dict[str, Any] = {
        "tags": _TAGS,
        "security": _SECURITY,
        "operation_class": DocumentedOperation,
    }

    @get(
        "/",
        name="admin_list_webhooks",
        operation_id="adminListWebhooks",
        summary="List webhook subscriptions",
        responses=refusals(_UNAUTHORIZED, StorageUnavailable),
        **documented,
    )
    async def list_webhooks() -> WebhookList:
        return WebhookList(data=[_view(item) for item in await webhooks.all()])

    @post(
        "/",
        status_code=HTTPStatus.CREATED,
        name="admin_create_webhook",
        operation_id="adminCreateWebhook",
        summary="Subscribe a URL to events",
        description=(
            'Body: `{"url": "https://…", "event_types": ["booking_created"] or ["*"], '
            '"description": "…", "enabled": true}` (only `url` is required; `event_types` '
            "defaults to every type). The answer holds the signing secret, shown only here."
        ),
        responses=refusals(
            _UNAUTHORIZED,
            InvalidRequestBody,
            InvalidField,
            WebhookUrlRefused,
            StorageUnavailable,
            *_BODY_REFUSALS,
        ),
        **documented,
    )
    async def create_webhook(request: Request[Any, Any, Any]) -> WebhookWithSecret:
        created, secret = await webhooks.create(json_object(await request.body()))
        return WebhookWithSecret(data=_view(created), secret=secret)

    @get(
        "/{webhook_id:int}/",
        name="admin_get_webhook",
        operation_id="adminGetWebhook",
        summary="One webhook subscription",
        responses=refusals(_UNAUTHORIZED, WebhookNotFound, _NOT_AN_ID, StorageUnavailable),
        **documented,
    )
    async def get_webhook(webhook_id: _WebhookId) -> WebhookEnvelope:
        return WebhookEnvelope(data=_view(await webhooks.get(_known(webhook_id))))

    @patch(
        "/{webhook_id:int}/",
        name="admin_update_webhook",
        operation_id="adminUpdateWebhook",
        summary="Change a subscription's URL, event types, description or enabled",
        description="Enabling a subscription again clears why it was disabled.",
        responses=refusals(
            _UNAUTHORIZED,
            InvalidRequestBody,
            InvalidField,
            WebhookUrlRefused,
            WebhookNotFound,
            _NOT_AN_ID,
            StorageUnavailable,
            *_BODY_REFUSALS,
        ),
        **documented,
    )
    async def update_webhook(
        webhook_id: _WebhookId, request: Request[Any, Any, Any]
    ) -> WebhookEnvelope:
        body = json_object(await request.body())
        return WebhookEnvelope(data=_view(await webhooks.update(_known(webhook_id), body)))

    @delete(
        "/{webhook_id:int}/",
        status_code=HTTPStatus.OK,
        name="admin_delete_webhook",
        operation_id="adminDeleteWebhook",
        summary="Delete a subscription and its delivery log",
        responses=refusals(_UNAUTHORIZED, WebhookNotFound, _NOT_AN_ID, StorageUnavailable),
        **documented,
    )
    async def delete_webhook(webhook_id: _WebhookId) -> WebhookDeleted:
        await webhooks.delete(_known(webhook_id))
        return WebhookDeleted(deleted=webhook_id)

    @post(
        "/{webhook_id:int}/rotate-secret/",
        status_code=HTTPStatus.OK,
        name="admin_rotate_webhook_secret",
        operation_id="adminRotateWebhookSecret",
        summary="Make a new signing secret; the old one keeps signing for 24 hours",
        responses=refusals(
            _UNAUTHORIZED,
            WebhookNotFound,
            _NOT_AN_ID,
            StorageUnavailable,
            framework_case(HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
        ),
        **documented,
    )
    async def rotate_secret(webhook_id: _WebhookId) -> WebhookWithSecret:
        rotated, secret = await webhooks.rotate(_known(webhook_id))
        return WebhookWithSecret(data=_view(rotated), secret=secret)

    @get(
        "/{webhook_id:int}/deliveries/",
        name="admin_webhook_deliveries",
        operation_id="adminWebhookDeliveries",
        summary="The subscription's delivery log, newest first",
        description=(
            "Each delivery (one per event) with its latest outcome and `attempt_log`, its "
            f"latest attempts (at most {MAX_ATTEMPTS_SHOWN}) oldest first: number, start, "
            "status code or error, latency and when the next was due."
        ),
        responses=refusals(
            _UNAUTHORIZED, InvalidField, WebhookNotFound, _NOT_AN_ID, StorageUnavailable
        ),
        **documented,
    )
    async def deliveries(
        webhook_id: _WebhookId,
        limit: Annotated[
            str | None,
            query(
                "limit",
                f"Deliveries per page (1 to {_MAX_LOG_PAGE}, default 50).",
                {"type": "string", "pattern": "^(?:0*(?:[1-9][0-9]?|1[0-9]{2}|200))?$"},
            ),
        ] = None,
        before: Annotated[
            str | None,
            query(
                "before",
                "Only deliveries with a smaller id (the next page).",
                {"type": "string", "pattern": "^(?:0*[1-9][0-9]{0,17})?$"},
            ),
        ] = None,
    ) -> DeliveryList:
        size = _whole("limit", limit, 50, _MAX_LOG_PAGE) or 50
        below = _whole("before", before, None, _MAX_BEFORE)
        records = await webhooks.deliveries(_known(webhook_id), size, below)
        return DeliveryList(data=[_delivery(record) for record in records])

    @post(
        "/{webhook_id:int}/replay/",
        status_code=HTTPStatus.OK,
        name="admin_replay_webhook",
        operation_id="adminReplayWebhook",
        summary="Send one event again, or every event since an id",
        description=(
            'Body `{"event_id": 42}` (that event) or `{"since": 42}` (every later one the '
            "subscription wants; `0` for all). Each is sent again with its own `webhook-id`."
        ),
        responses=refusals(
            _UNAUTHORIZED,
            InvalidRequestBody,
            InvalidField,
            WebhookNotFound,
            _NOT_AN_ID,
            StorageUnavailable,
            *_BODY_REFUSALS,
        ),
        **documented,
    )
    async def replay(webhook_id: _WebhookId, request: Request[Any, Any, Any]) -> ReplayScheduled:
        body = json_object(await request.body())
        return ReplayScheduled(scheduled=await webhooks.replay(_known(webhook_id), body))

    @route("/", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def list_options(request: Request[Any, Any, Any]) -> Response[None]:
        return _allowed(request, "")

    @route("/{webhook_id:int}/", http_method=[HttpMethod.OPTIONS], include_in_schema=False)
    async def one_options(
        request: Request[Any, Any, Any], webhook_id: _WebhookId
    ) -> Response[None]:
        del webhook_id
        return _allowed(request, "/{webhook_id:int}")

    return Router(
        path=_PATH,
        route_handlers=[
            list_options,
            one_options,
            list_webhooks,
            create_webhook,
            get_webhook,
            update_webhook,
            delete_webhook,
            rotate_secret,
            deliveries,
            replay,
        ],
        guards=[require_admin],
    )
