"""Ping a pooled PostgreSQL connection before use only if it sat idle.

SQLAlchemy's ``pool_pre_ping`` tests every connection at every checkout. With asyncpg outside a
transaction that ping is three round trips (``BEGIN``, ``SELECT``, ``ROLLBACK``), which under load
cost more than a third of a booking's round trips, all to re-check connections that finished a
transaction milliseconds ago. Connections die while they wait in the pool (a database restart,
a failover, a firewall dropping idle flows), so that is when they are pinged: at checkout, if
the connection was idle for longer than :data:`IDLE_PING_SECONDS`. A connection that fails its
ping is replaced before the request uses it, as with ``pool_pre_ping``.

A connection that dies while it is busy, or in the moments between two uses, still costs the
request using it a ``503 storage_unavailable`` (nothing half-stored); SQLAlchemy then
invalidates the whole pool, so the next requests get fresh connections.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["IDLE_PING_SECONDS", "ping_idle_connections"]

#: A pooled connection idle for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 2.0
_RETURNED_AT = "booking_returned_at"


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Install the idle ping on ``engine``'s pool (use instead of ``pool_pre_ping``)."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at <= idle_seconds:
            return  # new, or back in use right after its last transaction
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever went wrong, this connection is not to be used
            raise exc.DisconnectionError from error  # the pool connects afresh and retries
        if not alive:
            raise exc.DisconnectionError
