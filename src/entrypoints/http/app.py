"""The composition root: configuration in, a ready-to-serve Litestar app out.

This is the one place that chooses adapters. Production calls it with a config only and gets
the SQL database; tests and embedders pass their own unit of work factory, clock or notifier and
get the very same routes and error handling. Building the app does no I/O (the engine connects
lazily), so it is cheap to build one per test and safe to build in every worker process.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from litestar import Litestar

from agent_booking.adapters.clock import SystemClock
from agent_booking.adapters.fanout import EventFanout, RelayUnitOfWorkFactory
from agent_booking.adapters.phones import RegionalPhones
from agent_booking.adapters.rate_limit import InMemoryRateCounterStore, RateCounterStore
from agent_booking.adapters.spoken import SpokenStarts
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.check_availability import CheckAvailability
from agent_booking.core.confirm_hold import ConfirmHold
from agent_booking.core.create_agent_booking import CreateAgentBooking
from agent_booking.core.events import StoredEvent, booking_event_payload
from agent_booking.core.find_bookings import FindCallerBookings
from agent_booking.core.hold_slot import HoldSlot
from agent_booking.core.holds import HoldTerms
from agent_booking.core.idempotency import IdempotencyKeys
from agent_booking.core.list_services import ListServices
from agent_booking.core.manage_resources import ManageResources
from agent_booking.core.manage_services import ManageServices
from agent_booking.core.offer_slots import OfferSlots
from agent_booking.core.passwords import hash_password
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory
from agent_booking.core.release_hold import ReleaseHold
from agent_booking.core.reschedule_booking import RescheduleBooking
from agent_booking.core.sweep_expired_holds import SweepExpiredHolds
from agent_booking.core.update_settings import UpdateSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.hold_sweeper import HoldSweeper
from agent_booking.entrypoints.http.admin_page import admin_page_routes
from agent_booking.entrypoints.http.admin_routes import admin_router
from agent_booking.entrypoints.http.agent_access import AgentAccess, agent_access
from agent_booking.entrypoints.http.booking_endpoint import (
    BookingEndpoint,
    BookingLane,
    EndpointRole,
)
from agent_booking.entrypoints.http.caller_bookings import (
    CallerBookingsEndpoint,
    caller_booking_routes,
)
from agent_booking.entrypoints.http.content_type import require_json_body
from agent_booking.entrypoints.http.cors import cors_config
from agent_booking.entrypoints.http.dashboard_socket import RecentBookings, admin_socket_routes
from agent_booking.entrypoints.http.errors import exception_handlers
from agent_booking.entrypoints.http.holds import HOLDS_PATH, HoldsEndpoint, hold_routes
from agent_booking.entrypoints.http.metrics import CountingNotifier, Metrics, metrics_routes
from agent_booking.entrypoints.http.openapi import RefusalSchemaPlugin, openapi_config
from agent_booking.entrypoints.http.request_edge import RequestEdge
from agent_booking.entrypoints.http.reschedule import RescheduleEndpoint, reschedule_routes
from agent_booking.entrypoints.http.routes import ReadinessCheck, booking_routes, health_routes
from agent_booking.entrypoints.http.slot_offer import slot_offer_routes
from agent_booking.entrypoints.http.spoken_text import Speech
from agent_booking.entrypoints.mcp.http import McpEndpoint, McpLane
from agent_booking.entrypoints.tools.booking_tools import ToolEndpoints, booking_tools
from agent_booking.entrypoints.tools.http import ToolLane
from agent_booking.entrypoints.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agent_booking.adapters.sql.database import SqlDatabase
    from agent_booking.adapters.webhooks.addresses import Resolver
    from agent_booking.adapters.webhooks.worker import WebhookWorker


__all__ = ["AGENT_TOOLS_STATE", "create_app"]

#: ``app.state`` key of the app's :class:`ToolRegistry` (``booking mcp`` serves it over stdio).
AGENT_TOOLS_STATE = "agent_tools"

_log = logging.getLogger(__name__)


def create_app(
    config: AppConfig,
    *,
    uow_factory: RelayUnitOfWorkFactory | None = None,
    read_uow_factory: RelayUnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    ping: ReadinessCheck | None = None,
    webhook_resolver: Resolver | None = None,
) -> Litestar:
    """Build the HTTP app; with no ``uow_factory``, on the SQL database in ``config``.

    ``read_uow_factory`` serves reads (the event feed, listings); it defaults to
    ``uow_factory``. ``ping`` is the readiness check behind ``GET /ready``. With the SQL
    database it defaults to the database's ping; with a caller's ``uow_factory`` it defaults to
    opening a unit of work and reading the settings, which exercises the same storage the
    endpoint uses. ``notifier`` defaults to this process's event fan-out, which also feeds the
    admin WebSocket.

    Webhooks need the SQL database (their subscriptions and deliveries live there): with it,
    every process runs a delivery worker and serves ``/api/admin/webhooks/``.
    ``webhook_resolver`` replaces DNS for them (tests).
    """
    on_startup: list[Callable[[], Any]] = []
    on_shutdown: list[Callable[[], Any]] = []
    webhook_routes: list[Any] = []
    webhook_pending: Callable[[], Awaitable[int]] | None = None
    wakes: list[Callable[[], None]] = []
    metrics = Metrics()
    # One process (SQLite, or a caller's adapters): counters in memory; PostgreSQL: shared.
    rate_store: RateCounterStore = InMemoryRateCounterStore()
    if uow_factory is None:
        # Imported here so that apps built on other adapters never load the SQL stack.
        from agent_booking.adapters.sql.database import SqlDatabase  # noqa: PLC0415

        database = SqlDatabase.connect(
            config.database_url,
            pool_size=config.db_pool_size,
            statement_timeout_ms=config.statement_timeout_ms,
            sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
        )
        uow_factory = database.unit_of_work
        read_uow_factory = database.read_unit_of_work
        ping = ping or database.ping
        on_shutdown.append(database.dispose)
        if not database.is_sqlite:
            from agent_booking.adapters.sql.rate_limit import SqlRateCounterStore  # noqa: PLC0415

            rate_store = SqlRateCounterStore(database.engine)
        _log.info("using database %s", config.safe_database_url)
        worker, webhook_routes, webhook_pending = _webhooks(
            config, database, database.read_unit_of_work, webhook_resolver, metrics
        )
        on_startup.append(worker.start)
        on_shutdown.insert(0, worker.stop)
        wakes.append(worker.events_committed)
    reads = read_uow_factory or uow_factory
    fanout = EventFanout.over(
        reads, poll_interval=config.event_poll_seconds, queue_size=config.socket_queue_size
    )
    if config.database_backend == "postgresql" and read_uow_factory is not None:
        from agent_booking.adapters.sql.listener import PostgresEventListener  # noqa: PLC0415

        # Commits in other processes arrive by NOTIFY; polling covers a lost listener.
        listener = PostgresEventListener(config.database_url, _wake_all([fanout.wake, *wakes]))
        on_startup.append(listener.start)
        on_shutdown.insert(0, listener.stop)
    on_startup.append(fanout.start)
    on_shutdown.insert(0, fanout.stop)
    clock = clock or SystemClock()
    phones = RegionalPhones(config.default_region) if config.default_region else None
    speech = Speech(SpokenStarts(config.locale), clock)
    notifier = CountingNotifier(_WakingNotifier(notifier or fanout, wakes), metrics)
    create_booking = CreateAgentBooking(
        uow_factory,
        clock,
        notifier,
        # Hashed once here, not per new customer, so a first booking costs what any other does.
        initial_password_hash=(
            hash_password(config.initial_password) if config.initial_password else None
        ),
        reads=reads,
        max_open_bookings=config.max_active_per_phone,
    )
    idempotency_keys = IdempotencyKeys(uow_factory, clock)
    endpoint = BookingEndpoint(
        create_booking,
        idempotency_keys,
        metrics,
        date_order=config.date_order,
        phones=phones,
        speech=speech,
    )
    access = agent_access(config, rate_store)
    check_availability = CheckAvailability(reads, clock)
    # The agent tools (MCP, voice platforms) run the same endpoint and query as the routes.
    cancel_booking = CancelBooking(uow_factory, clock, notifier)
    caller_bookings = CallerBookingsEndpoint(
        FindCallerBookings(reads, clock), cancel_booking, idempotency_keys, speech, phones
    )
    offer_slots = OfferSlots(reads, clock)
    reschedule = RescheduleEndpoint(
        RescheduleBooking(uow_factory, clock, notifier, reads=reads),
        idempotency_keys,
        speech,
        date_order=config.date_order,
        phones=phones,
    )
    holds = _holds(
        config, create_booking, uow_factory, clock, notifier, endpoint, on_startup, on_shutdown
    )
    tools = ToolRegistry(
        booking_tools(
            ToolEndpoints(
                endpoint,
                check_availability,
                caller_bookings,
                offer_slots,
                ListServices(reads),
                reschedule,
                holds,
            ),
            config.date_order,
            speech,
        ),
        phone_region=config.default_region,
    )
    mcp_endpoint = McpEndpoint(tools, max_body_bytes=config.max_body_bytes)
    app = Litestar(
        route_handlers=[
            *booking_routes(endpoint, check_availability, config.date_order, speech),
            admin_router(
                config.admin_token,
                reads,
                cancel_booking,
                UpdateSettings(uow_factory, clock),
                check_availability,
                config.date_order,
                speech,
                ManageResources(uow_factory, clock),
                ManageServices(uow_factory, clock),
                phones=phones,
            ),
            *caller_booking_routes(caller_bookings),
            *reschedule_routes(reschedule),
            *hold_routes(
                holds, hold_seconds=config.hold_seconds, max_holds=config.max_holds_per_phone
            ),
            *slot_offer_routes(offer_slots, config.date_order, speech),
            *health_routes(ping or _unit_of_work_check(uow_factory)),
            *admin_page_routes(),
            *admin_socket_routes(fanout, config.admin_token, _recent_bookings(reads)),
            *metrics_routes(metrics, fanout, webhook_pending),
            *webhook_routes,
        ],
        exception_handlers=exception_handlers(speech),
        after_exception=[metrics.after_exception],
        middleware=[access],
        guards=[require_json_body],
        cors_config=cors_config(config.cors_origins),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        lifespan=[mcp_endpoint.running],
        request_max_body_size=config.max_body_bytes,
        debug=False,
        # Logging is configured once by the CLI (agent_booking.entrypoints.logging_setup);
        # Litestar's own config would replace it, and its exception logging is done by our 500
        # handler.
        logging_config=None,
        # Generated from the handlers' types; served at /schema/openapi.json and /schema.
        openapi_config=openapi_config(config.default_region),
        plugins=[RefusalSchemaPlugin()],
    )
    app.asgi_handler = _edge(app, config, endpoint, tools, mcp_endpoint, access, metrics)
    return app


def _edge(
    app: Litestar,
    config: AppConfig,
    endpoint: BookingEndpoint,
    tools: ToolRegistry,
    mcp_endpoint: McpEndpoint,
    access: AgentAccess,
    metrics: Metrics,
) -> RequestEdge:
    """The ASGI handler in front of Litestar's: the create endpoint's direct lane (the hot
    path skips Litestar's per-request machinery), the tool and MCP lanes, and the request edge
    outside all of them, so 404s and 405s get request ids and access logs too. The tools are
    kept in the app's state too."""
    app.state[AGENT_TOOLS_STATE] = tools
    lane = BookingLane(
        app.asgi_handler,
        endpoint,
        access,
        max_body_bytes=config.max_body_bytes,
        cors_enabled=bool(config.cors_origins),
    )
    return RequestEdge(
        McpLane(
            ToolLane(lane, tools, access, max_body_bytes=config.max_body_bytes),
            mcp_endpoint,
            access,
        ),
        metrics=metrics,
        trusted_proxies=config.trusted_proxies,
    )


#: Requests in flight from which the webhook worker sends at its busy rate.
_WEBHOOKS_YIELD_AT = 8


def _holds(
    config: AppConfig,
    create_booking: CreateAgentBooking,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    notifier: Notifier,
    create_endpoint: BookingEndpoint,
    on_startup: list[Callable[[], Any]],
    on_shutdown: list[Callable[[], Any]],
) -> HoldsEndpoint:
    """The hold endpoints (the hold runs the create's own endpoint and use case), and the
    sweep that releases holds whose time is up, run for the app's lifetime."""
    hold = BookingEndpoint(
        HoldSlot(create_booking, HoldTerms(config.hold_seconds, config.max_holds_per_phone)),
        create_endpoint.keys,
        create_endpoint.metrics,
        date_order=config.date_order,
        phones=create_endpoint.phones,
        speech=create_endpoint.speech,
        role=EndpointRole(path=HOLDS_PATH, key_scope="hold_slot", speak_start=True),
    )
    holds = HoldsEndpoint(
        hold,
        ConfirmHold(uow_factory, clock, notifier),
        ReleaseHold(uow_factory, clock, notifier),
        create_endpoint.keys,
        create_endpoint.phones,
    )
    sweeper = HoldSweeper(
        SweepExpiredHolds(uow_factory, clock, notifier),
        interval_seconds=config.hold_sweep_seconds,
    )
    on_startup.append(sweeper.start)
    on_shutdown.insert(0, sweeper.stop)
    return holds


class _WakingNotifier:
    """The notifier, and after it every other relay of this process (the webhook worker)."""

    def __init__(self, inner: Notifier, wakes: list[Callable[[], None]]) -> None:
        self._inner = inner
        self._wakes = wakes

    async def publish(self, events: Sequence[StoredEvent]) -> None:
        await self._inner.publish(events)
        for wake in self._wakes:
            wake()


def _wake_all(wakes: list[Callable[[], None]]) -> Callable[[], None]:
    def wake() -> None:
        for each in wakes:
            each()

    return wake


def _webhooks(
    config: AppConfig,
    database: SqlDatabase,
    reads: RelayUnitOfWorkFactory,
    resolver: Resolver | None,
    metrics: Metrics,
) -> tuple[WebhookWorker, list[Any], Callable[[], Awaitable[int]]]:
    """The delivery worker, the admin routes and the backlog's count, on the SQL database."""
    # Imported here, with the SQL stack they need.
    from agent_booking.adapters.sql.webhook_store import SqlWebhookStore  # noqa: PLC0415
    from agent_booking.adapters.webhooks.addresses import (  # noqa: PLC0415
        GuardedNetworkBackend,
        system_resolver,
    )
    from agent_booking.adapters.webhooks.sender import WebhookSender  # noqa: PLC0415
    from agent_booking.adapters.webhooks.subscriptions import (  # noqa: PLC0415
        WebhookSubscriptions,
    )
    from agent_booking.adapters.webhooks.worker import (  # noqa: PLC0415
        OutboxReader,
        WebhookWorker,
        WorkerTiming,
    )
    from agent_booking.entrypoints.http.webhook_routes import webhook_router  # noqa: PLC0415

    resolver = resolver or system_resolver
    store = SqlWebhookStore(database)
    outbox = OutboxReader(reads)
    backend = GuardedNetworkBackend(
        resolver,
        allow_private=config.webhook_allow_private,
        allowed_hosts=config.webhook_allowed_hosts,
    )
    worker = WebhookWorker(
        store,
        outbox,
        WebhookSender(backend, timeout=config.webhook_timeout_s),
        WorkerTiming(
            concurrency=config.webhook_concurrency,
            timeout=config.webhook_timeout_s,
            scale=config.webhook_retry_scale,
            poll=config.event_poll_seconds,
            busy_rate=config.webhook_busy_rate,
        ),
        observe=metrics.observe_webhook,
        # Requests queueing: the process is saturated even if the machine gives it little CPU.
        pressed=lambda: metrics.requests_in_flight >= _WEBHOOKS_YIELD_AT,
    )
    subscriptions = WebhookSubscriptions(
        store,
        outbox,
        resolver,
        allow_http=config.webhook_allow_http,
        allow_private=config.webhook_allow_private,
        allowed_hosts=config.webhook_allowed_hosts,
        on_change=worker.subscriptions_changed,
    )
    return worker, [webhook_router(config.admin_token, subscriptions)], store.pending_count


def _recent_bookings(reads: UnitOfWorkFactory) -> RecentBookings:
    async def recent(limit: int) -> list[dict[str, Any]]:
        async with reads() as uow:
            rows = await uow.queries.recent(limit)
            catalog = await current_catalog(uow)
        return [
            booking_event_payload(
                booking,
                customer,
                None if catalog is None else Placement.of_booking(booking, catalog),
            )
            for booking, customer in rows
        ]

    return recent


def _unit_of_work_check(uow_factory: UnitOfWorkFactory) -> ReadinessCheck:
    async def check() -> None:
        async with uow_factory() as uow:
            await uow.settings.get_active()

    return check
