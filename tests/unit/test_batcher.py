"""The two-path Batcher: size and age limits, coalescing, draining."""

from __future__ import annotations

import pytest

from core.types import Quote
from workers.batcher import Batcher, BatchPath

pytestmark = pytest.mark.unit


def quote(i: int, exchange: str = "kraken", symbol: str = "BTC-USD") -> Quote:
    return Quote(exchange, symbol, 100.0 + i, 1.0, 101.0 + i, 1.0, None, None, i)


def test_default_paths_follow_the_design() -> None:
    paths = {p.name: p for p in Batcher.default().paths}
    assert (paths["arbitrage"].max_age_s, paths["arbitrage"].max_size) == (0.020, 500)
    assert (paths["storage"].max_age_s, paths["storage"].max_size) == (0.250, 5000)
    assert paths["arbitrage"].coalesce and not paths["storage"].coalesce


def test_storage_flushes_at_5000_quotes_exactly() -> None:
    batcher = Batcher([BatchPath("storage", 0.25, 5000)])
    assert batcher.add([quote(i) for i in range(4999)], now=0.0) == []
    ready = batcher.add([quote(4999), quote(5000)], now=0.001)
    assert [(b.path, len(b.quotes)) for b in ready] == [("storage", 5000)]
    assert ready[0].quotes[0].ts_received_ns == 0 and ready[0].quotes[-1].ts_received_ns == 4999
    assert batcher.drain()[0].quotes == [quote(5000)]


def test_age_limit_counts_from_the_oldest_pending_quote() -> None:
    batcher = Batcher.default()
    batcher.add([quote(1)], now=10.0)
    assert batcher.next_deadline() == pytest.approx(10.020)
    assert batcher.due(10.019) == []
    due = batcher.due(10.020)
    assert [b.path for b in due] == ["arbitrage"]
    batcher.add([quote(2)], now=10.1)
    assert batcher.next_deadline() == pytest.approx(10.12)
    assert [(b.path, len(b.quotes)) for b in batcher.due(10.12)] == [("arbitrage", 1)]
    assert batcher.due(10.249) == []
    assert [(b.path, len(b.quotes)) for b in batcher.due(10.25)] == [("storage", 2)]
    assert batcher.next_deadline() is None


def test_arbitrage_path_keeps_newest_per_series_but_counts_all() -> None:
    path = BatchPath("arbitrage", 0.02, 500, coalesce=True)
    batcher = Batcher([path])
    batcher.add([quote(i) for i in range(10)] + [quote(3, "bitstamp")], now=0.0)
    assert path.pending == 11
    rows = batcher.due(1.0)[0].quotes
    assert sorted((q.exchange, q.ts_received_ns) for q in rows) == [("bitstamp", 3), ("kraken", 9)]


def test_arbitrage_path_flushes_at_500_added_quotes() -> None:
    batcher = Batcher([BatchPath("arbitrage", 0.02, 500, coalesce=True)])
    ready = batcher.add([quote(i) for i in range(500)], now=0.0)
    assert len(ready) == 1 and len(ready[0].quotes) == 1  # one series, coalesced


def test_drain_returns_only_non_empty_and_resets() -> None:
    batcher = Batcher.default()
    assert batcher.drain() == []
    batcher.add([quote(1)], now=0.0)
    assert [b.path for b in batcher.drain()] == ["arbitrage", "storage"]
    assert batcher.drain() == [] and batcher.next_deadline() is None
