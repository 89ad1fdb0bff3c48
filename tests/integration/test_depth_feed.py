"""Book depth end to end through a feed worker: the simulator's Coinbase book, read by a real
FeedGroup with BOOK_DEPTH 10, published as depth rows on the arbitrage path only, each equal to
a state of the book an independent client kept from the same feed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from core.types import Depth, Quote
from tests.support.feed import Recorder
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, connect, serve
from workers.batcher import Batcher
from workers.discovery import discover
from workers.exchanges import get_adapter
from workers.group import FeedGroup
from workers.publisher import Publisher

pytestmark = pytest.mark.integration

PRODUCTS = ["BTC-USD", "ETH-USD"]
CHANGES = 400
N = 10
Levels = tuple[tuple[float, float], ...]


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    yield from serve("--exchanges", "coinbase", "--symbols", ",".join(PRODUCTS),
                     "--count", str(CHANGES), "--rate", "200")


class Book:
    """The test's own book of one product, from the raw feed: Decimal price → size."""

    def __init__(self) -> None:
        self.sides: tuple[dict[Decimal, str], dict[Decimal, str]] = ({}, {})

    def apply(self, side: str, price: str, size: str) -> None:
        levels = self.sides[0 if side == "buy" else 1]
        if Decimal(size) == 0:
            del levels[Decimal(price)]  # the simulator only deletes levels it has sent
        else:
            levels[Decimal(price)] = size

    def best(self) -> tuple[Levels, Levels]:
        bids, asks = self.sides
        return (tuple((float(p), float(bids[p])) for p in sorted(bids, reverse=True)[:N]),
                tuple((float(p), float(asks[p])) for p in sorted(asks)[:N]))


def test_feed_worker_publishes_the_books_depth(sim: SimProcess) -> None:
    # An independent client subscribes first, so it sees every state the worker can see.
    raw = connect(sim.ws_url("coinbase"))
    raw.send(json.dumps({"type": "subscribe", "product_ids": PRODUCTS,
                         "channels": ["level2_batch"]}))
    recorder = Recorder()
    adapter_cls = get_adapter("coinbase")
    markets = discover(adapter_cls, f"{sim.http}/coinbase", PRODUCTS, threading.Event())
    publisher = Publisher(recorder.send, Batcher.default())
    publisher.start()
    group = FeedGroup(adapter_cls, markets, sim.ws_url("coinbase"), publisher,
                      send_events=recorder.send_events, depth_levels=N)
    assert [w.adapter.depth_levels for w in group.workers] == [N]
    books = {p: Book() for p in PRODUCTS}
    states: dict[str, set[tuple[Levels, Levels]]] = {p: set() for p in PRODUCTS}
    try:
        first = json.loads(raw.recv())
        assert first["type"] == "subscriptions"
        group.start()
        updates = 0
        raw.settimeout(15)
        while updates < CHANGES:
            frame = json.loads(raw.recv())
            if frame["type"] == "snapshot":
                assert frame["bids"] == [] and frame["asks"] == []  # nothing emitted yet
            elif frame["type"] == "l2update":
                product = frame["product_id"]
                for change in frame["changes"]:
                    books[product].apply(*change)
                states[product].add(books[product].best())
                updates += 1
        final = {p: books[p].best() for p in PRODUCTS}

        def published_final() -> bool:
            with recorder.lock:
                last = {row[1]: (Depth.from_row(row).bids, Depth.from_row(row).asks)
                        for _, row in recorder.depths}
            return last == final

        wait_for(published_final, 10, "the final book of both products published")
    finally:
        raw.close()
        group.stop()
        group.join()
        publisher.stop()
        publisher.join(timeout=10)

    with recorder.lock:
        published = list(recorder.depths)
        quotes = [Quote(*row) for row in recorder.quotes]
    assert {path for path, _ in published} == {"arbitrage"}  # storage never gets depth
    depths = [Depth.from_row(row) for _, row in published]
    assert len(depths) > 20
    last_ts: dict[str, int] = {}
    for depth in depths:
        assert depth.exchange == "coinbase" and depth.symbol in PRODUCTS
        # The simulated book is twenty levels deep: exactly the configured ten go out.
        assert len(depth.bids) == len(depth.asks) == N
        assert (depth.bids, depth.asks) in states[depth.symbol]
        bid_prices = [p for p, _ in depth.bids]
        ask_prices = [p for p, _ in depth.asks]
        assert bid_prices == sorted(bid_prices, reverse=True) and ask_prices == sorted(ask_prices)
        assert bid_prices[0] < ask_prices[0]
        # Batches go out in order, and each carries at most the newest depth per product.
        assert depth.ts_ns > last_ts.get(depth.symbol, 0)
        last_ts[depth.symbol] = depth.ts_ns
    # The last depth of each product agrees with its last quote's top of book.
    for product in PRODUCTS:
        quote = [q for q in quotes if q.symbol == product][-1]
        depth = [d for d in depths if d.symbol == product][-1]
        assert (depth.bids[0], depth.asks[0]) == ((quote.bid, quote.bid_size),
                                                  (quote.ask, quote.ask_size))
        assert depth.ts_ns >= quote.ts_received_ns
        assert abs(depth.ts_ns - time.time_ns()) < 120 * 10**9  # receipt time on our clock
