"""The feed worker's local buffer: batches held in order while the broker is down, then sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from core.types import Quote
from workers.batcher import Batcher, BatchPath
from workers.publisher import Publisher

pytestmark = pytest.mark.unit


def quote(i: int, symbol: str = "BTC-USD") -> Quote:
    return Quote("kraken", symbol, 100.0 + i, 1.0, 101.0 + i, 1.0, i, None, i)


class Broker:
    """The Publisher's send seam: refuses everything while `down`, records what it took."""

    def __init__(self) -> None:
        self.down = False
        self.taken: list[tuple[str, list[Any], list[Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, path: str, rows: list[Any], depth_rows: list[Any]) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        with self.lock:
            self.taken.append((path, rows, depth_rows))

    def rows(self, path: str) -> list[Any]:
        with self.lock:
            return [row for p, rows, _ in self.taken if p == path for row in rows]


def wait(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def start(broker: Broker, capacity: int = 1000) -> Publisher:
    batcher = Batcher([BatchPath("arbitrage", 0.01, 500, coalesce=True, depths=True),
                       BatchPath("storage", 0.01, 3)])
    publisher = Publisher(broker, batcher, capacity=capacity)
    publisher.start()
    return publisher


def test_held_batches_go_out_in_order_once_the_broker_is_back() -> None:
    broker = Broker()
    publisher = start(broker)
    broker.down = True
    for i in range(30):
        publisher.put([quote(i)])
        time.sleep(0.003)
    wait(lambda: publisher.buffer_batches >= 5)  # batching went on while nothing was sent
    assert broker.taken == [] and publisher.failed_sends >= 1
    assert publisher.buffer_quotes >= 30  # storage rows, plus the merged arbitrage batch
    broker.down = False
    wait(lambda: publisher.buffer_batches == 0)
    publisher.stop()
    publisher.join(timeout=10)
    assert broker.rows("storage") == [tuple(quote(i)) for i in range(30)]  # all, once, in order
    assert broker.rows("arbitrage")[-1] == tuple(quote(29))
    assert publisher.dropped_batches == 0


def test_held_arbitrage_batches_merge_to_the_newest_quote_per_series() -> None:
    broker = Broker()
    publisher = start(broker)
    broker.down = True
    for i in range(20):
        publisher.put([quote(i, "BTC-USD"), quote(100 + i, "ETH-USD")])
        time.sleep(0.005)
    wait(lambda: publisher.failed_sends >= 1)
    held_arbitrage = [b for b in list(publisher._held) if b[0] == "arbitrage"]
    assert len(held_arbitrage) == 1  # one merged batch, however long the outage
    broker.down = False
    wait(lambda: publisher.buffer_batches == 0)
    publisher.stop()
    publisher.join(timeout=10)
    arbitrage = broker.taken[[p for p, _, _ in broker.taken].index("arbitrage")]
    assert sorted(arbitrage[1]) == sorted([tuple(quote(19, "BTC-USD")),
                                           tuple(quote(119, "ETH-USD"))])


def test_a_full_buffer_drops_the_oldest_storage_batches_and_counts_them() -> None:
    broker = Broker()
    publisher = start(broker, capacity=4)
    broker.down = True
    for i in range(30):  # 10 storage batches of 3 quotes
        publisher.put([quote(i)])
    wait(lambda: publisher.dropped_batches == 6)
    broker.down = False
    wait(lambda: publisher.buffer_batches == 0)
    publisher.stop()
    publisher.join(timeout=10)
    assert publisher.dropped_quotes == 18
    assert broker.rows("storage") == [tuple(quote(i)) for i in range(18, 30)]  # the newest kept


def test_stop_while_the_broker_is_down_sends_once_it_returns() -> None:
    broker = Broker()
    publisher = start(broker)
    broker.down = True
    publisher.put([quote(i) for i in range(5)])
    publisher.stop()
    time.sleep(0.5)
    assert publisher.is_alive()  # still holding, still trying
    broker.down = False
    publisher.join(timeout=15)
    assert not publisher.is_alive()
    assert broker.rows("storage") == [tuple(quote(i)) for i in range(5)]


def test_the_feed_status_says_how_full_the_buffer_is() -> None:
    from workers.status import aggregate

    broker = Broker()
    publisher = start(broker, capacity=50)
    broker.down = True
    publisher.put([quote(i) for i in range(9)])
    wait(lambda: publisher.buffer_batches >= 3)
    status = aggregate("kraken", [], publisher, "ws://example").to_event()
    assert status["buffer_capacity"] == 50
    assert status["buffer_batches"] == publisher.buffer_batches >= 3
    assert status["buffer_quotes"] >= 9 and status["buffer_dropped"] == 0
    broker.down = False
    wait(lambda: publisher.buffer_batches == 0)
    assert aggregate("kraken", [], publisher, "ws://example").to_event()["buffer_batches"] == 0
    publisher.stop()
    publisher.join(timeout=10)


def test_a_huge_venue_error_is_bounded_in_the_status() -> None:
    from types import SimpleNamespace

    from workers.status import LAST_ERROR_CHARS, aggregate

    adapter = SimpleNamespace(errors={"venue_error": 1}, markets={})
    feed = SimpleNamespace(adapter=adapter, last_error="<b>" + "x" * 100_000, status=lambda: {
        "state": "connected", "connected_since_ns": 1, "last_message_ns": 2, "messages": 1,
        "quotes": 0, "reconnects": 0, "markets": 0, "lag_ns": -1, "resyncs": 0,
        "clock_skew": 0, "last_resync_ns": 0})
    publisher = Publisher(Broker())
    status = aggregate("kraken", [feed], publisher, "ws://x").to_event()  # type: ignore[list-item]
    assert len(status["last_error"]) == LAST_ERROR_CHARS
    assert status["last_error"].startswith("<b>xx")
