"""Where one unit of work's transaction lives, per engine and kind: its statement runner, its
commit, its end.

* SQLite writes: a turn of the group-commit writer
(:class:`~agent_booking.adapters.sql.group_commit.WriteTurn`,
  a plain ``sqlite3`` connection).
* SQLite reads: a SQLAlchemy connection of the aiosqlite engine (:class:`SqlalchemySession`);
  statements go through ``exec_driver_sql``, which hands the SQL text to the driver as it is.
* PostgreSQL: an asyncpg connection from the units' own pool
  (:mod:`agent_booking.adapters.sql.postgres_pool`, which says why it is not SQLAlchemy's), whose
  transaction is run with asyncpg's own API (:class:`AsyncpgSession`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from agent_booking.adapters.sql.failures import asyncpg_failure, connection_lost, is_unavailable
from agent_booking.adapters.sql.group_commit import WriteTurn
from agent_booking.adapters.sql.postgres_pool import PostgresPool
from agent_booking.adapters.sql.statements import Row, StatementRunner
from agent_booking.core.errors import StorageUnavailable

__all__ = ["AsyncpgSession", "Session", "SqlalchemySession", "WriterSession"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Session(Protocol):
    @property
    def runner(self) -> StatementRunner: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None:
        """End the transaction (rolling back whatever was not committed); never raises."""
        ...


class WriterSession:
    """A SQLite write unit: its turn in the current commit batch."""

    def __init__(self, turn: WriteTurn) -> None:
        self._turn = turn

    @property
    def runner(self) -> StatementRunner:
        return self._turn

    async def commit(self) -> None:
        """Returns once the batch holding this unit's writes is durable."""
        await self._turn.commit()

    async def rollback(self) -> None:
        await self._turn.close()

    async def close(self) -> None:
        try:
            await self._turn.close()  # rolls back to this unit's savepoint unless it committed
        except Exception:  # the batch is abandoned; its members learn it from the batch
            _log.warning("ending a write turn failed", exc_info=True)


class SqlalchemySession:
    """A unit of reads on a SQLAlchemy connection (SQLite: the ``BEGIN`` is deferred, so it
    never takes the write lock)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    @property
    def runner(self) -> StatementRunner:
        return self

    async def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        try:
            result = await self._connection.exec_driver_sql(sql, tuple(parameters))
        except DBAPIError as error:
            if is_unavailable(error):
                raise StorageUnavailable from error
            raise
        return result.all() if result.returns_rows else []

    async def commit(self) -> None:
        await self._connection.commit()

    async def rollback(self) -> None:
        await self._connection.rollback()

    async def close(self) -> None:
        try:
            await self._connection.close()  # rolls back an open transaction
        except Exception:  # the connection is broken; the pool discards it
            _log.warning("closing a broken database connection failed", exc_info=True)


class AsyncpgSession:
    """A PostgreSQL unit on one asyncpg connection of the units' pool.

    ``BEGIN`` is sent when the unit starts and ``COMMIT`` the moment it commits, both with
    asyncpg's own transaction API. The session always ends its transaction before it gives
    the connection back; a connection that failed in a way that means it is gone, or whose
    state is unknown (a call cancelled midway), is terminated instead, so the pool replaces it.
    """

    def __init__(self, pool: PostgresPool, driver: Any) -> None:
        self._pool = pool
        self._driver = driver
        self._begun: Any = None
        self._lost = False

    @classmethod
    async def begin(cls, pool: PostgresPool) -> AsyncpgSession:
        """Take a connection from ``pool`` and begin on it (giving it back if that fails)."""
        session = cls(pool, await pool.acquire())
        try:
            await session.start()
        except BaseException:
            await session.close()
            raise
        return session

    async def start(self) -> None:
        """Send ``BEGIN``."""

        async def begin() -> Any:
            transaction = self._driver.transaction()
            await transaction.start()
            return transaction

        self._begun = await self._driver_call(begin)

    @property
    def runner(self) -> StatementRunner:
        return self

    async def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> Sequence[Row]:
        rows: Sequence[Row] = await self._driver_call(lambda: self._driver.fetch(sql, *parameters))
        return rows

    async def commit(self) -> None:
        transaction, self._begun = self._begun, None
        if transaction is not None:
            await self._driver_call(transaction.commit)

    async def rollback(self) -> None:
        """Roll back, and go on in a new transaction (as a SQLAlchemy connection would)."""
        transaction, self._begun = self._begun, None
        if transaction is not None:
            await self._driver_call(transaction.rollback)
        await self.start()

    async def close(self) -> None:
        transaction, self._begun = self._begun, None
        try:
            if transaction is not None and not self._lost:
                await self._driver_call(transaction.rollback)
        except Exception:
            self._lost = True  # its state is unknown: never hand it out again
        finally:
            await self._give_back()

    async def _give_back(self) -> None:
        """Return the connection to the pool, terminated if it is gone or its state unknown."""
        try:
            await self._pool.release(self._driver, lost=self._lost or self._driver.is_closed())
        except Exception:
            _log.warning("giving back a broken database connection failed", exc_info=True)

    async def _driver_call(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """Await one asyncpg call; its failure as the domain's error."""
        try:
            return await call()
        except Exception as error:
            failure = self._failure(error)
            if failure is error:
                raise
            raise failure from error
        except BaseException:
            self._lost = True  # cancelled mid-call: the protocol's state is unknown
            raise

    def _failure(self, error: Exception) -> Exception:
        """The domain error for ``error``; remembers whether the connection is gone."""
        if connection_lost(error) or self._driver.is_closed():
            self._lost = True
        return asyncpg_failure(error)
