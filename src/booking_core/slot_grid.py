"""A day's slot grid as integers: the speed path of :class:`~agent_booking.core.policy.SlotPolicy`.

Judging a day start by start with pendulum values cost about 9 µs a start (a local datetime,
its UTC instant, the occupied interval, three objects each): one day's availability of a
60-minute service on 5 resources with 1-minute slots judges 6,900 starts, 61 ms of CPU per
request (``python -m bench.read_cpu``). Here a start is its UTC instant in microseconds since
the epoch and its minute of the day, and an occupied interval two integers, so judging a start
is integer arithmetic and one bisection; pendulum values are built only for the starts a caller
keeps. The rules are the policy's; only their arithmetic is cheaper.

Where the zone's offset is the same all through an open interval (every day in UTC, all but two
days a year elsewhere), the instant of minute ``m`` is the interval's first instant plus ``m``
minutes: the offset is checked at the interval's first start and at every later hour of it, and
no zone changes its offset twice within an hour. Otherwise (a clock-change day) every start is
built by pendulum as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pendulum

__all__ = ["MICROS_PER_MINUTE", "TIMES", "grid_micros", "micros"]

MICROS_PER_MINUTE = 60_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MICRO = dt.timedelta(microseconds=1)
#: The wall-clock time of every minute of a day, built once (a grid's times repeat every day).
TIMES = tuple(pendulum.Time(hour, minute) for hour in range(24) for minute in range(60))


def micros(instant: dt.datetime) -> int:
    """``instant`` as microseconds since the epoch (exact; plain ``datetime`` subtraction, which
    for aware values compares instants, and costs a fraction of pendulum's)."""
    return dt.datetime.__sub__(instant, _EPOCH) // _ONE_MICRO


def grid_micros(
    minutes: range,
    local_start: Callable[[int], pendulum.DateTime],
    low: int,
    high: int | None = None,
) -> list[tuple[int, int]]:
    """``(instant in microseconds, minute of the day)`` of each grid minute whose local start
    shows that minute on the clock (a clock change's gap skips some) and whose instant lies in
    ``[low, high)`` (``high`` None: no upper bound), in order.

    ``local_start(minute)`` is the policy's local start of that minute of the day.
    """
    if not minutes:
        return []
    first = local_start(minutes[0])
    zone = first.tzinfo
    constant = zone is pendulum.UTC or isinstance(zone, pendulum.FixedTimezone)
    if not constant:
        offset = first.utcoffset()
        samples = (*range(minutes[0] + 60, minutes[-1] + 1, 60), minutes[-1])
        constant = _shows(first, minutes[0]) and all(
            local_start(minute).utcoffset() == offset for minute in samples
        )
    if constant:
        # Minute m starts at ``base + m`` minutes: the bounds cut the range, nothing is skipped.
        base = micros(first) - minutes[0] * MICROS_PER_MINUTE
        stride = minutes.step * MICROS_PER_MINUTE
        origin = base + minutes[0] * MICROS_PER_MINUTE
        begin = max(0, -((origin - low) // stride))
        end = len(minutes) if high is None else max(0, -((origin - high) // stride))
        return [(base + minute * MICROS_PER_MINUTE, minute) for minute in minutes[begin:end]]
    found = []
    for minute in minutes:
        start = local_start(minute)
        instant = micros(start)
        if _shows(start, minute) and low <= instant and (high is None or instant < high):
            found.append((instant, minute))
    return found


def _shows(start: pendulum.DateTime, minute: int) -> bool:
    """Whether ``start`` shows ``minute`` of the day on the clock (pendulum moves a time in a
    clock change's gap past it)."""
    return start.hour * 60 + start.minute == minute and not start.second
