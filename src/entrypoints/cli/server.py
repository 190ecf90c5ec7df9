"""``booking serve`` and ``booking migrate``.

``serve`` migrates only the embedded SQLite database: it belongs to this one service, so
keeping it current on start is what makes the default set-up work with no steps. A PostgreSQL
database is shared infrastructure whose upgrades an operator schedules, so there ``serve`` only
reminds them of ``booking migrate``.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from functools import partial
from typing import Any

import uvicorn

from agent_booking.adapters.sql.migrate import migrate
from agent_booking.entrypoints.cli.parser import EXIT_OK
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.connection_limits import (
    ConnectionLimits,
    LimitedHttpToolsProtocol,
    uvicorn_limit_concurrency,
)
from agent_booking.entrypoints.http.dashboard_socket import MAX_MESSAGE_BYTES
from agent_booking.entrypoints.logging_setup import logging_config

__all__ = ["ASGI_FACTORY", "migrate_database", "migrate_embedded", "serve", "uvicorn_options"]

#: What uvicorn imports in every worker process (a factory: nothing is built at import time).
ASGI_FACTORY = "agent_booking.entrypoints.asgi:app_from_env"
_TOKEN_BYTES = 32

_log = logging.getLogger(__name__)


def serve(args: argparse.Namespace, config: AppConfig) -> int:
    level: str = args.log_level or config.log_level
    migrate_embedded(config)
    if config.admin_token is None:
        _share_generated_admin_token()
    uvicorn.run(
        ASGI_FACTORY,
        factory=True,
        **uvicorn_options(
            host=args.host,
            port=args.port,
            workers=args.workers,
            level=level,
            access_log=config.access_log,
            limits=ConnectionLimits.from_config(config),
        ),
    )
    return EXIT_OK


def uvicorn_options(
    *,
    host: str,
    port: int,
    workers: int,
    level: str,
    limits: ConnectionLimits,
    access_log: bool = True,
) -> dict[str, Any]:
    """Everything ``serve`` tells uvicorn besides the app (the benchmark's ceiling reuses it)."""
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "log_config": logging_config(level, access_log=access_log),
        "log_level": level.lower(),
        # Our HTTP edge writes the access log (JSON, request id, duration, no query string).
        "access_log": False,
        # X-Forwarded-For is judged by BOOKING_TRUSTED_PROXIES alone, not by uvicorn's default.
        "proxy_headers": False,
        "server_header": False,
        # httptools with a header size limit and read deadlines; uvicorn caps the connections
        # (entrypoints.connection_limits says what uvicorn enforces by itself and what not).
        "http": partial(LimitedHttpToolsProtocol, limits=limits),
        "limit_concurrency": uvicorn_limit_concurrency(limits),
        # The dashboard feed sends every event to every dashboard, so the cost of one message is
        # paid hundreds of times. websockets' sans-I/O protocol is the cheapest per message
        # (named, so that no change of uvicorn's "auto" picks another one), and per-message
        # deflate, which browsers always offer, is off: it would compress each ~0.5 kB message
        # once per connection (about 8 µs each, a third more than all the rest) and keep a
        # zlib state per connection, to save bandwidth that a feed of this size does not use.
        "ws": "websockets-sansio",
        "ws_per_message_deflate": False,
        # Dashboards send requests of a few dozen bytes: a larger message is closed with 1009
        # by the protocol before it is buffered (uvicorn's default would take 16 MiB).
        "ws_max_size": MAX_MESSAGE_BYTES,
    }


def migrate_embedded(config: AppConfig) -> None:
    """Migrate the embedded SQLite database on start (``serve``, ``mcp``); only remind of
    ``booking migrate`` for a server database."""
    if config.uses_embedded_database:
        migrate(
            config.database_url,
            seed_timezone=config.timezone,
            sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
        )
        _log.info("embedded database %s is up to date", config.safe_database_url)
    else:
        _log.info(
            "not migrating %s on start; run 'booking migrate' after each upgrade",
            config.safe_database_url,
        )


def migrate_database(args: argparse.Namespace, config: AppConfig) -> int:
    del args  # the command has no options
    logging.getLogger("alembic").setLevel(logging.INFO)  # the operator asked to see each step
    migrate(
        config.database_url,
        seed_timezone=config.timezone,
        sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
    )
    print(f"Database {config.safe_database_url} is migrated to the latest schema.")
    return EXIT_OK


def _share_generated_admin_token() -> None:
    """Generate a token, print it once, and hand it to the workers through the environment."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    os.environ["BOOKING_ADMIN_TOKEN"] = token
    print(
        f"BOOKING_ADMIN_TOKEN is not set; generated an admin token for this run: {token}",
        file=sys.stderr,
        flush=True,
    )
