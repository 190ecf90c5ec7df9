"""The PostgreSQL units of work's own asyncpg pool.

Why a pool of its own beside SQLAlchemy's (which keeps serving the admin listings, readiness and
the rate-limit counters): a unit of work's connection handling through SQLAlchemy's pool
(``engine.connect()``, ``get_raw_connection()``, close, each a greenlet hand-off) cost 300-410 µs
of client CPU per unit against 120-210 µs for an asyncpg pool, with the same asyncpg statements
(``python -m bench.pool_cost``, three rounds, pinned; docs/performance.md), i.e. about a tenth
of a booking's whole CPU on PostgreSQL.

What SQLAlchemy's pool gave the booking path, kept here with asyncpg's public pool options:

* **Bounded waiting**: at most ``size`` connections; a unit waits up to ``wait_seconds`` for
  one, then the request is a 503 (a wedged database still ends in an answer).
* **No dead connection after an idle spell**: a connection idle for longer than
  ``idle_seconds`` (:data:`UNITS_IDLE_SECONDS`, a minute) is closed by the pool
  (``max_inactive_connection_lifetime``), so one that a firewall dropped while it sat idle is
  never handed out; the next unit connects afresh. (One whose server went away, by a restart
  or a failover, is closed by the server: asyncpg sees it closed and the pool skips it.) Not
  shorter: the pool hands out the most recently used connection first, so at a moderate load
  most connections sit idle, and with a 2 s limit each small burst opened connections that
  were closed again 2 s later: 54-83 new sessions in 10 s at a quarter of (b)'s capacity, each
  a backend fork plus fresh statement preparation in the request's path, measured as open-loop
  stalls of 150-700 ms (docs/performance.md, issue 18).
  (SQLAlchemy's pool pings such connections instead: :mod:`agent_booking.adapters.sql.idle_ping`.)
* **A lost connection is never reused**: the session terminates it before giving it back, and
  the pool replaces it.
* **No reset round trip**: asyncpg resets every released connection with a query of its own
  (``RESET ALL``, ``UNLISTEN *``, ...); the sessions end their transactions before they give a
  connection back and use nothing that query undoes, so the reset is local only.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from agent_booking.adapters.sql.failures import asyncpg_failure
from agent_booking.core.errors import StorageUnavailable

__all__ = ["UNITS_IDLE_SECONDS", "PostgresPool"]

#: A units' connection idle for longer than this is closed (see the module docstring).
UNITS_IDLE_SECONDS = 60.0


async def _nothing_to_reset(_connection: Any) -> None:
    """The sessions leave nothing behind (see the module docstring)."""


class PostgresPool:
    """Connections for units of work; the pool itself is made on first use (no I/O before)."""

    def __init__(
        self,
        url: str,
        *,
        size: int,
        wait_seconds: float,
        statement_timeout_ms: int,
        idle_seconds: float = UNITS_IDLE_SECONDS,
    ) -> None:
        parsed = make_url(url)
        self._options: dict[str, Any] = {
            "host": parsed.host,
            "port": parsed.port,
            "user": parsed.username,
            "password": parsed.password,
            "database": parsed.database,
            "timeout": statement_timeout_ms / 1000,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "booking",
            },
            "min_size": 0,
            "max_size": size,
            "max_inactive_connection_lifetime": idle_seconds,
            "reset": _nothing_to_reset,
        }
        self._wait_seconds = wait_seconds
        self._pool: Any = None
        self._creating: asyncio.Lock | None = None

    async def acquire(self) -> Any:
        """A connection, waited for at most ``wait_seconds``; ``StorageUnavailable`` if none."""
        pool = self._pool or await self._create()
        try:
            return await pool.acquire(timeout=self._wait_seconds)
        except TimeoutError as error:
            raise StorageUnavailable from error
        except Exception as error:
            failure = asyncpg_failure(error)
            if failure is error:
                raise
            raise failure from error

    async def release(self, connection: Any, *, lost: bool) -> None:
        """Give ``connection`` back; a lost one is terminated first (the pool replaces it)."""
        if lost and not connection.is_closed():
            connection.terminate()
        await self._pool.release(connection)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _create(self) -> Any:
        if self._creating is None:
            self._creating = asyncio.Lock()
        async with self._creating:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(**self._options)
        return self._pool
