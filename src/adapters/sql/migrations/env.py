"""Alembic environment: async engines (aiosqlite, asyncpg), URL handed over by ``migrate()``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from agent_booking.adapters.sql.tables import metadata

#: Serialises concurrent ``booking migrate`` runs against one PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x0B00C1E8


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
        context.run_migrations()


async def _run_online() -> None:
    attributes = context.config.attributes
    url = make_url(attributes["database_url"])
    # SQLite: wait for another process's lock as long as the service would (aiosqlite's own
    # default is 5 s), then fail with "database is locked".
    connect_args = (
        {"timeout": attributes["sqlite_busy_timeout_ms"] / 1000}
        if url.get_backend_name() == "sqlite"
        else {}
    )
    engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


asyncio.run(_run_online())
