"""Scenario (r)'s workload (bench/workload.py, mirrored by create.lua): every request of a run
must be bookable, or the benchmark would measure refusals instead of bookings."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

from bench.workload import RESOURCES, SERVICES, resource_booking_body

_DAY0 = dt.date(2027, 3, 1)
_DURATIONS = {name: (duration, before, after) for name, duration, before, after in SERVICES}
_CLOSE = dt.time(23, 59)


def _occupied(body: dict[str, object]) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    duration, before, after = _DURATIONS[str(body["service_name"])]
    start = dt.datetime.fromisoformat(f"{body['booking_date']}T{body['booking_time']}")
    return (
        start - dt.timedelta(minutes=before),
        start + dt.timedelta(minutes=duration),
        start + dt.timedelta(minutes=duration + after),
    )


class TestResourceWorkload:
    def test_requests_spread_evenly_over_resources_and_services(self) -> None:
        bodies = [resource_booking_body(n, 1, 100, _DAY0) for n in range(RESOURCES * 12 * 6)]
        per_resource: defaultdict[object, int] = defaultdict(int)
        per_service: defaultdict[object, int] = defaultdict(int)
        for body in bodies:
            per_resource[body["resource_id"]] += 1
            per_service[body["service_name"]] += 1
        assert set(per_resource) == set(range(1, RESOURCES + 1))
        assert len(set(per_resource.values())) == 1
        assert set(per_service) == set(_DURATIONS)
        assert len(set(per_service.values())) == 1

    def test_no_two_requests_of_a_resource_overlap_and_each_ends_before_closing(self) -> None:
        intervals: defaultdict[object, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for n in range(RESOURCES * 12 * 40):
            body = resource_booking_body(n, 1, 100, _DAY0)
            occupied_from, ends, occupied_until = _occupied(body)
            assert ends.time() <= _CLOSE
            assert ends.date() == dt.date.fromisoformat(str(body["booking_date"]))
            intervals[body["resource_id"]].append((occupied_from, occupied_until))
        for occupied in intervals.values():
            occupied.sort()
            for (_, previous_end), (next_start, _) in itertools.pairwise(occupied):
                assert previous_end <= next_start
