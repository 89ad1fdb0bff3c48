"""Depth through the Batcher and the Publisher: coalesced on the arbitrage path, never stored,
sent as the `books` keyword only when there is some."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core.types import Depth, Quote
from workers.batcher import Batch, Batcher, BatchPath
from workers.publisher import Publisher, depth_row

pytestmark = pytest.mark.unit


def quote(i: int, exchange: str = "kraken", symbol: str = "BTC-USD") -> Quote:
    return Quote(exchange, symbol, 100.0 + i, 1.0, 101.0 + i, 1.0, None, None, i)


def book(ts_ns: int, exchange: str = "coinbase", symbol: str = "BTC-USD",
         bid: float = 100.0) -> Depth:
    return Depth(exchange, symbol, ((bid, 1.0), (bid - 1, 2.5)), ((bid + 1, 0.5),), ts_ns)


def test_arbitrage_path_keeps_the_newest_depth_per_series() -> None:
    batcher = Batcher.default()
    batcher.add([], 0.0, [book(5), book(3, bid=90.0), book(4, "gemini"),
                          book(6, symbol="ETH-USD")])
    batcher.add([quote(1)], 0.001, [book(9, bid=95.0), book(7, bid=80.0)])
    (arb,) = batcher.due(0.020)
    assert arb.path == "arbitrage" and arb.quotes == [quote(1)]
    # Newest by ts_ns wins, whatever the order they came in.
    assert sorted(arb.depths) == sorted([book(9, bid=95.0), book(4, "gemini"),
                                         book(6, symbol="ETH-USD")])
    (storage,) = batcher.due(0.251)  # its first quote came at 0.001
    assert storage == Batch("storage", [quote(1)], [])


def test_a_batch_may_carry_depth_and_no_quotes() -> None:
    batcher = Batcher.default()
    assert batcher.add([], 10.0, [book(1)]) == []
    assert batcher.next_deadline() == pytest.approx(10.020)  # depth alone starts the clock
    assert batcher.due(10.019) == []
    assert batcher.due(10.020) == [Batch("arbitrage", [], [book(1)])]
    assert batcher.next_deadline() is None  # storage never saw it
    assert batcher.drain() == []


def test_storage_never_gets_depth() -> None:
    storage = BatchPath("storage", 0.25, 3)
    batcher = Batcher([storage])
    assert batcher.add([], 0.0, [book(i) for i in range(10)]) == []
    assert storage.pending == 0 and batcher.drain() == []
    ready = batcher.add([quote(1), quote(2), quote(3)], 0.0, [book(11)])
    assert ready == [Batch("storage", [quote(1), quote(2), quote(3)], [])]


def test_depth_counts_towards_the_size_limit_and_rides_with_its_quote() -> None:
    batcher = Batcher([BatchPath("arbitrage", 60.0, 3, coalesce=True, depths=True)])
    assert batcher.add([quote(1)], 0.0) == []
    # One frame's depth and quote: the quote fills the batch, which carries that depth too.
    (ready,) = batcher.add([quote(2, "coinbase")], 0.0, [book(2)])
    assert ready == Batch("arbitrage", [quote(1), quote(2, "coinbase")], [book(2)])
    # Depth alone can fill a batch.
    assert batcher.add([], 0.0, [book(3), book(4, "gemini")]) == []
    (ready,) = batcher.add([], 0.0, [book(5, "bitstamp")])
    assert sorted(d.exchange for d in ready.depths) == ["bitstamp", "coinbase", "gemini"]
    assert ready.quotes == []


def test_depth_row_is_the_wire_form_from_row_reads() -> None:
    depth = book(1_767_225_600_000_000_123)
    row = depth_row(depth)
    assert row == ["coinbase", "BTC-USD", [[100.0, 1.0], [99.0, 2.5]], [[101.0, 0.5]],
                   1_767_225_600_000_000_123]
    assert Depth.from_row(row) == depth


class Capture:
    """A send function that records what it is given (and can fail a few times first)."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, list[Any], list[Any]]] = []
        self.failures = failures
        self.attempts = 0
        self.lock = threading.Lock()

    def __call__(self, path: str, rows: list[Any], depth_rows: list[Any]) -> None:
        with self.lock:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise ConnectionError("broker down")
            self.sent.append((path, rows, depth_rows))


def run_publisher(send: Capture, puts: list[tuple[list[Quote], list[Depth]]],
                  batcher: Batcher | None = None) -> Publisher:
    publisher = Publisher(send, batcher or Batcher.default())
    publisher.start()
    for quotes, depths in puts:
        publisher.put(quotes, depths)
    publisher.stop()
    publisher.join(timeout=10)
    assert not publisher.is_alive()
    return publisher


def test_publisher_sends_depth_rows_with_the_arbitrage_batch_only() -> None:
    send = Capture()
    publisher = run_publisher(send, [([quote(1)], [book(1)]), ([], [book(2, "gemini")]),
                                     ([quote(3)], [])])
    arbitrage = [(rows, depth_rows) for path, rows, depth_rows in send.sent
                 if path == "arbitrage"]
    storage = [(rows, depth_rows) for path, rows, depth_rows in send.sent if path == "storage"]
    assert sorted(row for _, depth_rows in arbitrage for row in depth_rows) == [
        depth_row(book(1)), depth_row(book(2, "gemini"))]
    assert [row for rows, _ in storage for row in rows] == [tuple(quote(1)), tuple(quote(3))]
    assert all(depth_rows == [] for _, depth_rows in storage)
    assert publisher.published_depths == 2 and publisher.published_quotes >= 3


def test_publisher_keeps_a_depth_only_batch_until_the_broker_takes_it() -> None:
    send = Capture(failures=2)
    publisher = Publisher(send, Batcher([BatchPath("arbitrage", 0.01, 500, coalesce=True,
                                                   depths=True)]))
    publisher.start()
    publisher.put([], [book(1)])
    deadline = time.monotonic() + 10
    while publisher.published_depths < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.stop()
    publisher.join(timeout=5)
    assert send.attempts == 3 and publisher.failed_sends == 2
    assert send.sent == [("arbitrage", [], [depth_row(book(1))])]
