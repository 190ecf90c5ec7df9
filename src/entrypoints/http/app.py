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
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.fanout import EventFanout
from adapters.sql.listener import PostgresEventListener
from booking_core.create_agent_booking import CreateAgentBooking
from booking_core.events import booking_event_payload
from booking_core.passwords import hash_password
from booking_core.ports import Clock, Notifier, UnitOfWorkFactory
from entrypoints.config import AppConfig
from entrypoints.http.dashboard_socket import RecentBookings, admin_socket_routes
from entrypoints.http.errors import exception_handlers
from entrypoints.http.routes import ReadinessCheck, booking_routes, health_routes

__all__ = ["create_app"]

_log = logging.getLogger(__name__)


def create_app(
    config: AppConfig,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    read_uow_factory: UnitOfWorkFactory | None = None,
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
    listener: PostgresEventListener | None = None
    if uow_factory is None:
        # Imported here so that apps built on other adapters never load the SQL stack.
        from adapters.sql.database import SqlDatabase  # noqa: PLC0415

        database = SqlDatabase.connect(
            config.database_url,
            pool_size=config.db_pool_size,
            statement_timeout_ms=config.statement_timeout_ms,
        )
        uow_factory = database.unit_of_work
        read_uow_factory = database.read_unit_of_work
        ping = ping or database.ping
        on_shutdown.append(database.dispose)
        _log.info("using database %s", config.safe_database_url)
    reads = read_uow_factory or uow_factory
    fanout = EventFanout.over(
        reads, poll_interval=config.event_poll_seconds, queue_size=config.socket_queue_size
    )
    if make_url(config.database_url).get_backend_name() == "postgresql" and (
        read_uow_factory is not None
    ):
        # Commits in other processes arrive by NOTIFY; polling covers a lost listener.
        listener = PostgresEventListener(config.database_url, fanout.wake)
        on_startup.append(listener.start)
        on_shutdown.insert(0, listener.stop)
    on_startup.append(fanout.start)
    on_shutdown.insert(0, fanout.stop)
    create_booking = CreateAgentBooking(
        uow_factory,
        clock or SystemClock(),
        notifier or fanout,
        date_order=config.date_order,
        # Hashed once here, not per new customer, so a first booking costs what any other does.
        initial_password_hash=(
            hash_password(config.initial_password) if config.initial_password else None
        ),
    )
    return Litestar(
        route_handlers=[
            *booking_routes(create_booking),
            *health_routes(ping or _unit_of_work_check(uow_factory)),
            *admin_socket_routes(fanout, config.admin_token, _recent_bookings(reads)),
        ],
        exception_handlers=exception_handlers(),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        request_max_body_size=config.max_body_bytes,
        debug=False,
        # Logging is configured once by the CLI (entrypoints.logging_setup); Litestar's own
        # config would replace it, and its exception logging is done by our 500 handler.
        logging_config=None,
        # The booking endpoint reads a raw body, so a generated schema would describe nothing.
        openapi_config=None,
    )


def _recent_bookings(reads: UnitOfWorkFactory) -> RecentBookings:
    async def recent(limit: int) -> list[dict[str, Any]]:
        async with reads() as uow:
            rows = await uow.bookings.recent(limit)
        return [booking_event_payload(booking, customer) for booking, customer in rows]

    return recent


def _unit_of_work_check(uow_factory: UnitOfWorkFactory) -> ReadinessCheck:
    async def check() -> None:
        async with uow_factory() as uow:
            await uow.settings.get_active()

    return check
