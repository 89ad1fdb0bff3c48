"""The delivery count's arithmetic (Redis logic on fakeredis): crashes and failures add up to
MAX_DELIVERIES, a message given back on purpose never does, a first delivery costs no Redis."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import fakeredis
import pytest

from core.state import RedisState
from tasks import delivery

pytestmark = pytest.mark.unit


class FakeTask:
    """What the count reads of a task: its message's id and delivery flags."""

    name = "tasks.x"

    def __init__(self) -> None:
        self.request = SimpleNamespace(id="task-1", delivery_info={"redelivered": False})

    def deliver(self) -> int:
        """Start one delivery of the message; the runs before it that did not finish."""
        before = delivery.runs_before(self)  # type: ignore[arg-type]
        self.request.delivery_info = {"redelivered": True}  # every later one is a redelivery
        return before


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisState]:
    state = RedisState(fakeredis.FakeRedis(decode_responses=True), "t:")
    monkeypatch.setattr(delivery, "state", lambda: state)
    yield state


def test_a_first_delivery_touches_no_redis(fake: RedisState) -> None:
    assert FakeTask().deliver() == 0
    assert fake.redis.keys("*") == []


def test_runs_that_crash_add_up(fake: RedisState) -> None:
    task = FakeTask()
    assert [task.deliver() for _ in range(5)] == [0, 1, 2, 3, 4]  # each run died: no DEL, no DECR
    assert fake.redis.ttl("t:deliveries:task-1") > 0


def test_giving_back_never_counts_however_often(fake: RedisState) -> None:
    task = FakeTask()
    for _ in range(50):
        assert task.deliver() == 0
        delivery.given_back(task)  # type: ignore[arg-type]


def test_a_crash_among_give_backs_counts_once(fake: RedisState) -> None:
    task = FakeTask()
    assert task.deliver() == 0
    delivery.given_back(task)  # type: ignore[arg-type]
    assert task.deliver() == 0  # ... and this run is killed
    assert task.deliver() == 1
    delivery.given_back(task)  # type: ignore[arg-type]
    assert task.deliver() == 1


def test_a_finished_message_leaves_no_key(fake: RedisState) -> None:
    task = FakeTask()
    task.deliver()
    task.deliver()
    delivery.forget(task)  # type: ignore[arg-type]
    assert fake.redis.keys("*") == []
