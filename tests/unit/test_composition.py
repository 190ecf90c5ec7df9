"""What building the service loads: an app on other adapters never imports the SQL stack."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from agent_booking.entrypoints.config import AppConfig

_BUILD_ON_MEMORY = textwrap.dedent(
    """
    import sys

    from agent_booking.adapters.memory import InMemoryStore
    from agent_booking.core import BusinessSettings
    from agent_booking.entrypoints.config import AppConfig
    from agent_booking.entrypoints.http.app import create_app

    store = InMemoryStore(BusinessSettings())
    create_app(AppConfig.from_env({}), uow_factory=store.unit_of_work)
    loaded = sorted(
        name for name in sys.modules
        if name.split(".")[0] in {"sqlalchemy", "aiosqlite", "asyncpg", "alembic"}
    )
    print(",".join(loaded) or "none")
    """
)


def test_an_app_on_in_memory_adapters_loads_no_database_stack() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _BUILD_ON_MEMORY],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.strip() == "none"


class TestDatabaseUrl:
    def test_the_password_is_masked_in_what_is_logged(self) -> None:
        config = AppConfig(database_url="postgresql+asyncpg://booking:s3cret@db:5432/booking")

        assert config.safe_database_url == "postgresql+asyncpg://booking:***@db:5432/booking"
        assert not config.uses_embedded_database

    def test_a_url_without_password_is_shown_as_it_is(self) -> None:
        config = AppConfig(database_url="sqlite+aiosqlite:///./booking.db")

        assert config.safe_database_url == "sqlite+aiosqlite:///./booking.db"
        assert config.uses_embedded_database
