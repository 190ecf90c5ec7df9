"""The booking path's statements, run straight on the driver inside the unit's transaction.

Measured on the benchmark machine, one small statement through SQLAlchemy's async
``Connection.execute`` cost about 150-250 µs of CPU (execution context, result object, greenlet
switches, the adapter's mutex), while the driver ran it in a few µs (``sqlite3``) or about 80 µs
(asyncpg, round trip included). A booking runs six of them, so that overhead, not the database,
bounded the service.

So a unit of work's :class:`Statements` runs a statement itself whenever a *direct runner* can
take it: the SQL compiled once by SQLAlchemy for the dialect (:mod:`adapters.sql.compiled`:
same SQL, parameters and rows converted by the column types' own processors), executed on the
driver, its errors re-raised as the same SQLAlchemy ``DBAPIError`` subclasses SQLAlchemy would
raise (so slot-taken, retryable and unavailable errors are handled upstream as before).

* **SQLite**: inside a write turn, on :mod:`adapters.sql.sqlite_driver` (statements there run
  inline anyway: the turn holds the write lock).
* **PostgreSQL** (asyncpg): once the unit's transaction has begun on the server, on the same
  asyncpg connection, inside that transaction. SQLAlchemy's adapter would send ``BEGIN`` with
  the unit's first statement; :meth:`Statements.begin` has it sent when the unit starts, so
  that first statement can run directly too.

Anything else (reads outside a turn, statements before the transaction began, other drivers)
is plain ``connection.execute``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from adapters.sql.compiled import compiled
from adapters.sql.sqlite_driver import InlineSqliteConnection

__all__ = ["Statements"]


class _DirectRunner(Protocol):
    def ready(self) -> bool:
        """Whether a statement may run directly now."""

    async def begin(self) -> None:
        """Open the unit's transaction on the server, if that has not happened yet."""

    async def commit(self) -> None:
        """Commit the unit's transaction on the server, if that is this runner's to do."""

    async def run(self, sql: str, parameters: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """Run it; raise SQLAlchemy's ``DBAPIError`` subclass for a failure."""


class _SqliteInline:
    def __init__(self, driver: InlineSqliteConnection, dialect: Dialect) -> None:
        self._driver = driver
        self._dialect = dialect

    def ready(self) -> bool:
        return self._driver.can_run_inline()

    async def begin(self) -> None:
        """Nothing to do: the write turn began the transaction (``BEGIN IMMEDIATE``)."""

    async def commit(self) -> None:
        """Nothing to do: the batch commits (:mod:`adapters.sql.group_commit`)."""

    async def run(self, sql: str, parameters: Sequence[Any]) -> Sequence[Sequence[Any]]:
        try:
            return self._driver.run_inline(sql, parameters)
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                sql, parameters, error, sqlite3.Error, dialect=self._dialect
            ) from error


class _AsyncpgDirect:
    """The unit's asyncpg connection, used once its transaction is open on the server.

    Failures are translated by SQLAlchemy's own asyncpg adapter (``_handle_exception``: the
    same exception classes, ``sqlstate`` and message SQLAlchemy would give), and a lost
    connection is invalidated, as SQLAlchemy does, so the pool never hands it out again.

    Beginning and committing go through the adapter's own transaction handling
    (``_start_transaction``, ``_transaction``, ``_call_and_discard``), so the adapter's state
    always matches the server's. These are SQLAlchemy internals, pinned by the lock file; the
    tests of ``test_direct_statements.py`` fail if they stop behaving as used here.
    """

    def __init__(self, connection: AsyncConnection, dialect: Dialect) -> None:
        pooled = connection.sync_connection.connection  # type: ignore[union-attr]
        self._connection = connection
        self._adapted: Any = pooled.dbapi_connection  # SQLAlchemy's adapter around asyncpg
        self._asyncpg: Any = pooled.driver_connection  # the asyncpg connection itself
        self._dialect = dialect

    def ready(self) -> bool:
        return bool(self._asyncpg.is_in_transaction())

    async def begin(self) -> None:
        """Send ``BEGIN`` now, as SQLAlchemy's adapter would with the unit's first statement,
        so that statement can run directly too (the adapter then sees its transaction open)."""
        if self._adapted._transaction is None:
            try:
                await self._adapted._start_transaction()
            except Exception as error:
                raise await self._failure("BEGIN", (), error) from error

    async def commit(self) -> None:
        """``COMMIT`` the moment the unit asks, through the adapter's own transaction object
        (SQLAlchemy's commit then finds nothing left to do). The outbox lock is held until the
        commit, so every bit of client work before it delays all other appenders."""
        transaction = self._adapted._transaction
        if transaction is not None:
            try:
                await self._adapted._call_and_discard(transaction.commit)
            except Exception as error:
                raise await self._failure("COMMIT", (), error) from error

    async def run(self, sql: str, parameters: Sequence[Any]) -> Sequence[Sequence[Any]]:
        try:
            rows: Sequence[Sequence[Any]] = await self._asyncpg.fetch(sql, *parameters)
        except Exception as error:
            raise await self._failure(sql, parameters, error) from error
        return rows

    async def _failure(self, sql: str, parameters: Sequence[Any], error: Exception) -> Exception:
        """The SQLAlchemy error for a driver error; invalidates the connection if it is lost."""
        translated = self._translate(error)
        lost = self._dialect.is_disconnect(translated, self._adapted, None)
        wrapped: Exception = DBAPIError.instance(
            sql,
            parameters,
            translated,
            self._dialect.loaded_dbapi.Error,
            dialect=self._dialect,
            connection_invalidated=lost,
        )
        if lost:
            await self._connection.invalidate(translated)
        return wrapped

    def _translate(self, error: Exception) -> Any:
        try:
            self._adapted._handle_exception(error)  # always raises the translated error
        except Exception as translated:
            return translated
        return error  # pragma: no cover - _handle_exception never returns


def _direct_runner(
    connection: AsyncConnection, driver: InlineSqliteConnection | None
) -> _DirectRunner | None:
    dialect = connection.dialect
    if driver is not None:
        return _SqliteInline(driver, dialect)
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        return _AsyncpgDirect(connection, dialect)
    return None


class Statements:
    """Runs statements in one unit of work's transaction: directly when a runner can take
    them (see the module docstring), else through SQLAlchemy on ``connection``.

    ``driver`` is the write turn's SQLite driver; without one, a SQLite unit (a read) always
    goes through SQLAlchemy.
    """

    def __init__(
        self, connection: AsyncConnection, driver: InlineSqliteConnection | None = None
    ) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self._runner = _direct_runner(connection, driver)

    async def begin(self) -> None:
        """Called once the unit's SQLAlchemy transaction has begun: open it on the server at
        once, so that even the unit's first statement can run directly."""
        if self._runner is not None:
            await self._runner.begin()

    async def commit(self) -> None:
        """Commit directly if the runner can (before SQLAlchemy's own, now empty, commit)."""
        if self._runner is not None:
            await self._runner.commit()

    async def fetch(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Run ``statement``; return its rows (attribute access)."""
        values = parameters or {}
        runner = self._runner
        if runner is None or not runner.ready():
            return list((await self.connection.execute(statement, dict(values))).all())
        statement_for = compiled(statement, self.dialect, tuple(values))
        bound = statement_for.parameters(values)
        return statement_for.rows(await runner.run(statement_for.sql, bound))
