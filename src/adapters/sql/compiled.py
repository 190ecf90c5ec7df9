"""Statements compiled once per dialect, with the column types' own value conversions.

The direct paths of :mod:`adapters.sql.fast_path` run SQL without SQLAlchemy's execution
machinery, so they need what it would have done: the statement's SQL for the dialect, its
parameters in order, each converted by its type's bind processor, and each result row's values
by their result processors. :func:`compiled` builds that once per statement, dialect and set of
parameter names (the statements are module constants) and caches it.

SQLite's date and time types format values in Python for every bind; for the default storage
formats (the only ones this schema uses) the same text is produced here by one ``%`` operation,
about three times faster (the unit tests compare the two on generated values).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

__all__ = ["Compiled", "bind_processor", "compiled"]

_Processor = Callable[[Any], Any]
#: Row classes are made at run time, from each statement's columns.
_row_type: Callable[[list[str]], Any] = functools.partial(namedtuple, "Row")

_DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_DATE_TEXT = "%04d-%02d-%02d"
_TIME_TEXT = "%02d:%02d:%02d.%06d"


def _datetime_text(fallback: _Processor) -> _Processor:
    def process(value: Any) -> Any:
        if type(value) is dt.datetime:
            return _DATETIME_TEXT % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
            )
        return fallback(value)

    return process


def _date_text(fallback: _Processor) -> _Processor:
    def process(value: Any) -> Any:
        if type(value) is dt.date:
            return _DATE_TEXT % (value.year, value.month, value.day)
        return fallback(value)

    return process


def _time_text(fallback: _Processor) -> _Processor:
    def process(value: Any) -> Any:
        if type(value) is dt.time:
            return _TIME_TEXT % (value.hour, value.minute, value.second, value.microsecond)
        return fallback(value)

    return process


#: SQLite's temporal types, their default storage format, and the same formatting done faster.
_FAST_TEMPORAL: dict[type[TypeEngine[Any]], tuple[str, Callable[[_Processor], _Processor]]] = {
    sqlite.DATETIME: (sqlite.DATETIME._storage_format, _datetime_text),
    sqlite.DATE: (sqlite.DATE._storage_format, _date_text),
    sqlite.TIME: (sqlite.TIME._storage_format, _time_text),
}


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> _Processor | None:
    """The type's bind processor for ``dialect``; for SQLite's date and time types in their
    default storage format, an equivalent one that skips the general formatting."""
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    fast = _FAST_TEMPORAL.get(type(impl))
    if process is None or fast is None:
        return process
    storage_format, make = fast
    if getattr(impl, "_storage_format", None) != storage_format or getattr(impl, "_reg", None):
        return process
    return make(process)


class Compiled:
    """One statement compiled for one dialect and one set of parameter names."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> None:
        clause = cast("ClauseElement", statement)
        compiled = cast("SQLCompiler", clause.compile(dialect=dialect, column_keys=list(keys)))
        self.sql = compiled.string
        names: Sequence[str] = compiled.positiontup or ()
        #: Each parameter: its name, its value when the caller does not pass it (e.g. a literal
        #: LIMIT), and its processor.
        self.binds: list[tuple[str, Any, _Processor | None]] = [
            (
                name,
                compiled.binds[name].effective_value if name not in keys else None,
                bind_processor(compiled.binds[name].type, dialect),
            )
            for name in names
        ]
        columns = list(getattr(statement, "exported_columns", ()))
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        #: The result columns that need converting, by position.
        self.results: list[tuple[int, _Processor]] = [
            (index, process) for index, process in enumerate(processors) if process is not None
        ]
        #: Builds a row with attribute access (like SQLAlchemy's) from the processed values.
        self.make_row: Callable[[Sequence[Any]], Any] | None = None
        if columns:
            row_type = _row_type([column.key for column in columns])
            self.make_row = row_type._make

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        get = values.get
        bound = []
        for name, default, process in self.binds:
            value = get(name, default)
            bound.append(value if process is None or value is None else process(value))
        return bound

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make = self.make_row
        if make is None:
            return list(raw)
        results = self.results
        if not results:
            return [make(values) for values in raw]
        rows = []
        for values in raw:
            converted = list(values)
            for index, process in results:
                value = converted[index]
                if value is not None:
                    converted[index] = process(value)
            rows.append(make(converted))
        return rows


_cache: dict[tuple[int, int, tuple[str, ...]], Compiled] = {}


def compiled(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Compiled:
    """``statement`` compiled for ``dialect`` with these parameter names (cached)."""
    # The statements are module constants, so their ids are stable for the process.
    key = (id(statement), id(dialect), keys)
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = Compiled(statement, dialect, keys)
    return found
