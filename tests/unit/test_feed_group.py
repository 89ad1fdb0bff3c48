"""Splitting markets over connections, and a venue's status summed over them."""

from __future__ import annotations

import json

import pytest

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
    publisher = Publisher(lambda path, rows: None, Batcher([]))
    workers = [FeedWorker(adapter_cls(chunk), "ws://x", publisher)
               for chunk in split_markets(markets(3), 2)]
    workers[0].messages, workers[1].messages = 10, 5
    workers[0].conn_state, workers[1].conn_state = "connected", "connected"
    workers[1].adapter.reject("bad_json")
    workers[1].adapter.last_error = "boom"
    status = aggregate("kraken", workers, publisher, "ws://x")
    assert status["connections"] == 2 and status["messages"] == 15 and status["markets"] == 3
    assert status["state"] == "connected" and status["parse_errors"] == 1
    assert json.loads(str(status["errors"])) == {"bad_json": 1}
    assert status["last_error"] == "boom"
    assert status["symbols"] == "C0-USD,C1-USD,C2-USD"
