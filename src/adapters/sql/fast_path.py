"""The booking path's statements, run straight on the SQLite driver inside a write transaction.

Measured on the benchmark machine, executing one small statement through SQLAlchemy's async
``Connection.execute`` cost about 150 µs of CPU (execution context, result object, greenlet
switches, the adapter's mutex), while ``sqlite3`` ran the same statement in 3 µs. A booking
runs five of them while holding the write lock, so that overhead, not SQLite, bounded the
service.

So inside a write transaction on :mod:`adapters.sql.sqlite_driver` (where statements run inline
anyway), :func:`fetch` runs a statement itself: compiled once by SQLAlchemy for this dialect
(same SQL), its parameters converted by the column types' own bind processors and its rows by
their result processors (same storage format, same Python values), and errors re-raised as
SQLAlchemy's ``DBAPIError`` subclasses (same handling upstream). Anywhere else (PostgreSQL,
reads, aiosqlite) it is plain ``connection.execute``.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from adapters.sql.sqlite_driver import InlineSqliteConnection

__all__ = ["fetch"]

_Processor = Callable[[Any], Any] | None
#: Row classes are made at run time, from each statement's columns.
_row_type: Callable[[list[str]], Any] = functools.partial(namedtuple, "Row")


class _Compiled:
    """One statement compiled for one dialect and one set of parameter names."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> None:
        clause = cast("ClauseElement", statement)
        compiled = cast("SQLCompiler", clause.compile(dialect=dialect, column_keys=list(keys)))
        self.sql = compiled.string
        names: Sequence[str] = compiled.positiontup or ()
        self.binds: list[tuple[str, _Processor]] = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ]
        #: Values of parameters the caller does not pass (e.g. a literal LIMIT's offset).
        self.defaults = {
            name: compiled.binds[name].effective_value for name in names if name not in keys
        }
        columns = list(getattr(statement, "exported_columns", ()))
        self.results: list[_Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        #: Builds a row with attribute access (like SQLAlchemy's) from the processed values.
        self.make_row: Callable[[Iterable[Any]], Any] | None = None
        if columns:
            row_type = _row_type([column.key for column in columns])
            self.make_row = row_type._make

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process in self.binds:
            value = values[name] if name in values else self.defaults[name]
            out.append(value if process is None or value is None else process(value))
        return tuple(out)

    def rows(self, raw: list[tuple[Any, ...]]) -> list[Any]:
        make = self.make_row
        if make is None:
            return raw
        processors = self.results
        return [
            make(
                value if process is None or value is None else process(value)
                for process, value in zip(processors, values, strict=True)
            )
            for values in raw
        ]


_cache: dict[tuple[int, int, tuple[str, ...]], _Compiled] = {}


def _compiled(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    # The statements are module constants, so their ids are stable for the process.
    key = (id(statement), id(dialect), keys)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = _cache[key] = _Compiled(statement, dialect, keys)
    return compiled


def _inline_driver(connection: AsyncConnection) -> InlineSqliteConnection | None:
    try:
        driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    except Exception:  # closed or invalidated: let SQLAlchemy report it
        return None
    if isinstance(driver, InlineSqliteConnection) and driver.can_run_inline():
        return driver
    return None


async def fetch(
    connection: AsyncConnection,
    statement: Executable,
    parameters: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Run ``statement`` in ``connection``'s transaction; return its rows (attribute access)."""
    values = parameters or {}
    driver = _inline_driver(connection)
    if driver is None:
        return list((await connection.execute(statement, dict(values))).all())
    compiled = _compiled(statement, connection.dialect, tuple(values))
    bound = compiled.parameters(values)
    try:
        raw = driver.run_inline(compiled.sql, bound)
    except sqlite3.Error as error:
        raise DBAPIError.instance(
            compiled.sql, bound, error, sqlite3.Error, dialect=connection.dialect
        ) from error
    return compiled.rows(raw)
