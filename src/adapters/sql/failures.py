"""What a driver's error means for the domain: one table per driver.

* A violation of the no-overlap rule is :class:`SlotTaken`: the database decided a race the
  use case's check could not see. PostgreSQL names the exclusion constraint
  (``tables.NO_OVERLAP_CONSTRAINT``); SQLite's trigger aborts with ``tables.NO_OVERLAP_MESSAGE``.
* A second service with a name already taken (case-insensitively: the unique index on the
  case-folded name, ``tables.SERVICE_NAME_INDEX``) is :class:`ServiceNameTaken`, for the same
  reason: two admins adding one name at once.
* Serialization failures and deadlocks are :class:`TransientConflict`: the whole transaction may
  simply run again.
* Errors that mean the database, not the request, is at fault (connection lost or refused, too
  many connections, admin shutdown, a schema never migrated, SQLite's lock wait timing out or
  its file unusable) are :class:`StorageUnavailable`, a 503.

Anything else is our bug and stays what it is (a 500).
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from agent_booking.adapters.sql import tables
from agent_booking.core.errors import (
    ServiceNameTaken,
    SlotTaken,
    StorageUnavailable,
    TransientConflict,
)

__all__ = [
    "asyncpg_failure",
    "connection_lost",
    "is_retryable",
    "is_unavailable",
    "sqlite_failure",
]

#: SQLSTATEs after which PostgreSQL says the whole transaction may simply be run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
#: SQLSTATE classes (and codes) meaning the database, not the request, is at fault: connection
#: exceptions, insufficient resources, operator intervention (admin shutdown, terminated
#: backend), invalid authorization or database name, and a schema that was never migrated.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "28", "3D", "53", "57", "42P01")
#: Classes after which the connection itself is gone (connection exception, admin shutdown).
_LOST_SQLSTATE_PREFIXES = ("08", "57P")
#: unique_violation, exclusion_violation
_CONFLICT_SQLSTATES = frozenset({"23505", "23P01"})
_UNIQUE_VIOLATION = "23505"
#: What SQLite says when a service's case-folded name is taken.
_SQLITE_SERVICE_NAME_TAKEN = "UNIQUE constraint failed: services.name_key"


def is_retryable(error: BaseException) -> bool:
    """A SQLAlchemy error (the read path) after which the transaction may run again."""
    return isinstance(error, DBAPIError) and (
        getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES
    )


def is_unavailable(error: BaseException) -> bool:
    """A SQLAlchemy error (connecting, the read path) meaning "the database cannot be used
    right now", not "your request is wrong"."""
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        if error.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return True
    return isinstance(
        error, OperationalError | InterfaceError | PoolTimeoutError | OSError | TimeoutError
    )


def asyncpg_failure(error: Exception) -> Exception:
    """The domain error for an asyncpg error, or the error itself."""
    sqlstate: str = getattr(error, "sqlstate", None) or ""
    if isinstance(error, asyncpg.PostgresError):
        if (
            sqlstate in _CONFLICT_SQLSTATES
            and getattr(error, "constraint_name", None) == tables.NO_OVERLAP_CONSTRAINT
        ):
            return SlotTaken()
        if (
            sqlstate == _UNIQUE_VIOLATION
            and getattr(error, "constraint_name", None) == tables.SERVICE_NAME_INDEX
        ):
            return ServiceNameTaken()
        if sqlstate in _RETRYABLE_SQLSTATES:
            return TransientConflict()
        if sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return StorageUnavailable()
    elif isinstance(error, asyncpg.InterfaceError | OSError | TimeoutError):
        return StorageUnavailable()
    return error


def connection_lost(error: BaseException) -> bool:
    """Whether an asyncpg error means its connection must never be used again."""
    if isinstance(error, asyncpg.PostgresError):
        sqlstate: str = getattr(error, "sqlstate", None) or ""
        return sqlstate.startswith(_LOST_SQLSTATE_PREFIXES)
    return isinstance(error, asyncpg.InterfaceError | OSError | TimeoutError)


def sqlite_failure(error: sqlite3.Error) -> Exception:
    """The domain error for a ``sqlite3`` error, or the error itself."""
    if isinstance(error, sqlite3.IntegrityError):
        message = str(error)
        if tables.NO_OVERLAP_MESSAGE in message:
            return SlotTaken()
        if message == _SQLITE_SERVICE_NAME_TAKEN:
            return ServiceNameTaken()
        return error
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        # Lock wait timed out, no such table, disk I/O error, not a database, closed.
        return StorageUnavailable()
    return error
