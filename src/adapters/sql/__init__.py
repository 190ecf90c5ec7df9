"""SQLAlchemy 2 (async) adapters: one code path for SQLite and PostgreSQL."""

from adapters.sql.database import SqlDatabase, SqlUnitOfWork
from adapters.sql.migrate import migrate

__all__ = ["SqlDatabase", "SqlUnitOfWork", "migrate"]
