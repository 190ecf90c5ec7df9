"""SQLAlchemy 2 (async) adapters: one code path for SQLite and PostgreSQL."""

from adapters.sql.database import DEFAULT_DATABASE_URL, SqlDatabase, SqlUnitOfWork
from adapters.sql.migrate import migrate

__all__ = ["DEFAULT_DATABASE_URL", "SqlDatabase", "SqlUnitOfWork", "migrate"]
