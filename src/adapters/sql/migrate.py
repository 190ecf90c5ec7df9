"""Schema migrations (Alembic), runnable from code: ``booking migrate`` and ``booking serve``.

The migration scripts ship inside this package, so an installed service can migrate itself
without an ``alembic.ini`` on disk.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["migrate", "migration_config"]

_SCRIPTS = Path(__file__).parent / "migrations"


def migration_config(url: str, *, seed_timezone: str = "UTC") -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    # Passed as attributes, not options: ConfigParser would mangle a '%' in a password.
    config.attributes["database_url"] = url
    config.attributes["seed_timezone"] = seed_timezone
    return config


def migrate(url: str, *, seed_timezone: str = "UTC") -> None:
    """Upgrade the database to the newest schema (synchronous; runs its own event loop)."""
    command.upgrade(migration_config(url, seed_timezone=seed_timezone), "head")
