"""Reconnect backoff: exponential, capped, jittered, resettable."""

from __future__ import annotations

import random

import pytest

from core.backoff import Backoff, capped_delay

pytestmark = pytest.mark.unit


def test_delays_double_with_jitter_and_cap() -> None:
    backoff = Backoff(base_s=0.5, cap_s=4.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.5 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jitter: no two the same


def test_reset_starts_again_from_base() -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(2))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_never_gives_up() -> None:
    backoff = Backoff(base_s=1.0, cap_s=30.0)
    assert all(15.0 <= backoff.next_delay() <= 30.0 for _ in range(1000) if backoff.attempt > 6)


def test_capped_delay_doubles_to_the_cap() -> None:
    assert [capped_delay(n, 0.5, 5.0) for n in range(6)] == [0.5, 1, 2, 4, 5, 5]
    assert capped_delay(-1, 1.0, 30.0) == 1.0


def test_capped_delay_survives_huge_attempts() -> None:
    assert capped_delay(10_000, 1.0, 30.0) == 30.0
