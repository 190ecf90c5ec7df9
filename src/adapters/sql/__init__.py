"""SQLAlchemy 2 (async) adapters: one code path for SQLite and PostgreSQL."""

from agent_booking.adapters.sql.database import SqlDatabase, SqlUnitOfWork
from agent_booking.adapters.sql.migrate import migrate

__all__ = ["SqlDatabase", "SqlUnitOfWork", "migrate"]
