"""Schema migrations (Alembic), runnable from code: ``booking migrate`` and ``booking serve``.

The migration scripts ship inside this package, so an installed service can migrate itself
without an ``alembic.ini`` on disk. A database that cannot be used right now (unreachable,
refusing us, or a SQLite file another process keeps locked past the busy timeout) ends the
migration with :class:`~agent_booking.core.errors.StorageUnavailable`, which the CLI reports in
one line, like every other outage.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from agent_booking.adapters.sql.database import SQLITE_BUSY_TIMEOUT_MS
from agent_booking.adapters.sql.failures import is_unavailable
from agent_booking.core.errors import StorageUnavailable

__all__ = ["migrate", "migration_config"]

_SCRIPTS = Path(__file__).parent / "migrations"


def migration_config(
    url: str, *, seed_timezone: str = "UTC", sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    # Passed as attributes, not options: ConfigParser would mangle a '%' in a password.
    config.attributes["database_url"] = url
    config.attributes["seed_timezone"] = seed_timezone
    config.attributes["sqlite_busy_timeout_ms"] = sqlite_busy_timeout_ms
    return config


def migrate(
    url: str, *, seed_timezone: str = "UTC", sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> None:
    """Upgrade the database to the newest schema (synchronous; runs its own event loop)."""
    config = migration_config(
        url, seed_timezone=seed_timezone, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms
    )
    try:
        command.upgrade(config, "head")
    except Exception as error:
        if is_unavailable(error):
            raise StorageUnavailable from error
        raise
