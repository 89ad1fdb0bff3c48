"""A feed says when it falls behind its venue: lag against the venue's clock, and resyncs."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from workers.feed import FeedWorker
from workers.publisher import Publisher
from workers.status import aggregate

pytestmark = pytest.mark.unit

S = 1_000_000_000


def feed() -> FeedWorker:
    adapter = SimpleNamespace(name="kraken", errors={}, markets={})
    return FeedWorker(adapter, "ws://x", Publisher(lambda *a: None))  # type: ignore[arg-type]


def status_of(worker: FeedWorker) -> dict[str, object]:
    return aggregate("kraken", [worker], worker.publisher, "ws://x", behind_s=2.0).to_event()


def test_lag_is_the_worst_of_the_interval_and_behind_past_the_bound() -> None:
    worker = feed()
    now = time.time_ns()
    worker.note_lag(now - 3 * S, now)
    worker.note_lag(now - S // 2, now)
    worker.note_lag(None, now)  # a frame without the venue's time says nothing about lag
    first = status_of(worker)
    assert first["lag_ms"] == 3000.0 and first["behind"] == "1"
    worker.note_lag(now - S // 10, now)
    second = status_of(worker)  # a new interval: the old worst no longer counts
    assert second["lag_ms"] == 100.0 and second["behind"] == "0"
    third = status_of(worker)
    assert third["lag_ms"] == "" and third["behind"] == "0"


def test_dropped_frames_count_as_resyncs_and_show_as_behind_for_a_while() -> None:
    worker = feed()
    worker.note_disconnect("connection closed")
    worker.note_disconnect("watchdog: silent")
    assert worker.reconnects == 2 and worker.resyncs == 0
    assert status_of(worker)["behind"] == "0"
    for reason in ("sequence_gap", "checksum_mismatch", "slow_consumer"):
        worker.note_disconnect(reason)
    status = status_of(worker)
    assert status["resyncs"] == 3 and status["reconnects"] == 5
    assert status["behind"] == "1"
    worker.last_resync_ns -= 3 * S  # the last resync is now older than the bound
    assert status_of(worker)["behind"] == "0"
