"""Latency stamps along the path: the feed's batch publish stamp reaches the arbitrage task and
rides in the live event with the task's start and the Redis publish."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from core.state import RedisState
from core.types import Quote
from tasks.arbitrage import trace_of
from tests.support.procs import Proc
from workers.publisher import celery_sender

pytestmark = pytest.mark.integration


def test_feed_batch_stamp_reaches_the_live_event(state: RedisState, worker: Proc) -> None:
    symbol = f"T{uuid.uuid4().hex[:5].upper()}-USD"
    pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(state.live.pattern)
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    try:
        now = time.time_ns()
        before = time.time_ns()
        celery_sender()("arbitrage", [tuple(Quote("kraken", symbol, 100.0, 1.0, 100.5, 1.0,
                                                  None, now - 1000, now))], [])
        deadline = time.monotonic() + 30
        event = None
        while event is None and time.monotonic() < deadline:
            msg = pubsub.get_message(timeout=0.5)
            if msg is None:
                continue
            got = json.loads(msg["data"])
            if got["type"] == "quote" and got["data"]["symbol"] == symbol:
                event = got
        received = time.time_ns()
    finally:
        pubsub.close()
    assert event is not None, "the quote event never arrived"
    trace = event["trace"]
    assert set(trace) == {"batch_ns", "task_ns", "redis_ns"}
    assert before <= trace["batch_ns"] <= trace["task_ns"] <= trace["redis_ns"] <= received
    assert set(event["data"]) >= {"exchange", "symbol", "bid", "ts_exchange_ns",
                                  "ts_received_ns"}  # the documented shape, untouched


@pytest.mark.parametrize(("request_dict", "expected"), [
    ({"published_ns": 5}, {"batch_ns": 5, "task_ns": 9}),
    ({}, {"task_ns": 9}),  # sent by Celery's apply_async: no feed stamp
    ({"published_ns": "x"}, {"task_ns": 9}),
])
def test_trace_of_a_request(request_dict: dict[str, object], expected: dict[str, int]) -> None:
    class Request(dict):  # Celery's Context answers get() the same way
        pass

    assert trace_of(Request(request_dict), 9) == expected
    assert trace_of(None, 9) == {"task_ns": 9}
