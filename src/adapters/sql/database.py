"""Engine set-up and the SQL unit of work, for SQLite (embedded) and PostgreSQL (production).

SQLite: WAL so readers never block the writer, ``synchronous=FULL`` so a 201 means the booking is
on disk, a busy timeout so writers from other processes queue instead of failing, and every
write transaction opened with ``BEGIN IMMEDIATE`` (taking the write lock up front: a deferred
transaction that reads then writes can fail with "database is locked" instead of waiting).
Within one process, writers take turns on an asyncio lock, which is fairer and cheaper than
SQLite's sleep-and-retry busy handler, and their commits are grouped (see
:mod:`adapters.sql.group_commit`): one ``fsync`` makes a whole batch of bookings durable. File
databases run on :mod:`adapters.sql.sqlite_driver`, which keeps the write path on the event loop,
and checkpoint their WAL in the background (:mod:`adapters.sql.wal_checkpoint`).

PostgreSQL: a pool sized for one worker, connections that sat idle pinged before use so a killed
one is replaced instead of failing the next request (:mod:`adapters.sql.idle_ping`), and a
statement timeout so nothing waits forever.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_

from adapters.sql import sqlite_driver
from adapters.sql.fast_path import Statements
from adapters.sql.group_commit import BatchAbandoned, GroupCommit, WriteTurn
from adapters.sql.idempotency import SqlIdempotencyStore
from adapters.sql.idle_ping import ping_idle_connections
from adapters.sql.repositories import (
    SettingsCache,
    SqlBookingRepository,
    SqlCustomerRepository,
    SqlEventOutbox,
    SqlSettingsRepository,
)
from adapters.sql.wal_checkpoint import WalCheckpointer
from booking_core.errors import StorageUnavailable, TransientConflict

__all__ = ["DEFAULT_DATABASE_URL", "SqlDatabase", "SqlUnitOfWork"]

_log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./booking.db"
_SQLITE_BUSY_TIMEOUT_MS = 30_000
_POOL_WAIT_SECONDS = 30
#: Execution option that opens a plain deferred transaction (reads) instead of BEGIN IMMEDIATE.
_READ_ONLY = "booking_read_only"


#: SQLSTATEs after which PostgreSQL says the whole transaction may simply be run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES
    )


#: SQLSTATE classes (and codes) meaning the database, not the request, is at fault: connection
#: exceptions, insufficient resources, operator intervention (admin shutdown, terminated
#: backend), invalid authorization or database name, and a schema that was never migrated.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "3D", "53", "57", "42P01")


def _is_unavailable(error: BaseException) -> bool:
    """Errors that mean "the database cannot be used right now", not "your request is wrong"."""
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        if error.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return True
    return isinstance(
        error, OperationalError | InterfaceError | PoolTimeoutError | OSError | TimeoutError
    )


class SqlDatabase:
    """One engine and what a process needs to run units of work against it."""

    def __init__(self, engine: AsyncEngine, *, checkpointer: WalCheckpointer | None = None) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._checkpointer = checkpointer
        self._writes = GroupCommit(engine, checkpointer=checkpointer) if self.is_sqlite else None
        self._settings_cache = SettingsCache()

    @classmethod
    def connect(
        cls, url: str, *, pool_size: int = 10, statement_timeout_ms: int = 5000
    ) -> SqlDatabase:
        """Build the engine (no I/O happens until first use)."""
        backend = make_url(url).get_backend_name()
        checkpointer = None
        if backend == "sqlite":
            engine, checkpointer = _sqlite_engine(url)
            _configure_sqlite(engine, background_checkpoints=checkpointer is not None)
        elif backend == "postgresql":
            engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                # Waiting for a connection is queueing, not failing: a burst of agents larger
                # than the pool waits its turn (bounded, so a wedged database still ends in 503).
                pool_timeout=_POOL_WAIT_SECONDS,
                connect_args={
                    "timeout": statement_timeout_ms / 1000,
                    "server_settings": {
                        "statement_timeout": str(statement_timeout_ms),
                        "application_name": "booking",
                    },
                },
            )
            ping_idle_connections(engine)  # instead of pool_pre_ping: see idle_ping
        else:
            msg = f"unsupported database {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg"
            raise ValueError(msg)
        return cls(engine, checkpointer=checkpointer)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._writes, settings_cache=self._settings_cache)

    def read_unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work for reads only: on SQLite it neither takes nor waits for the write
        lock (WAL readers see the last commit), so dashboards and polls never queue behind
        bookings."""
        return SqlUnitOfWork(self.engine, None, read_only=True, settings_cache=self._settings_cache)

    async def ping(self) -> None:
        """Reachable *and* migrated: a server on an empty database is not ready."""
        async with self._reader() as connection:
            await connection.execute(text("SELECT 1 FROM business_settings LIMIT 1"))

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that never takes SQLite's write lock."""
        try:
            async with self.engine.connect() as connection:
                yield await connection.execution_options(**{_READ_ONLY: True})
        except Exception as error:
            if _is_unavailable(error):
                raise StorageUnavailable from error
            raise

    async def dispose(self) -> None:
        if self._writes is not None:
            await self._writes.wait_idle()
        if self._checkpointer is not None:
            await self._checkpointer.close()
        await self.engine.dispose()


def _sqlite_engine(url: str) -> tuple[AsyncEngine, WalCheckpointer | None]:
    """A file database runs on :mod:`adapters.sql.sqlite_driver` and checkpoints in the
    background (see those modules why); anything else (in-memory, URI options) on plain
    aiosqlite with SQLite's own checkpoints."""
    timeout = _SQLITE_BUSY_TIMEOUT_MS / 1000
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or parsed.query:
        return create_async_engine(url, connect_args={"timeout": timeout}), None
    engine = create_async_engine(
        url, async_creator=functools.partial(sqlite_driver.connect, path, busy_timeout=timeout)
    )
    return engine, WalCheckpointer(path, busy_timeout=timeout)


def _configure_sqlite(engine: AsyncEngine, *, background_checkpoints: bool) -> None:
    pragmas = (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        *(("wal_autocheckpoint=0",) if background_checkpoints else ()),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        driver = connection.connection.driver_connection
        if not read_only and isinstance(driver, sqlite_driver.InlineSqliteConnection):
            await_(driver.begin_write())  # straight to the driver: see begin_write
        else:
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class SqlUnitOfWork:
    """One database transaction; rolls back unless :meth:`commit` is called."""

    settings: SqlSettingsRepository
    customers: SqlCustomerRepository
    bookings: SqlBookingRepository
    events: SqlEventOutbox
    idempotency: SqlIdempotencyStore

    def __init__(
        self,
        engine: AsyncEngine,
        writes: GroupCommit | None,
        *,
        read_only: bool = False,
        settings_cache: SettingsCache | None = None,
    ) -> None:
        self._engine = engine
        self._writes = writes
        self._read_only = read_only
        self._settings_cache = settings_cache
        self._connection: AsyncConnection | None = None
        #: SQLite writes: this unit's turn in the current commit batch.
        self._turn: WriteTurn | None = None
        self._statements: Statements | None = None

    async def __aenter__(self) -> Self:
        try:
            if self._writes is not None:
                self._turn = await self._writes.turn()
                self._connection = self._turn.connection
            else:
                self._connection = await self._engine.connect()
                if self._read_only:
                    await self._connection.execution_options(**{_READ_ONLY: True})
                await self._connection.begin()
            connection = self._connection
            statements = self._statements = Statements(
                connection, self._turn.driver if self._turn else None
            )
            await statements.begin()
        except BaseException as error:
            await self._close()
            if isinstance(error, Exception) and _is_unavailable(error):
                raise StorageUnavailable from error
            raise
        self.settings = SqlSettingsRepository(statements, self._settings_cache)
        self.customers = SqlCustomerRepository(statements)
        self.bookings = SqlBookingRepository(statements)
        self.events = SqlEventOutbox(statements)
        self.idempotency = SqlIdempotencyStore(connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()
        if exc is None:
            return
        if _is_retryable(exc):
            raise TransientConflict from exc
        if _is_unavailable(exc) or isinstance(exc, BatchAbandoned):
            raise StorageUnavailable from exc

    async def commit(self) -> None:
        """Commit; when this returns, the writes are durable."""
        if self._turn is not None:
            await self._turn.commit()
        else:
            connection = self._active()
            if self._statements is not None:
                await self._statements.commit()
            await connection.commit()

    async def rollback(self) -> None:
        if self._turn is not None:
            await self._close()
        else:
            await self._active().rollback()

    def _active(self) -> AsyncConnection:
        if self._connection is None:
            msg = "the unit of work is used outside 'async with'"
            raise RuntimeError(msg)
        return self._connection

    async def _close(self) -> None:
        turn, self._turn = self._turn, None
        connection, self._connection = self._connection, None
        self._statements = None
        try:
            if turn is not None:
                await turn.close()  # rolls back to this unit's savepoint unless it committed
            elif connection is not None:
                await connection.close()  # rolls back an open transaction
        except Exception:  # the connection is broken; the pool discards it
            _log.warning("closing a broken database connection failed", exc_info=True)
