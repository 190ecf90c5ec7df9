"""When a booking may start: the slot and working-hours policy.

One policy object answers both "may this start be booked?" (create) and "which starts may be
booked?" (availability, alternatives), so the two can never disagree. Checks run in the order
``DESIGN.md`` fixes; the first failure wins.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set

import pendulum
from attrs import frozen

from agent_booking.core.errors import (
    BeyondHorizon,
    BookingInPast,
    BookingPolicyViolation,
    ClosedDate,
    NotASlotStart,
    NoticeTooShort,
    OffDay,
    OutsideWorkingHours,
    SlotTaken,
    UnknownResource,
)
from agent_booking.core.instants import as_utc, in_zone, local_datetime
from agent_booking.core.occupancy import Occupancy
from agent_booking.core.resources import OpenInterval, Resource, Service, minute_of_day
from agent_booking.core.settings import BusinessSettings
from agent_booking.core.slot_grid import MICROS_PER_MINUTE, TIMES, grid_micros, micros

__all__ = ["ALTERNATIVE_SEARCH_DAYS", "MAX_ALTERNATIVE_STARTS", "FreeStart", "SlotPolicy"]

#: A free start (local) and the ids of the resources free for it, lowest first.
FreeStart = tuple[pendulum.DateTime, tuple[int, ...]]

#: How many days after the requested one are searched for alternatives, at most.
ALTERNATIVE_SEARCH_DAYS = 14
#: How many slot starts one refusal's search for alternatives may read and examine, at most
#: (the same bound as one availability answer): with 1-minute slots a full fortnight was 21,600
#: taken starts read for every refused request, so short slots search fewer days.
MAX_ALTERNATIVE_STARTS = 3000


@frozen
class SlotPolicy:
    settings: BusinessSettings

    def check(
        self, day: pendulum.Date, time: pendulum.Time, now: pendulum.DateTime
    ) -> pendulum.DateTime:
        """Return the slot's start in the business time zone, or raise the first broken rule."""
        start = self.local_start(day, time)
        if start <= now:
            raise BookingInPast
        self._check_date(day, now)
        if not self.settings.open_time <= time < self.settings.close_time:
            raise OutsideWorkingHours
        if not self.settings.is_slot_start(time):
            raise NotASlotStart
        if not _keeps_wall_time(start, time):
            raise NotASlotStart("This time does not exist on that day (clock change)")
        return start

    def local_start(self, day: pendulum.Date, time: pendulum.Time) -> pendulum.DateTime:
        return local_datetime(
            day.year, day.month, day.day, time.hour, time.minute, time.second, self.settings.tz
        )

    def bookable_starts(
        self, day: pendulum.Date, now: pendulum.DateTime
    ) -> list[pendulum.DateTime]:
        """Every start on ``day`` that :meth:`check` grants ``now`` (whether or not it is taken).

        The same rules, with those about the day alone (horizon, off days, closed dates) judged
        once for the day rather than once per slot: a day of 1-minute slots has up to 1,439.
        Slot times are inside working hours and on the grid by construction, so what is left
        per slot is its local start, whether it is over, and whether a clock change skips it.
        (Whether a start is over is asked of every start, never inferred from its date: where
        clocks fall back across midnight, local dates do not follow instants.)
        """
        try:
            self._check_date(day, now)
        except (BeyondHorizon, OffDay, ClosedDate):
            return []
        starts = []
        for time in self.settings.slot_times():
            start = self.local_start(day, time)
            if start > now and _keeps_wall_time(start, time):
                starts.append(start)
        return starts

    def fits(self, day: pendulum.Date, time: pendulum.Time) -> bool:
        """Whether these settings would hold a booking at this local day and time, ignoring when
        it is asked (past, horizon): used to find bookings a settings change strands."""
        return (
            self.day_closure(day) is None
            and self.settings.open_time <= time < self.settings.close_time
            and self.settings.is_slot_start(time)
        )

    def free_starts(
        self, day: pendulum.Date, now: pendulum.DateTime, taken: Set[pendulum.DateTime]
    ) -> list[pendulum.DateTime]:
        """Starts on ``day`` that a create request would be granted right now.

        ``taken`` holds UTC instants; starts are compared in UTC because Python never finds a
        local time in a repeated (clock-change) hour equal to its UTC instant.
        """
        return [start for start in self.bookable_starts(day, now) if as_utc(start) not in taken]

    def nearest_free(
        self,
        wanted: pendulum.DateTime,
        now: pendulum.DateTime,
        taken: Set[pendulum.DateTime],
        *,
        limit: int = 3,
        search_days: int | None = None,
    ) -> list[pendulum.DateTime]:
        """Up to ``limit`` free starts near ``wanted`` (local): the same day first, nearest
        first; then the following days in order (:attr:`alternative_search_days` of them
        unless ``search_days`` says)."""
        if search_days is None:
            search_days = self.alternative_search_days
        day = wanted.date()
        same_day = sorted(
            self.free_starts(day, now, taken), key=lambda start: abs((start - wanted).in_seconds())
        )
        found = same_day[:limit]
        for offset in range(1, search_days + 1):
            if len(found) >= limit:
                break
            found.extend(self.free_starts(day.add(days=offset), now, taken)[: limit - len(found)])
        return found

    @property
    def alternative_search_days(self) -> int:
        """Days after the requested one that alternatives come from: up to
        :data:`ALTERNATIVE_SEARCH_DAYS`, fewer when the days' slots would come to more than
        :data:`MAX_ALTERNATIVE_STARTS` (1-minute slots all day: the next day only)."""
        per_day = len(self.settings.slot_times())
        return min(ALTERNATIVE_SEARCH_DAYS, max(0, MAX_ALTERNATIVE_STARTS // per_day - 1))

    def day_closure(self, day: pendulum.Date) -> str | None:
        """``"off_day"`` or ``"closed_date"`` when nothing can be booked that day, else None."""
        if day.isoweekday() in self.settings.off_days:
            return OffDay.code
        if day in self.settings.closed_dates:
            return ClosedDate.code
        return None

    # --- per service and resource (weekly plans, exceptions, durations, buffers) ---------------
    #
    # The same rules as above, with the resource's open intervals on the day in place of the
    # business's one opening: the grid runs from the start of each interval, and the whole
    # service must fit inside one interval. For one resource whose plan is the settings' hours
    # and a service as long as a slot, these grant and refuse exactly what the methods above do
    # (tests/unit/test_resource_policy.py holds them to it).

    def check_service(
        self,
        day: pendulum.Date,
        time: pendulum.Time,
        now: pendulum.DateTime,
        service: Service,
        resource: Resource,
    ) -> pendulum.DateTime:
        """The start of ``service`` on ``resource`` (local), or raise the first broken rule.

        Whether the occupied interval is free is not asked here: see :meth:`free_for`.
        """
        start = self.local_start(day, time)
        if start <= now:
            raise BookingInPast
        notice = service.min_notice_minutes
        if notice and start < now.add(minutes=notice):
            raise NoticeTooShort(notice)
        self._check_date(day, now)
        interval = _interval_holding(resource.intervals_on(day), time)
        if interval is None:
            raise OutsideWorkingHours
        offset = minute_of_day(time) - minute_of_day(interval.opens)
        if time.second or time.microsecond or offset % self.settings.slot_minutes:
            raise NotASlotStart
        if minute_of_day(time) + service.duration_minutes > minute_of_day(interval.closes):
            if service.id is None:  # the spec's slot: not a start of one
                raise NotASlotStart
            raise NotASlotStart(f"{service.name} would end after the resource's hours")
        if not _keeps_wall_time(start, time):
            raise NotASlotStart("This time does not exist on that day (clock change)")
        return start

    def service_starts(
        self, day: pendulum.Date, now: pendulum.DateTime, service: Service, resource: Resource
    ) -> list[pendulum.DateTime]:
        """Every start on ``day`` that :meth:`check_service` grants ``now``, taken or not."""
        return list(self._service_starts(day, now, service, resource))

    def _service_starts(
        self, day: pendulum.Date, now: pendulum.DateTime, service: Service, resource: Resource
    ) -> Iterator[pendulum.DateTime]:
        """:meth:`service_starts`, one at a time, in order (a resource's intervals are
        sorted and never overlap)."""
        try:
            self._check_date(day, now)
        except (BeyondHorizon, OffDay, ClosedDate):
            return
        earliest = now.add(minutes=service.min_notice_minutes)
        step, duration = self.settings.slot_minutes, service.duration_minutes
        for interval in resource.intervals_on(day):
            first, last = minute_of_day(interval.opens), minute_of_day(interval.closes) - duration
            for minute in range(first, last + 1, step):
                time = pendulum.Time(*divmod(minute, 60))
                start = self.local_start(day, time)
                if start > now and start >= earliest and _keeps_wall_time(start, time):
                    yield start

    def free_for(
        self,
        day: pendulum.Date,
        now: pendulum.DateTime,
        service: Service,
        resources: Iterable[Resource],
        occupancy: Occupancy,
    ) -> list[FreeStart]:
        """Starts on ``day`` a create request for ``service`` would be granted now, in order,
        each with the resources (among ``resources``) whose occupied interval would be free."""
        return list(self.iter_free_for(day, now, service, resources, occupancy))

    def _grid(
        self,
        day: pendulum.Date,
        now: pendulum.DateTime,
        service: Service,
        resource: Resource,
        index: int,
        window: tuple[int, int | None] = (0, None),
    ) -> list[tuple[int, int, int]]:
        """:meth:`service_starts` as ``(instant in microseconds, index, minute of the day)``:
        the same starts by the same rules, in integers (:mod:`~agent_booking.core.slot_grid`),
        only those whose instant lies in ``window`` (``[from, until)``, until None: no end)."""
        try:
            self._check_date(day, now)
        except (BeyondHorizon, OffDay, ClosedDate):
            return []
        now_micros = micros(now)
        notice = service.min_notice_minutes * MICROS_PER_MINUTE
        lowest = max(now_micros + 1, now_micros + notice, window[0])
        step, duration = self.settings.slot_minutes, service.duration_minutes

        def local_start(minute: int) -> pendulum.DateTime:
            return self.local_start(day, TIMES[minute])

        found: list[tuple[int, int, int]] = []
        for interval in resource.intervals_on(day):
            first, last = minute_of_day(interval.opens), minute_of_day(interval.closes) - duration
            grid = grid_micros(range(first, last + 1, step), local_start, lowest, window[1])
            found.extend((instant, index, minute) for instant, minute in grid)
        return found

    @staticmethod
    def _judged(
        keyed: Iterable[tuple[int, int, int]],
        service: Service,
        ordered: Sequence[Resource],
        occupancy: Occupancy,
    ) -> Iterator[tuple[int, tuple[int, ...]]]:
        """Each start of the merged grids, in order, as its minute of the day and the ids of
        the resources whose occupied interval ``[start - buffer_before, start + duration +
        buffer_after)`` overlaps none of theirs (none: taken); the test of
        :meth:`Occupancy.is_free`, on integers."""
        before = service.buffer_before * MICROS_PER_MINUTE
        after = (service.duration_minutes + service.buffer_after) * MICROS_PER_MINUTE
        tables = [occupancy.micros(resource.id) for resource in ordered]
        current: int | None = None
        current_minute = 0
        ids: list[int] = []
        for instant, index, minute in keyed:
            if instant != current:
                if current is not None:
                    yield current_minute, tuple(ids)
                current, current_minute, ids = instant, minute, []
            starts, ends = tables[index]
            # The last interval starting before the end is the only one that can reach in.
            last = bisect_left(starts, instant + after) - 1
            if last < 0 or ends[last] <= instant - before:
                ids.append(ordered[index].id)
        if current is not None:
            yield current_minute, tuple(ids)

    def iter_free_for(
        self,
        day: pendulum.Date,
        now: pendulum.DateTime,
        service: Service,
        resources: Iterable[Resource],
        occupancy: Occupancy,
        window: tuple[int, int | None] = (0, None),
    ) -> Iterator[FreeStart]:
        """:meth:`free_for`, one start at a time: a caller that needs the first few (an offer
        of 3 starts) stops there instead of judging a whole day of every resource's grid
        (1-minute slots on 5 resources: 6,900 starts for a 60-minute service). With
        ``window`` (instants in microseconds, ``[from, until)``), only the starts in it: the
        occupancy needs to hold only the intervals that can reach them."""
        ordered = sorted(resources, key=lambda item: item.id)
        # Each resource's starts in order, merged by UTC instant (a repeated clock-change
        # hour's local times never compare equal to their instants); a tie keeps the resources'
        # order, so the ids come lowest first.
        merged = heapq.merge(
            *(
                self._grid(day, now, service, resource, index, window)
                for index, resource in enumerate(ordered)
            )
        )
        for minute, ids in self._judged(merged, service, ordered, occupancy):
            if ids:
                yield self.local_start(day, TIMES[minute]), ids

    def day_starts(
        self,
        day: pendulum.Date,
        now: pendulum.DateTime,
        service: Service,
        resources: Iterable[Resource],
        occupancy: Occupancy,
    ) -> list[tuple[pendulum.Time, tuple[int, ...]]]:
        """Every start on ``day`` that :meth:`check_service` grants ``now`` on at least one of
        ``resources``, in order, as its local time and the ids of the resources free for it
        (empty: taken). One pass over the grid for a whole day's availability: it cost 61 ms of
        CPU with 1-minute slots on 5 resources when judged start by start in pendulum values
        and then listed again for the taken ones (``python -m bench.read_cpu``)."""
        ordered = sorted(resources, key=lambda item: item.id)
        keyed = sorted(
            itertools.chain.from_iterable(
                self._grid(day, now, service, resource, index)
                for index, resource in enumerate(ordered)
            )
        )
        return [
            (TIMES[minute], ids) for minute, ids in self._judged(keyed, service, ordered, occupancy)
        ]

    def nearest_free_for(
        self,
        wanted: pendulum.DateTime,
        now: pendulum.DateTime,
        service: Service,
        resources: Sequence[Resource],
        occupancy: Occupancy,
        *,
        limit: int = 3,
    ) -> list[FreeStart]:
        """Up to ``limit`` free starts for ``service`` near ``wanted`` (local): the same day
        first, nearest first; then the following days in order
        (:meth:`service_search_days` of them)."""
        day = wanted.date()
        same_day = sorted(
            self.free_for(day, now, service, resources, occupancy),
            key=lambda item: abs((item[0] - wanted).in_seconds()),
        )
        found = same_day[:limit]
        for offset in range(1, self.service_search_days(service, resources) + 1):
            if len(found) >= limit:
                break
            later = self.free_for(day.add(days=offset), now, service, resources, occupancy)
            found.extend(later[: limit - len(found)])
        return found

    def service_search_days(self, service: Service, resources: Sequence[Resource]) -> int:
        """Days after the requested one that alternatives come from: as
        :attr:`alternative_search_days`, counting the grid of every resource's fullest weekday."""
        per_day = self.service_grid_per_day(service, resources)
        return min(ALTERNATIVE_SEARCH_DAYS, max(0, MAX_ALTERNATIVE_STARTS // max(1, per_day) - 1))

    def service_grid_per_day(self, service: Service, resources: Sequence[Resource]) -> int:
        """The most slot starts one day can hold for ``service`` across ``resources``: each
        resource's fullest weekday's grid, summed (what bounds a search's work per day)."""
        step = self.settings.slot_minutes

        def grid(intervals: Sequence[OpenInterval]) -> int:
            return sum(
                len(range(minute_of_day(item.opens), minute_of_day(item.closes), step))
                for item in intervals
            )

        return sum(
            max((grid(day) for day in resource.plan.days.values()), default=0)
            for resource in resources
            if service.performed_by(resource)
        )

    def place(
        self,
        day: pendulum.Date,
        time: pendulum.Time,
        now: pendulum.DateTime,
        service: Service,
        resources: Sequence[Resource],
        occupancy: Occupancy,
        bookings_that_day: Mapping[int, int],
    ) -> tuple[pendulum.DateTime, Resource]:
        """Where a create request for ``service`` at ``day`` and ``time`` goes: the start and
        the resource, among ``resources`` (one, when the request named it).

        Raise :class:`SlotTaken` when the start is bookable but every resource that could take
        it is occupied, else the first broken rule (of the lowest-id resource).
        """
        refusal: BookingPolicyViolation | None = None
        free: list[Resource] = []
        start: pendulum.DateTime | None = None
        for resource in sorted(resources, key=lambda item: item.id):
            try:
                start = self.check_service(day, time, now, service, resource)
            except BookingPolicyViolation as error:
                refusal = refusal or error
                continue
            if occupancy.is_free(resource.id, *service.occupied(start)):
                free.append(resource)
        if start is None:
            raise refusal or UnknownResource
        if not free:
            raise SlotTaken
        chosen = self.assign([resource.id for resource in free], bookings_that_day)
        return start, next(resource for resource in free if resource.id == chosen)

    @staticmethod
    def assign(free_ids: Iterable[int], bookings_that_day: Mapping[int, int]) -> int:
        """The resource a booking without one goes to: of the free ones, the one with the
        fewest active bookings that day; ties go to the lowest id (deterministic)."""
        return min(free_ids, key=lambda item: (bookings_that_day.get(item, 0), item))

    def fits_service(
        self, day: pendulum.Date, time: pendulum.Time, service: Service, resource: Resource
    ) -> bool:
        """Whether a booking of ``service`` at this local day and time fits the resource's plan
        and the business's days, ignoring when it is asked: finds bookings a plan change strands."""
        if self.day_closure(day) is not None:
            return False
        interval = _interval_holding(resource.intervals_on(day), time)
        if interval is None:
            return False
        offset = minute_of_day(time) - minute_of_day(interval.opens)
        return (
            not time.second
            and offset % self.settings.slot_minutes == 0
            and minute_of_day(time) + service.duration_minutes <= minute_of_day(interval.closes)
        )

    def _check_date(self, day: pendulum.Date, now: pendulum.DateTime) -> None:
        """The rules about the day alone, in the check order (after "not in the past")."""
        today = in_zone(now, self.settings.tz).date()
        if day.toordinal() - today.toordinal() > self.settings.horizon_days:
            raise BeyondHorizon(
                f"Booking date is more than {self.settings.horizon_days} days ahead"
            )
        if day.isoweekday() in self.settings.off_days:
            raise OffDay
        if day in self.settings.closed_dates:
            raise ClosedDate


def _interval_holding(
    intervals: Sequence[OpenInterval], time: pendulum.Time
) -> OpenInterval | None:
    return next((item for item in intervals if item.opens <= time < item.closes), None)


def _keeps_wall_time(start: pendulum.DateTime, time: pendulum.Time) -> bool:
    """Whether ``start`` shows ``time`` on the clock: not where a clock change skips ``time``
    (pendulum then moves the start past the gap)."""
    return (start.hour, start.minute, start.second) == (time.hour, time.minute, time.second)
