"""Dates and times as a voice agent says them, in the business's language (Babel, CLDR data).

``Wednesday, October 20, 2:00 PM`` in ``en``, ``Mittwoch, 20. Oktober, 14:00`` in ``de``: the
weekday in full, the day and the month, no year unless it is not this year (then ``…, 2028``),
and the time as the locale writes it. The date is CLDR's pattern for the skeleton
``MMMMEEEEd`` (``yMMMMEEEEd`` with a year), the time the locale's short time, joined by the
locale's date-time pattern. Babel's skeleton matching keeps the width of the pattern it matched
(``E``, "Wed"), so the weekday is widened to ``EEEE`` here: said aloud, "Wed" is not a word.
"""

from __future__ import annotations

import datetime as dt
import re

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, match_skeleton

__all__ = ["SpokenStarts", "is_known_locale"]

_SHORT_WEEKDAY = re.compile(r"(?<![Ec])[Ec]{1,3}(?![Ec])")
_QUOTED = re.compile(r"('[^']*')")


def is_known_locale(name: str) -> bool:
    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return False
    return True


def _date_pattern(locale: Locale, skeleton: str) -> str:
    skeletons = locale.datetime_skeletons
    matched = match_skeleton(skeleton, skeletons) or skeleton
    pattern = str(skeletons[matched]) if matched in skeletons else skeleton
    parts = _QUOTED.split(pattern)  # odd parts are quoted literals: left alone
    return "".join(
        part if index % 2 else _SHORT_WEEKDAY.sub(lambda m: m.group(0)[0] * 4, part)
        for index, part in enumerate(parts)
    )


class SpokenStarts:
    """Formats slot starts (a local date and time in the business time zone) for speech."""

    def __init__(self, locale: str) -> None:
        self.locale = Locale.parse(locale)
        self._this_year = _date_pattern(self.locale, "MMMMEEEEd")
        self._other_year = _date_pattern(self.locale, "yMMMMEEEEd")
        self._join = str(get_datetime_format("long", locale=self.locale)).replace("'", "")
        self._times: dict[int, str] = {}

    def day(self, day: dt.date, this_year: int) -> str:
        pattern = self._this_year if day.year == this_year else self._other_year
        return format_date(day, pattern, locale=self.locale)

    def time(self, time: dt.time) -> str:
        """The locale's short time. Formatting one costs Babel about 65 µs (measured), so each
        minute of the day is formatted once per process: at most 1,440 short strings."""
        if time.second or time.microsecond:
            return format_time(time, "short", locale=self.locale)
        key = time.hour * 60 + time.minute
        said = self._times.get(key)
        if said is None:
            said = self._times[key] = format_time(time, "short", locale=self.locale)
        return said

    def join(self, day_text: str, time_text: str) -> str:
        return self._join.replace("{1}", day_text).replace("{0}", time_text)

    def __call__(self, day: dt.date, time: dt.time, this_year: int) -> str:
        return self.join(self.day(day, this_year), self.time(time))
