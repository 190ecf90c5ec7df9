"""Idempotency keys (agent_booking.core.idempotency.IdempotencyKeys) with CreateAgentBooking.

The first request with a key claims it and its outcome is recorded under the key (a success in
the booking's own transaction); a retry with the same key and body gets that outcome again, never
a second booking. The requests here follow the protocol the HTTP route follows
(:func:`send`): claim, then replay or run, then record a refusal or release the key on a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import pendulum
import pytest
from attrs import frozen

from agent_booking.adapters.clock import FixedClock
from agent_booking.adapters.memory import InMemoryNotifier, InMemoryStore, InMemoryUnitOfWork
from agent_booking.core import BookingError, BookingStatus, CreateAgentBooking, StorageUnavailable
from agent_booking.core.errors import (
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidIdempotencyKey,
)
from agent_booking.core.events import JsonObject
from agent_booking.core.idempotency import ClaimOutcome, IdempotencyClaim, IdempotencyKeys
from agent_booking.core.ports import IdempotencyStore
from agent_booking.entrypoints.http.errors import error_body, status_for
from tests.unit.builders import basic_body, complete_body
from tests.unit.driving import CreateFromBody, success_body
from tests.unit.fakes import FailingCommitUnitOfWork

KEY = "3f1c9e0a-retry-me"
RETRIES = 10
#: Short waits keep the tests fast; only the order of events matters to them.
POLL_S = 0.001


@frozen
class Answer:
    """What a client is told: status, body, and whether it was a replay."""

    status: int
    body: JsonObject
    replayed: bool


async def send(
    keys: IdempotencyKeys, create: CreateAgentBooking, key: str, body: dict[str, object]
) -> Answer:
    """One create request with an Idempotency-Key, as the HTTP route runs it."""
    claim = await keys.begin(key, body)
    if claim.outcome is ClaimOutcome.REPLAY:
        assert claim.status_code is not None
        assert claim.body is not None
        return Answer(claim.status_code, claim.body, replayed=True)
    assert claim.outcome is ClaimOutcome.NEW, claim
    try:
        result = await create(body, idempotency_key=key)
    except BookingError as error:
        status = status_for(error)
        assert status is not None
        if status >= 500:
            await keys.release(key)
            raise
        await keys.record(key, status, error_body(error))
        return Answer(status, error_body(error), replayed=False)
    except Exception:
        await keys.release(key)
        raise
    return Answer(201, success_body(result), replayed=False)


def booking_count(store: InMemoryStore) -> int:
    return len(store.bookings)


async def cancel_all(store: InMemoryStore) -> None:
    async with store.unit_of_work() as uow:
        for booking in store.bookings:
            await uow.bookings.set_status(booking.id, BookingStatus.CANCELLED)
        await uow.commit()


class Gate:
    """Holds a request at the start of its booking transaction until the test opens it."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()


class HeldUnitOfWork(InMemoryUnitOfWork):
    """A transaction that, before it starts, waits at a :class:`Gate`: its request is running
    (its key is claimed) but has not booked anything yet."""

    def __init__(self, store: InMemoryStore, gate: Gate) -> None:
        super().__init__(store)
        self._gate = gate

    async def __aenter__(self) -> Self:
        self._gate.reached.set()
        await self._gate.opened.wait()
        return await super().__aenter__()


class _WatchedClaims:
    def __init__(self, inner: IdempotencyStore, seen: asyncio.Event) -> None:
        self._inner = inner
        self._seen = seen

    async def claim(self, key: str, fingerprint: str, **times: pendulum.DateTime) -> Any:
        claim: IdempotencyClaim = await self._inner.claim(key, fingerprint, **times)
        if claim.outcome is ClaimOutcome.IN_PROGRESS:
            self._seen.set()
        return claim

    async def complete(self, key: str, status_code: int, body: JsonObject) -> None:
        await self._inner.complete(key, status_code, body)

    async def release(self, key: str) -> None:
        await self._inner.release(key)


class ClaimWatchingUnitOfWork:
    """An :class:`InMemoryUnitOfWork` that sets ``seen`` once a claim found its key in
    progress, so a test knows a duplicate request is waiting."""

    def __init__(self, store: InMemoryStore, seen: asyncio.Event) -> None:
        self._inner = InMemoryUnitOfWork(store)
        self._seen = seen

    def __getattr__(self, name: str) -> Any:  # settings, customers, bookings, events
        return getattr(self._inner, name)

    @property
    def idempotency(self) -> _WatchedClaims:
        return _WatchedClaims(self._inner.idempotency, self._seen)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, traceback)

    async def commit(self) -> None:
        await self._inner.commit()

    async def rollback(self) -> None:
        await self._inner.rollback()


@pytest.fixture
def keys(store: InMemoryStore, clock: FixedClock) -> IdempotencyKeys:
    return IdempotencyKeys(store.unit_of_work, clock, wait_seconds=5.0, poll_seconds=POLL_S)


@pytest.fixture
def impatient_keys(store: InMemoryStore, clock: FixedClock) -> IdempotencyKeys:
    """Keys that give up on a running duplicate at once."""
    return IdempotencyKeys(store.unit_of_work, clock, wait_seconds=0, poll_seconds=POLL_S)


class TestKeyValidation:
    @pytest.mark.parametrize(
        "key",
        ["a", "x" * 255, "550e8400-e29b-41d4-a716-446655440000", "!#$%&'*+-.^_`|~", "A:b/c=d"],
        ids=["one-char", "255-chars", "uuid", "symbols", "punctuation"],
    )
    def test_accepts_1_to_255_printable_ascii_characters(self, key: str) -> None:
        assert IdempotencyKeys.validate_key(key) == key

    @pytest.mark.parametrize(
        "key",
        ["", " ", "x" * 256, "two words", " leading", "tab\tinside", "line\n", "clé", "ключ"],
        ids=["empty", "space", "256-chars", "inner-space", "leading-space", "tab", "newline",
             "latin-1", "cyrillic"],
    )  # fmt: skip
    def test_refuses_anything_else(self, key: str) -> None:
        with pytest.raises(InvalidIdempotencyKey, match="Invalid Idempotency-Key"):
            IdempotencyKeys.validate_key(key)


class TestReplay:
    async def test_a_retry_gets_the_recorded_success_again(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first = await send(keys, create_booking, KEY, complete_body())

        claim = await keys.begin(KEY, complete_body())

        assert (first.status, first.replayed) == (201, False)
        assert claim == IdempotencyClaim(ClaimOutcome.REPLAY, 201, first.body)
        assert booking_count(store) == 1

    async def test_ten_retries_make_one_booking_one_event_and_one_answer(
        self,
        keys: IdempotencyKeys,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        answers = [await send(keys, create_booking, KEY, basic_body()) for _ in range(RETRIES)]

        assert [answer.replayed for answer in answers] == [False] + [True] * (RETRIES - 1)
        assert {(answer.status, repr(answer.body)) for answer in answers} == {
            (201, repr(answers[0].body))
        }
        assert booking_count(store) == 1
        assert len(store.events) == 1
        assert notifier.sent == store.events

    async def test_ten_simultaneous_requests_make_one_booking_one_event_and_one_answer(
        self,
        keys: IdempotencyKeys,
        create_booking: CreateAgentBooking,
        store: InMemoryStore,
        notifier: InMemoryNotifier,
    ) -> None:
        answers = await asyncio.gather(
            *(send(keys, create_booking, KEY, basic_body()) for _ in range(RETRIES))
        )

        assert sorted(answer.replayed for answer in answers) == [False] + [True] * (RETRIES - 1)
        assert {(answer.status, repr(answer.body)) for answer in answers} == {
            (201, repr(answers[0].body))
        }
        assert booking_count(store) == 1
        assert len(store.events) == 1
        assert notifier.sent == store.events

    async def test_the_same_body_in_another_key_order_is_the_same_request(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking
    ) -> None:
        body = complete_body()
        first = await send(keys, create_booking, KEY, body)

        again = await send(keys, create_booking, KEY, dict(reversed(body.items())))

        assert again == Answer(201, first.body, replayed=True)

    async def test_a_refusal_is_replayed_even_after_the_slot_became_free(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await create_booking(basic_body(phone="555 000 1111"))
        refused = await send(keys, create_booking, KEY, basic_body())
        await cancel_all(store)

        again = await send(keys, create_booking, KEY, basic_body())

        assert refused.status == 409
        assert refused.body["code"] == "slot_taken"
        assert refused.body["alternatives"]  # offered the first time, so offered again
        assert again == Answer(409, refused.body, replayed=True)
        assert booking_count(store) == 1

    async def test_an_invalid_request_is_replayed_as_invalid(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking
    ) -> None:
        body = basic_body(booking_time="25:00")
        refused = await send(keys, create_booking, KEY, body)

        again = await send(keys, create_booking, KEY, body)

        assert refused == Answer(
            400,
            {"success": False, "message": "Invalid time format", "code": "invalid_time"},
            replayed=False,
        )
        assert again == Answer(400, refused.body, replayed=True)

    async def test_another_key_is_another_request(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        await send(keys, create_booking, KEY, basic_body())
        other = await send(keys, create_booking, "another-key", basic_body(booking_time="15:00"))

        assert (other.status, other.replayed) == (201, False)
        assert booking_count(store) == 2


class TestKeyReusedWithAnotherBody:
    async def test_is_refused_and_changes_nothing(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        first = await send(keys, create_booking, KEY, basic_body())
        before = (store.bookings, store.events)

        with pytest.raises(IdempotencyKeyReused, match="different request body"):
            await send(keys, create_booking, KEY, basic_body(booking_time="15:00"))

        assert (store.bookings, store.events) == before
        assert await send(keys, create_booking, KEY, basic_body()) == Answer(
            201, first.body, replayed=True
        )

    async def test_is_refused_while_the_first_request_runs(
        self, impatient_keys: IdempotencyKeys
    ) -> None:
        await impatient_keys.begin(KEY, basic_body())
        with pytest.raises(IdempotencyKeyReused):
            await impatient_keys.begin(KEY, basic_body(notes="changed"))

    async def test_an_added_field_makes_another_body(self, keys: IdempotencyKeys) -> None:
        await keys.begin(KEY, basic_body())
        await keys.record(KEY, 201, {"success": True})
        with pytest.raises(IdempotencyKeyReused):
            await keys.begin(KEY, basic_body(notes=""))


class TestRequestInProgress:
    async def test_a_duplicate_waits_for_the_first_request_and_replays_its_outcome(
        self,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
    ) -> None:
        gate, waiting = Gate(), asyncio.Event()
        keys = IdempotencyKeys(
            lambda: ClaimWatchingUnitOfWork(store, waiting), clock, poll_seconds=POLL_S
        )
        held = CreateFromBody(lambda: HeldUnitOfWork(store, gate), clock, notifier)

        first = asyncio.create_task(send(keys, held, KEY, basic_body()))
        await asyncio.wait_for(gate.reached.wait(), 5)
        duplicate = asyncio.create_task(send(keys, held, KEY, basic_body()))
        await asyncio.wait_for(waiting.wait(), 5)
        assert not duplicate.done()
        gate.opened.set()
        original, replayed = await asyncio.wait_for(asyncio.gather(first, duplicate), 5)

        assert (original.status, original.replayed) == (201, False)
        assert replayed == Answer(201, original.body, replayed=True)
        assert booking_count(store) == 1
        assert len(notifier.sent) == 1

    async def test_a_duplicate_gives_up_if_the_first_is_still_running_after_the_wait(
        self, store: InMemoryStore, clock: FixedClock, notifier: InMemoryNotifier
    ) -> None:
        gate = Gate()
        keys = IdempotencyKeys(store.unit_of_work, clock, wait_seconds=0.02, poll_seconds=POLL_S)
        held = CreateFromBody(lambda: HeldUnitOfWork(store, gate), clock, notifier)

        first = asyncio.create_task(send(keys, held, KEY, basic_body()))
        await asyncio.wait_for(gate.reached.wait(), 5)
        with pytest.raises(IdempotencyRequestInProgress, match="still in progress"):
            await send(keys, held, KEY, basic_body())
        gate.opened.set()
        original = await asyncio.wait_for(first, 5)

        assert (original.status, original.replayed) == (201, False)
        assert await send(keys, held, KEY, basic_body()) == Answer(
            201, original.body, replayed=True
        )
        assert booking_count(store) == 1

    async def test_a_duplicate_of_a_claim_without_outcome_gets_in_progress(
        self, impatient_keys: IdempotencyKeys
    ) -> None:
        assert await impatient_keys.begin(KEY, basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)
        with pytest.raises(IdempotencyRequestInProgress):
            await impatient_keys.begin(KEY, basic_body())


class TestDeadClaims:
    async def test_a_claim_whose_lease_ran_out_can_be_taken_over(
        self,
        impatient_keys: IdempotencyKeys,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        # The first request claimed the key and died: nothing was booked, nothing recorded.
        await impatient_keys.begin(KEY, basic_body())
        clock.advance(seconds=60)
        with pytest.raises(IdempotencyRequestInProgress):
            await impatient_keys.begin(KEY, basic_body())
        clock.advance(seconds=1)

        retried = await send(impatient_keys, create_booking, KEY, basic_body())

        assert (retried.status, retried.replayed) == (201, False)
        assert booking_count(store) == 1
        assert await send(impatient_keys, create_booking, KEY, basic_body()) == Answer(
            201, retried.body, replayed=True
        )

    async def test_the_lease_length_is_configurable(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        keys = IdempotencyKeys(store.unit_of_work, clock, lease_seconds=5, wait_seconds=0)
        await keys.begin(KEY, basic_body())
        clock.advance(seconds=6)
        assert await keys.begin(KEY, basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)

    async def test_a_taken_over_claim_is_live_again(
        self, impatient_keys: IdempotencyKeys, clock: FixedClock
    ) -> None:
        await impatient_keys.begin(KEY, basic_body())
        clock.advance(seconds=61)
        await impatient_keys.begin(KEY, basic_body())
        with pytest.raises(IdempotencyRequestInProgress):
            await impatient_keys.begin(KEY, basic_body())

    async def test_a_recorded_outcome_never_expires_like_a_lease(
        self,
        keys: IdempotencyKeys,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
    ) -> None:
        first = await send(keys, create_booking, KEY, basic_body())
        clock.advance(hours=1)
        assert await send(keys, create_booking, KEY, basic_body()) == Answer(
            201, first.body, replayed=True
        )


class TestRetention:
    async def test_an_outcome_is_replayed_for_48_hours(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, clock: FixedClock
    ) -> None:
        first = await send(keys, create_booking, KEY, basic_body())
        clock.advance(hours=48)
        assert await keys.begin(KEY, basic_body()) == IdempotencyClaim(
            ClaimOutcome.REPLAY, 201, first.body
        )

    async def test_older_records_are_forgotten(
        self,
        keys: IdempotencyKeys,
        create_booking: CreateAgentBooking,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        next_week = "2026-12-02"
        await send(keys, create_booking, KEY, basic_body(booking_date=next_week))
        clock.advance(hours=48, seconds=1)

        # Even another body is a new request now.
        later = await send(
            keys, create_booking, KEY, basic_body(booking_date=next_week, booking_time="15:00")
        )

        assert (later.status, later.replayed) == (201, False)
        assert booking_count(store) == 2

    async def test_the_retention_is_configurable(
        self, store: InMemoryStore, clock: FixedClock
    ) -> None:
        keys = IdempotencyKeys(store.unit_of_work, clock, retention_hours=1, wait_seconds=0)
        await keys.begin(KEY, basic_body())
        await keys.record(KEY, 409, {"success": False})
        clock.advance(minutes=61)
        assert await keys.begin(KEY, basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)


class TestRelease:
    async def test_frees_the_key_for_a_retry(self, impatient_keys: IdempotencyKeys) -> None:
        await impatient_keys.begin(KEY, basic_body())
        await impatient_keys.release(KEY)
        assert await impatient_keys.begin(KEY, basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)

    async def test_after_release_the_key_may_carry_another_body(
        self, impatient_keys: IdempotencyKeys
    ) -> None:
        await impatient_keys.begin(KEY, basic_body())
        await impatient_keys.release(KEY)
        claim = await impatient_keys.begin(KEY, basic_body(booking_time="15:00"))
        assert claim == IdempotencyClaim(ClaimOutcome.NEW)

    async def test_releasing_an_unknown_key_is_harmless(self, keys: IdempotencyKeys) -> None:
        await keys.release("never-used")
        assert await keys.begin("never-used", basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)

    async def test_does_not_forget_a_recorded_outcome(
        self, keys: IdempotencyKeys, create_booking: CreateAgentBooking, store: InMemoryStore
    ) -> None:
        """Only a claim is released (as the SQL store does): a request that fails after its
        booking committed (say, its notification) must still be replayed, never booked twice."""
        first = await send(keys, create_booking, KEY, basic_body())

        await keys.release(KEY)

        assert await keys.begin(KEY, basic_body()) == IdempotencyClaim(
            ClaimOutcome.REPLAY, 201, first.body
        )


class TestRecordedWithTheBooking:
    async def test_a_failed_commit_leaves_neither_booking_nor_record(
        self,
        impatient_keys: IdempotencyKeys,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
    ) -> None:
        failing = CreateFromBody(lambda: FailingCommitUnitOfWork(store), clock, notifier)

        assert await impatient_keys.begin(KEY, basic_body()) == IdempotencyClaim(ClaimOutcome.NEW)

        with pytest.raises(StorageUnavailable):
            await failing(basic_body(), idempotency_key=KEY)

        assert store.bookings == []
        assert store.events == []
        # The key is still only claimed: no outcome was recorded without its booking.
        with pytest.raises(IdempotencyRequestInProgress):
            await impatient_keys.begin(KEY, basic_body())

    async def test_a_storage_failure_releases_the_key_so_a_retry_can_book(
        self,
        impatient_keys: IdempotencyKeys,
        store: InMemoryStore,
        clock: FixedClock,
        notifier: InMemoryNotifier,
        create_booking: CreateAgentBooking,
    ) -> None:
        failing = CreateFromBody(lambda: FailingCommitUnitOfWork(store), clock, notifier)
        with pytest.raises(StorageUnavailable):
            await send(impatient_keys, failing, KEY, basic_body())

        retried = await send(impatient_keys, create_booking, KEY, basic_body())

        assert (retried.status, retried.replayed) == (201, False)
        assert booking_count(store) == 1

    async def test_the_outcome_is_replayable_as_soon_as_the_booking_is_committed(
        self, keys: IdempotencyKeys, store: InMemoryStore, clock: FixedClock
    ) -> None:
        seen: list[IdempotencyClaim] = []

        class ReplayCheckingNotifier:
            async def publish(self, events: Sequence[object]) -> None:
                seen.append(await keys.begin(KEY, basic_body()))

        create = CreateFromBody(store.unit_of_work, clock, ReplayCheckingNotifier())
        first = await send(keys, create, KEY, basic_body())

        assert seen == [IdempotencyClaim(ClaimOutcome.REPLAY, 201, first.body)]
