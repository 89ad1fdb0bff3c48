"""Task metrics are summed in the process and written in one round trip per interval."""

from __future__ import annotations

import time
from collections.abc import Iterator

import fakeredis
import pytest
import redis

from core.state import RedisState
from tasks import metrics

pytestmark = pytest.mark.unit

KEY = "t:task_metrics"


@pytest.fixture
def fake_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisState]:
    """tasks.metrics writing to a fakeredis hash, with nothing pending before or after."""
    state = RedisState(fakeredis.FakeRedis(decode_responses=True), "t:")
    monkeypatch.setattr(metrics, "state", lambda: state)
    metrics._pending.clear()
    yield state
    timer = metrics._flush_timer
    if timer is not None:
        timer.cancel()
    metrics._flush_timer = None
    metrics._pending.clear()


def test_runs_are_summed_then_written_once(fake_state: RedisState) -> None:
    for seconds in (0.001, 0.002, 0.03):
        metrics.record_run("tasks.x", seconds)
    assert fake_state.redis.hgetall(KEY) == {}  # nothing written per task
    metrics.flush()
    stored = fake_state.redis.hgetall(KEY)
    assert stored["count|tasks.x"] == "3"
    assert float(stored["seconds|tasks.x"]) == pytest.approx(0.033)
    assert stored[metrics.bucket_field(0.005, "tasks.x")] == "2"
    assert stored[metrics.bucket_field(0.05, "tasks.x")] == "3"
    assert metrics.bucket_field(0.0025, "tasks.x") not in stored


def test_the_timer_writes_pending_runs_without_further_tasks(fake_state: RedisState) -> None:
    metrics.record_run("tasks.y", 0.2)
    deadline = time.monotonic() + metrics.FLUSH_INTERVAL_S + 5
    while time.monotonic() < deadline and not fake_state.redis.hget(KEY, "count|tasks.y"):
        time.sleep(0.05)
    assert fake_state.redis.hget(KEY, "count|tasks.y") == "1"


def test_a_failed_write_keeps_the_runs_for_the_next(fake_state: RedisState,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    metrics.record_run("tasks.z", 0.01)
    healthy = fake_state.redis
    server = fakeredis.FakeServer()
    server.connected = False  # fakeredis raises ConnectionError on every command
    down = RedisState(fakeredis.FakeRedis(server=server, decode_responses=True), "t:")
    monkeypatch.setattr(metrics, "state", lambda: down)
    with pytest.raises(redis.ConnectionError):
        metrics.flush()
    monkeypatch.setattr(metrics, "state", lambda: fake_state)
    metrics.record_run("tasks.z", 0.01)
    metrics.flush()
    assert healthy.hget(KEY, "count|tasks.z") == "2"
