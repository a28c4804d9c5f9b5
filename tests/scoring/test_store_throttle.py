"""Failed sign-ins counted in the store: free failures, doubling delays, the lockout, a success
that clears the account, other addresses untouched, two workers sharing one count; on a real
SQLite file with a clock the test moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scoring.config import SignInConfig
from scoring.store.predictions import PredictionStore
from scoring.store.throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, 9)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'serving.db'}")
    yield store.engine
    store.close()


def test_five_free_failures_then_doubling_delays_then_the_lockout(engine, clock):
    throttle = SignInThrottle(engine, SignInConfig(), clock)
    earned = [throttle.failed("lee", "10.0.0.9").seconds for _ in range(4)]
    assert earned == [0, 0, 0, 0] and throttle.wait("lee", "10.0.0.9").seconds == 0
    waits = []
    for _ in range(6):
        got = throttle.failed("lee", "10.0.0.9")
        assert throttle.wait("lee", "10.0.0.9").seconds == pytest.approx(got.seconds)
        waits.append((got.seconds, got.locked))
        clock.advance(got.seconds)  # the attacker waits out each delay
    assert waits == [(1, False), (2, False), (4, False), (8, False), (16, False), (900, True)]
    assert throttle.wait("lee", "10.0.0.9").seconds == 0  # the lockout has passed ...
    again = throttle.failed("lee", "10.0.0.9")
    assert again.locked and again.seconds == 900  # ... and one more failure locks it again
    clock.advance(899)
    left = throttle.wait("lee", "10.0.0.9")
    assert left.locked and left.seconds == pytest.approx(1)


def test_the_lock_is_for_that_address_and_a_success_clears_the_account(engine, clock):
    throttle = SignInThrottle(engine, SignInConfig(), clock)
    for _ in range(10):
        throttle.failed("lee", "10.0.0.9")
    assert throttle.wait("lee", "10.0.0.9").seconds > 0
    assert throttle.wait("lee", "10.0.0.7").seconds == 0  # the owner elsewhere is not locked out
    assert throttle.wait("mona", "10.0.0.8").seconds == 0
    for _ in range(4):
        throttle.failed("lee", "10.0.0.7")
    throttle.succeeded("lee", "10.0.0.7")
    assert throttle.failed("lee", "10.0.0.7").seconds == 0  # counting starts again
    assert throttle.wait("lee", "10.0.0.9").seconds > 0  # the guessing address stays locked


def test_one_address_guessing_many_accounts_and_many_addresses_one_account(engine, clock):
    config = SignInConfig(address_free_failures=8, account_free_failures=12)
    throttle = SignInThrottle(engine, config, clock)
    for i in range(8):
        throttle.failed(f"user{i}", "10.0.0.9")  # one failure per account: none of them slows
    assert throttle.wait("someone-else", "10.0.0.9").seconds == 1  # the address does
    assert throttle.wait("someone-else", "10.0.0.8").seconds == 0
    for i in range(12):
        throttle.failed("lee", f"10.1.0.{i}")
    assert throttle.wait("lee", "10.2.0.1").seconds == 1  # the account, from anywhere


def test_two_workers_share_the_count_and_old_failures_are_forgotten(engine, clock):
    config = SignInConfig(forget_s=3600)
    one, two = (SignInThrottle(engine, config, clock) for _ in range(2))
    for worker in (one, two, one, two):
        worker.failed("lee", "10.0.0.9")
    assert two.failed("lee", "10.0.0.9").seconds == 1  # the fifth, counted over both
    assert one.wait("lee", "10.0.0.9").seconds == 1
    clock.advance(3601)
    assert one.failed("lee", "10.0.0.9").seconds == 0  # a day later counting starts again
