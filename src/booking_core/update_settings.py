"""Changing the business settings, without silently stranding existing bookings.

A change never cancels or moves anything: it is applied, and the answer lists the active future
bookings the new rules would no longer accept, so the operator can contact those customers.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pendulum
from attrs import frozen

from agent_booking.core.errors import InvalidSettings, InvalidTime, SettingsMissing
from agent_booking.core.parsing import parse_time
from agent_booking.core.policy import SlotPolicy
from agent_booking.core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from agent_booking.core.settings import (
    UNKNOWN_SERVICES_CHOICES,
    BusinessSettings,
    parse_closed_dates,
    parse_off_days,
)
from agent_booking.core.stranded import StrandedBooking, find_stranded

__all__ = ["SettingsChanges", "SettingsUpdate", "UpdateSettings"]


@frozen
class SettingsUpdate:
    settings: BusinessSettings
    #: The open future bookings the new settings would refuse, each with its resource
    #: (:func:`stranded_bookings`).
    stranded: tuple[StrandedBooking, ...]


@frozen
class SettingsChanges:
    """Some of the settings' attributes, each parsed; ``None`` leaves a setting as it is.

    Only whether the changed settings are consistent as a whole is left to the use case (it
    needs the current settings to tell).
    """

    open_time: pendulum.Time | None = None
    close_time: pendulum.Time | None = None
    off_days: frozenset[int] | None = None
    slot_minutes: int | None = None
    timezone: str | None = None
    horizon_days: int | None = None
    closed_dates: frozenset[pendulum.Date] | None = None
    cancel_notice_minutes: int | None = None
    reschedule_notice_minutes: int | None = None
    unknown_services: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> SettingsChanges:
        """Validate a partial settings document (the admin API's shape), in its key order."""
        changes: dict[str, object] = {}
        for name, value in raw.items():
            if name in {"open_time", "close_time"}:
                changes[name] = _time(name, value)
            elif name in _WHOLE_NUMBERS:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise InvalidSettings(f"{name} must be a whole number")
                changes[name] = value
            elif name == "timezone":
                if not isinstance(value, str):
                    raise InvalidSettings("timezone must be a string such as Europe/Berlin")
                changes[name] = value
            elif name == "unknown_services":
                if value not in UNKNOWN_SERVICES_CHOICES:
                    raise InvalidSettings("unknown_services must be 'accept' or 'reject'")
                changes[name] = value
            elif name == "off_days":
                changes[name] = parse_off_days(_joined(name, value))
            elif name == "closed_dates":
                changes[name] = parse_closed_dates(_joined(name, value))
            else:
                raise InvalidSettings(f"unknown setting {name!r}")
        return cls(**changes)  # type: ignore[arg-type]

    def applied_to(self, settings: BusinessSettings) -> BusinessSettings:
        """``settings`` with these changes; raises :class:`InvalidSettings` if inconsistent."""
        changed = attrs.asdict(self, recurse=False)
        return attrs.evolve(settings, **{k: v for k, v in changed.items() if v is not None})


_WHOLE_NUMBERS = frozenset(
    {"slot_minutes", "horizon_days", "cancel_notice_minutes", "reschedule_notice_minutes"}
)


def _time(name: str, value: object) -> pendulum.Time:
    if not isinstance(value, str):
        raise InvalidSettings(f"{name} must be a time such as 09:30")
    try:
        return parse_time(value)
    except InvalidTime:
        raise InvalidSettings(f"{name} must be a time such as 09:30") from None


def _joined(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value) if value else "none"
    raise InvalidSettings(f"{name} must be a list of strings")


class UpdateSettings:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, changes: SettingsChanges) -> SettingsUpdate:
        """Apply ``changes`` (build them with :meth:`SettingsChanges.from_mapping` from a raw
        document, or directly from typed values)."""
        async with self._uow() as uow:
            current = await uow.settings.get_active()
            if current is None:
                raise SettingsMissing
            updated = changes.applied_to(current)
            await uow.settings.save(updated, now=self._clock.now())
            stranded = await self._stranded(uow, updated)
            await uow.commit()
        return SettingsUpdate(updated, stranded)

    async def _stranded(
        self, uow: UnitOfWork, settings: BusinessSettings
    ) -> tuple[StrandedBooking, ...]:
        """Every resource's bookings judged by the new settings: plan-following resources on
        the new hours, every resource on the new closures and slot grid."""
        catalog = await uow.catalog.get_active(settings)
        return await find_stranded(uow, SlotPolicy(settings), catalog, self._clock.now())
