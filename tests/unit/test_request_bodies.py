"""The documented request rules are the core's: patterns against the parsers, exhaustively over
the interesting ranges, and the create endpoint's typed decoding against the mapping path."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.core.errors import BookingError, InvalidDate, InvalidTime
from agent_booking.core.parsing import DateOrder, parse_date, parse_time
from agent_booking.core.queries import MAX_PAGE_SIZE
from agent_booking.core.request import FIELDS, BookingRequest
from agent_booking.entrypoints.http.admin_routes import MAX_PAGE, _page_number
from agent_booking.entrypoints.http.booking_endpoint import booking_request, json_object
from agent_booking.entrypoints.http.request_bodies import (
    ACCEPTED_DATE,
    ACCEPTED_TIME,
    DATE_OR_EMPTY,
)

YEARS = ["0000", "0001", "0004", "0100", "0400", "1900", "2000", "2024", "2027", "9999"]


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except (InvalidDate, InvalidTime):
        return False
    return True


def _numbers(value: int) -> list[str]:
    return [str(value), f"{value:02d}"] if value < 10 else [str(value)]


class TestDocumentedPatterns:
    @pytest.mark.parametrize("year", YEARS)
    def test_a_date_matches_exactly_when_it_parses_in_either_order(self, year: str) -> None:
        pattern = re.compile(ACCEPTED_DATE)
        for first in range(35):
            for second in range(35):
                for a in _numbers(first):
                    for b in _numbers(second):
                        for text in (f"{year}-{a}-{b}", f"{a}/{b}/{year}", f"{a}-{b}-{year}"):
                            day_first = _parses(parse_date, text)
                            month_first = _parses(lambda t: parse_date(t, DateOrder.MDY), text)
                            assert day_first == month_first, text
                            assert bool(pattern.search(text)) == day_first, text

    def test_a_time_matches_exactly_when_it_parses(self) -> None:
        pattern = re.compile(ACCEPTED_TIME)
        for hour in range(30):
            for minute in range(62):
                for h in _numbers(hour):
                    for text in (
                        f"{h}:{minute:02d}",
                        f"{h}:{minute:02d}:{minute:02d}",
                        f"{h}:{minute:02d} PM",
                        f"{h}:{minute:02d}am",
                        f"{h}:{minute:02d}  pm",
                    ):
                        assert bool(pattern.search(text)) == _parses(parse_time, text), text

    @pytest.mark.parametrize("padding", [" ", "\t", "\u00a0", "\u3000", "\x1c"])
    def test_whitespace_the_core_trims_is_documented_as_allowed(self, padding: str) -> None:
        assert re.search(ACCEPTED_DATE, f"{padding}2027-10-20{padding}")
        assert re.search(ACCEPTED_TIME, f"{padding}2:00 PM{padding}")

    def test_an_empty_query_date_counts_as_not_given(self) -> None:
        assert re.search(DATE_OR_EMPTY, "")
        assert not re.search(DATE_OR_EMPTY, " ")

    @pytest.mark.parametrize("maximum", [MAX_PAGE, MAX_PAGE_SIZE])
    def test_page_numbers_are_documented_as_the_texts_the_handler_takes(self, maximum: int) -> None:
        pattern = re.compile(_page_number(maximum, 1)["pattern"])
        for value in [*range(-2, 300), maximum - 1, maximum, maximum + 1, 10 * maximum]:
            assert bool(pattern.search(str(value))) == (1 <= value <= maximum), value
        assert pattern.search("007")
        assert pattern.search("")
        assert not pattern.search("1.0")


_texts = st.one_of(
    st.none(),
    st.integers(),
    st.sampled_from(["", "  ", "2027-10-20", "20/10/2027", "2:00 PM", "14:00", "male", "PENDING"]),
    st.sampled_from(["+44 20 7946 0958", "123", "a@b.co", "x" * 151, "\x00", " ok "]),
    st.text(max_size=12),
)
_bodies = st.dictionaries(st.sampled_from([*FIELDS, "other"]), _texts, max_size=len(FIELDS) + 1)


def _outcome(build: Any) -> Any:
    try:
        return build()
    except BookingError as error:
        return (type(error), error.message)


class TestTypedDecoding:
    @given(body=_bodies)
    def test_the_typed_path_decides_as_the_mapping_path(self, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()

        typed = _outcome(lambda: booking_request(raw, DateOrder.DMY))
        mapped = _outcome(lambda: BookingRequest.from_mapping(json_object(raw)))

        assert typed == mapped
