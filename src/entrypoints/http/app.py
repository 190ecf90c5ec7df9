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

from adapters.clock import SystemClock
from booking_core.create_agent_booking import CreateAgentBooking
from booking_core.passwords import hash_password
from booking_core.ports import Clock, Notifier, UnitOfWorkFactory
from entrypoints.config import AppConfig
from entrypoints.http.errors import exception_handlers
from entrypoints.http.routes import ReadinessCheck, booking_routes, health_routes
from entrypoints.notifier import LoggingNotifier

__all__ = ["create_app"]

_log = logging.getLogger(__name__)


def create_app(
    config: AppConfig,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    ping: ReadinessCheck | None = None,
) -> Litestar:
    """Build the HTTP app; with no ``uow_factory``, on the SQL database in ``config``.

    ``ping`` is the readiness check behind ``GET /ready``. With the SQL database it defaults to
    the database's ping; with a caller's ``uow_factory`` it defaults to opening a unit of work
    and reading the settings, which exercises the same storage the endpoint uses.
    """
    on_shutdown: list[Callable[[], Any]] = []
    if uow_factory is None:
        # Imported here so that apps built on other adapters never load the SQL stack.
        from adapters.sql.database import SqlDatabase  # noqa: PLC0415

        database = SqlDatabase.connect(
            config.database_url,
            pool_size=config.db_pool_size,
            statement_timeout_ms=config.statement_timeout_ms,
        )
        uow_factory = database.unit_of_work
        ping = ping or database.ping
        on_shutdown.append(database.dispose)
        _log.info("using database %s", config.safe_database_url)
    create_booking = CreateAgentBooking(
        uow_factory,
        clock or SystemClock(),
        notifier or LoggingNotifier(),
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
        ],
        exception_handlers=exception_handlers(),
        on_shutdown=on_shutdown,
        request_max_body_size=config.max_body_bytes,
        debug=False,
        # Logging is configured once by the CLI (entrypoints.logging_setup); Litestar's own
        # config would replace it, and its exception logging is done by our 500 handler.
        logging_config=None,
        # The booking endpoint reads a raw body, so a generated schema would describe nothing.
        openapi_config=None,
    )


def _unit_of_work_check(uow_factory: UnitOfWorkFactory) -> ReadinessCheck:
    async def check() -> None:
        async with uow_factory() as uow:
            await uow.settings.get_active()

    return check
