"""``booking settings show|set``: the operator's view of the business settings.

Changes go through the core's :class:`UpdateSettings` use case, like the admin API's: the core's
own validation decides what is consistent, read and write happen in one unit of work (nothing is
saved unless the whole new value is valid), and the active future bookings the new rules would no
longer accept are listed on stderr, so the operator can contact those customers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agent_booking.adapters.clock import SystemClock
from agent_booking.adapters.sql.database import SqlDatabase
from agent_booking.adapters.sql.migrate import migrate
from agent_booking.core.errors import SettingsMissing
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.update_settings import SettingsChanges, SettingsUpdate, UpdateSettings
from agent_booking.entrypoints.cli.parser import EXIT_OK, UsageError
from agent_booking.entrypoints.config import AppConfig

__all__ = ["SETTING_OPTIONS", "set_settings", "settings_document", "show_settings"]

_T = TypeVar("_T")

#: ``settings set`` option destinations, which are also ``BusinessSettings`` field names.
SETTING_OPTIONS = (
    "open_time",
    "close_time",
    "off_days",
    "slot_minutes",
    "timezone",
    "horizon_days",
    "closed_dates",
    "cancel_notice_minutes",
    "reschedule_notice_minutes",
    "unknown_services",
)


def show_settings(args: argparse.Namespace, config: AppConfig) -> int:
    async def read(database: SqlDatabase) -> BusinessSettings | None:
        async with database.unit_of_work() as uow:
            return await uow.settings.get_active()

    settings = _run(config, read)
    if settings is None:
        raise SettingsMissing
    _print(settings, as_json=args.json)
    return EXIT_OK


def set_settings(args: argparse.Namespace, config: AppConfig) -> int:
    """Apply the given options; raise ``InvalidSettings`` (nothing saved) if the result is bad."""
    changes = {
        name: value for name in SETTING_OPTIONS if (value := getattr(args, name)) is not None
    }
    if not changes:
        raise _NothingToChange

    async def change(database: SqlDatabase) -> SettingsUpdate:
        update = UpdateSettings(database.unit_of_work, SystemClock())
        return await update(SettingsChanges(**changes))

    result = _run(config, change)
    _print(result.settings, as_json=args.json)
    for item in result.stranded:
        booking = item.booking
        print(
            f"outside the new rules: booking {booking.id} on {booking.booking_date} at "
            f"{booking.booking_time.strftime('%H:%M')} on {item.resource.name} "
            f"(resource {item.resource.id}) ({item.customer.phone})",
            file=sys.stderr,
        )
    return EXIT_OK


class _NothingToChange(UsageError):
    def __init__(self) -> None:
        super().__init__(
            "nothing to change: give at least one of --open, --close, --off-days, "
            "--slot-minutes, --timezone, --horizon-days, --closed-dates, "
            "--cancel-notice-minutes, --reschedule-notice-minutes, --unknown-services"
        )


def settings_document(settings: BusinessSettings) -> dict[str, Any]:
    """The settings as plain JSON values, in the same notation the options accept."""
    return {
        "open_time": settings.open_time.strftime("%H:%M"),
        "close_time": settings.close_time.strftime("%H:%M"),
        "off_days": settings.off_day_names(),
        "slot_minutes": settings.slot_minutes,
        "timezone": settings.timezone,
        "horizon_days": settings.horizon_days,
        "closed_dates": sorted(day.isoformat() for day in settings.closed_dates),
        "cancel_notice_minutes": settings.cancel_notice_minutes,
        "reschedule_notice_minutes": settings.reschedule_notice_minutes,
        "unknown_services": settings.unknown_services,
        "slots": [time.strftime("%H:%M") for time in settings.slot_times()],
    }


def _print(settings: BusinessSettings, *, as_json: bool) -> None:
    document = settings_document(settings)
    if as_json:
        print(json.dumps(document))
        return
    for name, value in document.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        print(f"{name.replace('_', ' ') + ':':<14} {shown or 'none'}")


def _run(config: AppConfig, work: Callable[[SqlDatabase], Awaitable[_T]]) -> _T:
    """Run ``work`` against the configured database, migrating an embedded one first."""
    if config.uses_embedded_database:
        migrate(
            config.database_url,
            seed_timezone=config.timezone,
            sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
        )

    async def run() -> _T:
        database = SqlDatabase.connect(
            config.database_url,
            pool_size=config.db_pool_size,
            statement_timeout_ms=config.statement_timeout_ms,
            sqlite_busy_timeout_ms=config.sqlite_busy_timeout_ms,
        )
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(run())
