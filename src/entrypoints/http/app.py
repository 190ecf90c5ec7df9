"""The composition root: configuration in, a ready-to-serve Litestar app out.

This is the one place that chooses adapters. Production calls it with a config only and gets
the SQL database; tests and embedders pass their own unit of work factory, clock or notifier and
get the very same routes and error handling. Building the app does no I/O (the engine connects
lazily), so it is cheap to build one per test and safe to build in every worker process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Litestar

from agent_booking.adapters.clock import SystemClock
from agent_booking.adapters.fanout import EventFanout, RelayUnitOfWorkFactory
from agent_booking.adapters.rate_limit import InMemoryRateCounterStore, RateCounterStore
from agent_booking.core.cancel_booking import CancelBooking
from agent_booking.core.check_availability import CheckAvailability
from agent_booking.core.create_agent_booking import CreateAgentBooking
from agent_booking.core.events import booking_event_payload
from agent_booking.core.idempotency import IdempotencyKeys
from agent_booking.core.manage_resources import ManageResources
from agent_booking.core.passwords import hash_password
from agent_booking.core.placement import Placement, current_catalog
from agent_booking.core.ports import Clock, Notifier, UnitOfWorkFactory
from agent_booking.core.update_settings import UpdateSettings
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.admin_page import admin_page_routes
from agent_booking.entrypoints.http.admin_routes import admin_router
from agent_booking.entrypoints.http.agent_access import agent_access
from agent_booking.entrypoints.http.booking_endpoint import BookingEndpoint, BookingLane
from agent_booking.entrypoints.http.content_type import require_json_body
from agent_booking.entrypoints.http.cors import cors_config
from agent_booking.entrypoints.http.dashboard_socket import RecentBookings, admin_socket_routes
from agent_booking.entrypoints.http.errors import exception_handlers
from agent_booking.entrypoints.http.metrics import CountingNotifier, Metrics, metrics_routes
from agent_booking.entrypoints.http.openapi import RefusalSchemaPlugin, openapi_config
from agent_booking.entrypoints.http.request_edge import RequestEdge
from agent_booking.entrypoints.http.routes import ReadinessCheck, booking_routes, health_routes

__all__ = ["create_app"]

_log = logging.getLogger(__name__)


def create_app(
    config: AppConfig,
    *,
    uow_factory: RelayUnitOfWorkFactory | None = None,
    read_uow_factory: RelayUnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    ping: ReadinessCheck | None = None,
) -> Litestar:
    """Build the HTTP app; with no ``uow_factory``, on the SQL database in ``config``.

    ``read_uow_factory`` serves reads (the event feed, listings); it defaults to
    ``uow_factory``. ``ping`` is the readiness check behind ``GET /ready``. With the SQL
    database it defaults to the database's ping; with a caller's ``uow_factory`` it defaults to
    opening a unit of work and reading the settings, which exercises the same storage the
    endpoint uses. ``notifier`` defaults to this process's event fan-out, which also feeds the
    admin WebSocket.
    """
    on_startup: list[Callable[[], Any]] = []
    on_shutdown: list[Callable[[], Any]] = []
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
    reads = read_uow_factory or uow_factory
    fanout = EventFanout.over(
        reads, poll_interval=config.event_poll_seconds, queue_size=config.socket_queue_size
    )
    if config.database_backend == "postgresql" and read_uow_factory is not None:
        from agent_booking.adapters.sql.listener import PostgresEventListener  # noqa: PLC0415

        # Commits in other processes arrive by NOTIFY; polling covers a lost listener.
        listener = PostgresEventListener(config.database_url, fanout.wake)
        on_startup.append(listener.start)
        on_shutdown.insert(0, listener.stop)
    on_startup.append(fanout.start)
    on_shutdown.insert(0, fanout.stop)
    clock = clock or SystemClock()
    notifier = CountingNotifier(notifier or fanout, metrics)
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
    endpoint = BookingEndpoint(
        create_booking,
        IdempotencyKeys(uow_factory, clock),
        metrics,
        date_order=config.date_order,
    )
    access = agent_access(config, rate_store)
    check_availability = CheckAvailability(reads, clock)
    app = Litestar(
        route_handlers=[
            *booking_routes(endpoint, check_availability, config.date_order),
            admin_router(
                config.admin_token,
                reads,
                CancelBooking(uow_factory, clock, notifier),
                UpdateSettings(uow_factory, clock),
                check_availability,
                config.date_order,
                ManageResources(uow_factory, clock),
            ),
            *health_routes(ping or _unit_of_work_check(uow_factory)),
            *admin_page_routes(),
            *admin_socket_routes(fanout, config.admin_token, _recent_bookings(reads)),
            *metrics_routes(metrics, fanout),
        ],
        exception_handlers=exception_handlers(),
        after_exception=[metrics.after_exception],
        middleware=[access],
        guards=[require_json_body],
        cors_config=cors_config(config.cors_origins),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        request_max_body_size=config.max_body_bytes,
        debug=False,
        # Logging is configured once by the CLI (agent_booking.entrypoints.logging_setup);
        # Litestar's own config would replace it, and its exception logging is done by our 500
        # handler.
        logging_config=None,
        # Generated from the handlers' types; served at /schema/openapi.json and /schema.
        openapi_config=openapi_config(),
        plugins=[RefusalSchemaPlugin()],
    )
    # The create endpoint's direct lane (the hot path) skips Litestar's per-request machinery.
    lane = BookingLane(
        app.asgi_handler,
        endpoint,
        access,
        max_body_bytes=config.max_body_bytes,
        cors_enabled=bool(config.cors_origins),
    )
    # Outside Litestar's routing, so 404s and 405s get request ids and access logs too.
    app.asgi_handler = RequestEdge(lane, metrics=metrics, trusted_proxies=config.trusted_proxies)
    return app


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
