"""Splitting markets over connections, and a venue's status summed over them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from core.stores.feeds import FeedStatus
from core.types import Market
from workers.batcher import Batcher
from workers.exchanges import get_adapter
from workers.feed import FeedWorker
from workers.group import split_markets
from workers.publisher import Publisher
from workers.status import aggregate, venue_state

pytestmark = pytest.mark.unit


def markets(n: int) -> list[Market]:
    return [Market(f"C{i}-USD", f"c{i}usd", f"C{i}", "USD") for i in range(n)]


def test_split_markets_respects_the_limit() -> None:
    assert [len(c) for c in split_markets(markets(1030), 512)] == [512, 512, 6]
    assert split_markets(markets(3), None) == [markets(3)]
    assert split_markets([], 10) == []
    assert sum(split_markets(markets(7), 3), []) == markets(7)


@pytest.mark.parametrize(
    ("states", "expected"),
    [(["connected", "connected"], "connected"), (["connected", "disconnected"], "degraded"),
     (["connecting", "disconnected"], "connecting"), (["stopped"], "stopped")],
)
def test_venue_state(states: list[str], expected: str) -> None:
    assert venue_state(states) == expected


def test_aggregate_sums_connections() -> None:
    adapter_cls = get_adapter("kraken")
    publisher = Publisher(lambda path, rows, depth_rows: None, Batcher([]))
    workers = [FeedWorker(adapter_cls(chunk), "ws://x", publisher)
               for chunk in split_markets(markets(3), 2)]
    workers[0].messages, workers[1].messages = 10, 5
    workers[0].conn_state, workers[1].conn_state = "connected", "connected"
    workers[1].adapter.reject("bad_json")
    workers[1].last_error = "boom"
    status = aggregate("kraken", workers, publisher, "ws://x").to_event()
    assert status["connections"] == 2 and status["messages"] == 15 and status["markets"] == 3
    assert status["state"] == "connected" and status["parse_errors"] == 1
    assert json.loads(str(status["errors"])) == {"bad_json": 1}
    assert status["last_error"] == "boom"
    assert status["symbols"] == "C0-USD,C1-USD,C2-USD"


def test_feed_stats_window_reports_deltas_and_mean_age(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import status as status_module

    clock = [1000.0]
    monkeypatch.setattr(status_module.time, "monotonic", lambda: clock[0])
    window = status_module.FeedStatsWindow("kraken", window_s=60.0)
    now = 1_767_225_600_000_000_000
    sample = FeedStatus(messages=10, quotes=8, last_message_ns=now - 500_000_000)
    assert window.sample(sample, now) is None  # 0.5 s old
    clock[0] += 30
    assert window.sample(replace(sample, last_message_ns=now - 1_500_000_000), now) is None
    clock[0] += 30
    record = window.sample(FeedStatus(messages=70, quotes=50, last_message_ns=now - 1_000_000_000),
                           now)
    assert record == {"exchange": "kraken", "ts_ns": now, "messages": 70, "quotes": 50,
                      "mean_quote_age_s": pytest.approx(1.0), "samples": 3}
    clock[0] += 60
    record = window.sample(FeedStatus(messages=100, quotes=60, last_message_ns=0), now)
    assert record["messages"] == 30 and record["quotes"] == 10
    assert record["mean_quote_age_s"] is None and record["samples"] == 0
