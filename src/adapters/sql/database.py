"""Engine set-up and the SQL unit of work, for SQLite (embedded) and PostgreSQL (production).

SQLite: WAL so readers never block the writer, ``synchronous=FULL`` so a 201 means the booking is on
disk, a busy timeout so writers from other processes queue instead of failing, and every write
transaction opened with ``BEGIN IMMEDIATE`` (taking the write lock up front: a deferred transaction
that reads then writes can fail with "database is locked" instead of waiting). Every write unit of
work runs on the process's one writer, a plain ``sqlite3`` connection
(:mod:`agent_booking.adapters.sql.sqlite_writer`); within the process, writers take turns on it and
their commits are grouped (:mod:`agent_booking.adapters.sql.group_commit`): one ``fsync`` makes a
whole batch of bookings durable. The WAL is checkpointed in the background
(:mod:`agent_booking.adapters.sql.wal_checkpoint`). Reads (read units of work, the admin listings,
readiness) use SQLAlchemy's aiosqlite engine, whose connections begin deferred transactions and
never take the write lock.

PostgreSQL: units of work run on an asyncpg pool of their own
(:mod:`agent_booking.adapters.sql.postgres_pool` says why and what it keeps), with asyncpg's own
transactions (:mod:`agent_booking.adapters.sql.sessions`); SQLAlchemy's engine serves the admin
listings, readiness and the rate-limit counters, its idle connections pinged before use
(:mod:`agent_booking.adapters.sql.idle_ping`). Both are sized for one worker and set a statement
timeout so nothing waits forever.

Which SQL runs is :mod:`agent_booking.adapters.sql.sqlite_statements` or
:mod:`agent_booking.adapters.sql.postgres_statements`; what a driver error means is
:mod:`agent_booking.adapters.sql.failures`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from agent_booking.adapters.sql.failures import is_retryable, is_unavailable, sqlite_failure
from agent_booking.adapters.sql.group_commit import BatchAbandoned, GroupCommit
from agent_booking.adapters.sql.idempotency import SqlIdempotencyStore
from agent_booking.adapters.sql.idle_ping import ping_idle_connections
from agent_booking.adapters.sql.outbox_order import EventPositioner
from agent_booking.adapters.sql.postgres_pool import PostgresPool
from agent_booking.adapters.sql.postgres_statements import POSTGRES
from agent_booking.adapters.sql.repositories import (
    SettingsCache,
    SqlBookingQueries,
    SqlBookingRepository,
    SqlCatalogRepository,
    SqlCustomerRepository,
    SqlEventOutbox,
    SqlSettingsRepository,
)
from agent_booking.adapters.sql.sessions import (
    AsyncpgSession,
    Session,
    SqlalchemySession,
    WriterSession,
)
from agent_booking.adapters.sql.sqlite_readers import SqliteReaders
from agent_booking.adapters.sql.sqlite_statements import SQLITE
from agent_booking.adapters.sql.sqlite_writer import SqliteWriter
from agent_booking.adapters.sql.statements import EngineStatements
from agent_booking.adapters.sql.wal_checkpoint import WalCheckpointer
from agent_booking.core.errors import StorageUnavailable, TransientConflict

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "SqlDatabase", "SqlUnitOfWork"]

_log = logging.getLogger(__name__)

#: How long a SQLite statement waits for a lock held by another process (another worker, the
#: CLI, a backup) before it fails with "database is locked", which is ``StorageUnavailable``.
SQLITE_BUSY_TIMEOUT_MS = 30_000
_POOL_WAIT_SECONDS = 30


class SqlDatabase:
    """One engine and what a process needs to run units of work against it."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        writes: GroupCommit | None = None,
        units: PostgresPool | None = None,
        checkpointer: WalCheckpointer | None = None,
        readers: SqliteReaders | None = None,
    ) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        if (writes is None) if self.is_sqlite else (units is None):
            msg = "the database's units of work have no connections (use SqlDatabase.connect)"
            raise ValueError(msg)
        self.statements: EngineStatements = SQLITE if self.is_sqlite else POSTGRES
        self._writes = writes
        self._units = units
        self._checkpointer = checkpointer
        self._readers = readers
        self._settings_cache = SettingsCache()
        #: Gives committed events their feed positions (PostgreSQL; see SqlEventOutbox).
        self.positioner = EventPositioner(units) if units is not None else None

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        statement_timeout_ms: int = 5000,
        sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    ) -> SqlDatabase:
        """Build the engine (no I/O happens until first use)."""
        backend = make_url(url).get_backend_name()
        if backend == "sqlite":
            return _sqlite_database(url, sqlite_busy_timeout_ms)
        if backend == "postgresql":
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
            units = PostgresPool(
                url,
                size=2 * pool_size,
                wait_seconds=_POOL_WAIT_SECONDS,
                statement_timeout_ms=statement_timeout_ms,
            )
            return cls(engine, units=units)
        msg = f"unsupported database {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg"
        raise ValueError(msg)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, read_only=False)

    def read_unit_of_work(self) -> SqlUnitOfWork:
        """A unit of work for reads only: on SQLite it neither takes nor waits for the write
        lock (WAL readers see the last commit), so dashboards and polls never queue behind
        bookings."""
        return SqlUnitOfWork(self, read_only=True)

    async def ping(self) -> None:
        """Reachable *and* migrated: a server on an empty database is not ready."""
        async with self.reader() as connection:
            await connection.execute(text("SELECT 1 FROM business_settings LIMIT 1"))

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A SQLAlchemy connection for reads that never takes SQLite's write lock."""
        try:
            async with self.engine.connect() as connection:
                yield connection
        except Exception as error:
            if is_unavailable(error):
                raise StorageUnavailable from error
            raise

    async def session(self, *, read_only: bool) -> Session:
        """Begin one unit of work's transaction (see :mod:`agent_booking.adapters.sql.sessions`)."""
        if self._units is not None:
            return await AsyncpgSession.begin(self._units)
        if self._writes is not None and not read_only:
            return WriterSession(await self._writes.turn())
        if self._readers is not None:
            return self._readers.begin()
        connection = await self.engine.connect()
        try:
            await connection.begin()
        except BaseException:
            await connection.close()
            raise
        return SqlalchemySession(connection)

    @contextlib.asynccontextmanager
    async def transaction(self, *, read_only: bool) -> AsyncIterator[Session]:
        """One transaction for statements outside the unit of work's repositories (webhook
        bookkeeping): rolled back unless committed, storage errors raised as the domain's, as a
        unit of work does."""
        try:
            session = await self.session(read_only=read_only)
        except Exception as error:
            failure = _storage_error(error)
            if failure is None:
                raise
            raise failure from error
        try:
            yield session
        except Exception as error:
            failure = _storage_error(error)
            if failure is None:
                raise
            raise failure from error
        finally:
            await session.close()

    @property
    def settings_cache(self) -> SettingsCache:
        return self._settings_cache

    async def dispose(self) -> None:
        if self._writes is not None:
            await self._writes.wait_idle()
        if self._checkpointer is not None:
            await self._checkpointer.close()
        if self.positioner is not None:
            await self.positioner.close()
        if self._units is not None:
            await self._units.close()
        if self._readers is not None:
            self._readers.close()
        await self.engine.dispose()


def _sqlite_database(url: str, busy_timeout_ms: int) -> SqlDatabase:
    """A file database: read units on plain ``sqlite3`` connections run inline (see
    :mod:`~agent_booking.adapters.sql.sqlite_readers`), other reads on SQLAlchemy's aiosqlite
    engine, writes on the group-commit writer's own ``sqlite3`` connection to the same file,
    checkpoints in the background."""
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        # The writer and the readers are separate connections: they must share a file.
        msg = f"SQLite needs a database file, not {path or 'an empty path'!r}"
        raise ValueError(msg)
    timeout = busy_timeout_ms / 1000
    pragmas = (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={busy_timeout_ms}",
        "foreign_keys=ON",
        "wal_autocheckpoint=0",  # WalCheckpointer checkpoints instead
    )
    engine = create_async_engine(url, connect_args={"timeout": timeout})
    _configure_sqlite_reads(engine, pragmas)
    checkpointer = WalCheckpointer(path, busy_timeout=timeout)
    writes = GroupCommit(
        functools.partial(
            SqliteWriter.open, path, busy_timeout_ms=busy_timeout_ms, pragmas=pragmas
        ),
        checkpointer=checkpointer,
    )
    _use_wal(path, timeout)
    readers = SqliteReaders(path)
    return SqlDatabase(engine, writes=writes, checkpointer=checkpointer, readers=readers)


def _use_wal(path: str, timeout: float) -> None:
    """Put the file in WAL mode now (it stays so), before any read unit opens it.

    The read units' connections are ``query_only`` and cannot switch the mode; on a file still
    in rollback-journal mode (fresh from ``booking migrate``) their short read locks and the
    writer's first connection, which switches it, would wait on each other, and reads that
    come first (a dashboard, a find) answered ``database is locked``. A file another process
    holds locked is left as it is: the writer switches it once it gets the lock.
    """
    try:
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        _log.warning("could not switch %s to WAL yet; the writer will", path, exc_info=True)
    finally:
        connection.close()


def _configure_sqlite_reads(engine: AsyncEngine, pragmas: tuple[str, ...]) -> None:
    """SQLAlchemy's recipe for explicit SQLite transactions (its pysqlite/aiosqlite docs): the
    driver's implicit transactions off, ``BEGIN`` emitted on SQLAlchemy's ``begin``. Deferred,
    because these connections only read."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _storage_error(error: BaseException) -> Exception | None:
    """The domain error a unit of work ends with, for an error the runners did not map."""
    if isinstance(error, sqlite3.Error):  # a batch's COMMIT failed
        failure = sqlite_failure(error)
        return None if failure is error else failure
    if isinstance(error, BatchAbandoned):
        return StorageUnavailable()
    if is_retryable(error):
        return TransientConflict()
    if is_unavailable(error):
        return StorageUnavailable()
    return None


class SqlUnitOfWork:
    """One database transaction; rolls back unless :meth:`commit` is called."""

    settings: SqlSettingsRepository
    catalog: SqlCatalogRepository
    customers: SqlCustomerRepository
    bookings: SqlBookingRepository
    queries: SqlBookingQueries
    events: SqlEventOutbox
    idempotency: SqlIdempotencyStore

    def __init__(self, database: SqlDatabase, *, read_only: bool) -> None:
        self._database = database
        self._read_only = read_only
        self._session: Session | None = None

    async def __aenter__(self) -> Self:
        database = self._database
        try:
            session = self._session = await database.session(read_only=self._read_only)
        except Exception as error:
            failure = _storage_error(error)
            if failure is None:
                raise
            raise failure from error
        run, sql = session.runner, database.statements
        self.settings = SqlSettingsRepository(run, sql, database.settings_cache)
        self.catalog = SqlCatalogRepository(run, sql, database.settings_cache)
        self.customers = SqlCustomerRepository(run, sql)
        self.bookings = SqlBookingRepository(run, sql)
        self.queries = SqlBookingQueries(database.reader)
        positioner = database.positioner
        self.events = SqlEventOutbox(run, sql, positioner.position if positioner else None)
        self.idempotency = SqlIdempotencyStore(run, sql)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if exc is None:
            return
        failure = _storage_error(exc)
        if failure is not None:
            raise failure from exc

    async def commit(self) -> None:
        """Commit; when this returns, the writes are durable (and, on PostgreSQL, the events
        appended are being given their feed positions in the background)."""
        await self._active().commit()
        positioner = self._database.positioner
        if positioner is not None and self.events.appended:
            self.events.appended = False
            positioner.request()

    async def rollback(self) -> None:
        await self._active().rollback()

    def _active(self) -> Session:
        if self._session is None:
            msg = "the unit of work is used outside 'async with'"
            raise RuntimeError(msg)
        return self._session
