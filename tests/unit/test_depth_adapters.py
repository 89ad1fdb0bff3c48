"""Book depth from made-up frames: what each book-keeping adapter emits, when, and when not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.types import Depth, Market
from tests.support.adapter_events import (
    on_connect,
    on_message,
    reconnect_reason,
    seed_diff_book,
    take_depth,
)
from workers.exchanges.base import Adapter
from workers.exchanges.bitfinex import BitfinexAdapter
from workers.exchanges.bitstamp import BitstampAdapter
from workers.exchanges.bybit import BybitAdapter
from workers.exchanges.coinbase import CoinbaseAdapter
from workers.exchanges.gemini import GeminiAdapter
from workers.exchanges.kraken import KrakenAdapter
from workers.exchanges.okx import OkxAdapter

pytestmark = pytest.mark.unit

T1 = "2026-01-01T00:00:01.234567Z"
BTC_USD = Market("BTC-USD", "BTC-USD", "BTC", "USD")
ETH_USD = Market("ETH-USD", "ETH-USD", "ETH", "USD")

# Twelve levels a side around 64,000: bids 64010, 64009, ...; asks 64012, 64013, ...
BIDS = [(64010.0 - i, 1.0 + i / 10) for i in range(12)]
ASKS = [(64012.0 + i, 2.0 + i / 10) for i in range(12)]


def text(levels: list[tuple[float, float]]) -> list[list[str]]:
    return [[f"{p:.2f}", f"{s:.8f}"] for p, s in levels]


def deep(cls: type[Adapter], markets: list[Market], levels: int = 10) -> Adapter:
    adapter = cls(markets)
    adapter.depth_levels = levels
    return adapter


def depth(exchange: str, symbol: str, bids: list[tuple[float, float]],
          asks: list[tuple[float, float]], ts_ns: int, n: int = 10) -> Depth:
    """The Depth an independent reading expects: the best n of each side, best first."""
    return Depth(exchange, symbol, tuple(sorted(bids, reverse=True)[:n]),
                 tuple(sorted(asks)[:n]), ts_ns)


# --- Coinbase ------------------------------------------------------------------------------


def cb_snapshot(bids: Any = None, asks: Any = None, product: str = "BTC-USD") -> str:
    return json.dumps({"type": "snapshot", "product_id": product,
                       "bids": text(BIDS) if bids is None else bids,
                       "asks": text(ASKS) if asks is None else asks})


def cb_update(*changes: tuple[str, str, str], product: str = "BTC-USD") -> str:
    return json.dumps({"type": "l2update", "product_id": product,
                       "changes": [list(c) for c in changes], "time": T1})


def test_coinbase_snapshot_gives_the_best_ten_levels_stamped_on_receipt() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD, ETH_USD])
    assert len(on_message(adapter, cb_snapshot(), 111)) == 1
    assert take_depth(adapter) == [depth("coinbase", "BTC-USD", BIDS, ASKS, 111)]
    assert take_depth(adapter) == []  # drained


def test_coinbase_depth_follows_the_ten_levels_and_only_them() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD])
    on_message(adapter, cb_snapshot(), 1)
    take_depth(adapter)
    bids, asks = list(BIDS), list(ASKS)
    # The 11th bid changes: not among the published levels, so nothing at all.
    assert on_message(adapter, cb_update(("buy", "64000.00", "9.5")), 2) == []
    assert take_depth(adapter) == []
    bids[10] = (64000.0, 9.5)
    # The 5th ask changes: a Depth, and no Quote since the top did not move.
    assert on_message(adapter, cb_update(("sell", "64016.00", "7.25")), 3) == []
    asks[4] = (64016.0, 7.25)
    assert take_depth(adapter) == [depth("coinbase", "BTC-USD", bids, asks, 3)]
    # A level inside the ten is deleted: the 11th moves up into view.
    assert on_message(adapter, cb_update(("buy", "64005.00", "0")), 4) == []
    del bids[5]
    (got,) = take_depth(adapter)
    assert got == depth("coinbase", "BTC-USD", bids, asks, 4)
    assert got.bids[-1] == (64000.0, 9.5)
    # The top moves: a Quote and a Depth from the same frame.
    (quote,) = on_message(adapter, cb_update(("buy", "64011.00", "0.5")), 5)
    bids.insert(0, (64011.0, 0.5))
    (got,) = take_depth(adapter)
    assert got == depth("coinbase", "BTC-USD", bids, asks, 5)
    assert got.bids[0] == (quote.bid, quote.bid_size) and got.asks[0] == (quote.ask,
                                                                          quote.ask_size)


def test_coinbase_crossed_book_emits_nothing_until_valid_and_reset_forgets() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD])
    on_message(adapter, cb_snapshot(), 1)
    (first,) = take_depth(adapter)
    # A bid above the best ask: crossed, so neither a quote nor a depth (and one resync asked).
    assert on_message(adapter, cb_update(("buy", "64013.00", "1")), 2) == []
    assert take_depth(adapter) == [] and reconnect_reason(adapter) == "crossed_book"
    # Deeper changes while crossed still publish nothing.
    assert on_message(adapter, cb_update(("sell", "64020.00", "3")), 3) == []
    assert take_depth(adapter) == []
    # Uncrossed again: the levels differ from the last Depth (one ask changed), so it goes out.
    assert on_message(adapter, cb_update(("buy", "64013.00", "0")), 4) == []
    asks = list(ASKS)
    asks[8] = (64020.0, 3.0)
    assert take_depth(adapter) == [depth("coinbase", "BTC-USD", BIDS, asks, 4)]
    # A reconnect forgets what was sent: the same book on the new connection goes out again.
    on_connect(adapter)
    on_message(adapter, cb_snapshot(), 5)
    assert take_depth(adapter) == [first._replace(ts_ns=5)]
    # ...but the same book once more on this connection does not.
    on_message(adapter, cb_snapshot(), 6)
    assert take_depth(adapter) == []


def test_coinbase_uncrossing_to_the_last_sent_levels_sends_nothing_new() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD])
    on_message(adapter, cb_snapshot(), 1)
    take_depth(adapter)
    on_message(adapter, cb_update(("buy", "64013.00", "1")), 2)
    assert on_message(adapter, cb_update(("buy", "64013.00", "0")), 3) == []
    assert take_depth(adapter) == []  # what was last sent is still the book


def test_coinbase_one_sided_book_has_no_depth() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD])
    assert on_message(adapter, cb_snapshot(asks=[]), 1) == []
    assert take_depth(adapter) == []
    assert len(on_message(adapter, cb_update(("sell", "64012.00", "2")), 2)) == 1
    (got,) = take_depth(adapter)
    assert got.asks == ((64012.0, 2.0),) and len(got.bids) == 10


def test_undrained_depth_keeps_the_newest_per_market() -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD, ETH_USD])
    on_message(adapter, cb_snapshot(), 1)
    on_message(adapter, cb_snapshot(product="ETH-USD"), 2)
    on_message(adapter, cb_update(("sell", "64016.00", "7.25")), 3)
    got = take_depth(adapter)
    assert [(d.symbol, d.ts_ns) for d in got] == [("BTC-USD", 3), ("ETH-USD", 2)]
    assert got[0].asks[4] == (64016.0, 7.25)


@pytest.mark.parametrize("levels", [1, 3])
def test_depth_levels_sets_how_many_levels(levels: int) -> None:
    adapter = deep(CoinbaseAdapter, [BTC_USD], levels)
    on_message(adapter, cb_snapshot(), 1)
    assert take_depth(adapter) == [depth("coinbase", "BTC-USD", BIDS, ASKS, 1, n=levels)]
    # A change below the kept levels is not news.
    on_message(adapter, cb_update(("sell", "64016.00", "7.25")), 2)
    assert take_depth(adapter) == []


def test_depth_off_by_default_and_quotes_unchanged() -> None:
    off = CoinbaseAdapter([BTC_USD])
    on = deep(CoinbaseAdapter, [BTC_USD])
    frames = [cb_snapshot(), cb_update(("sell", "64016.00", "7.25")),
              cb_update(("buy", "64011.00", "0.5")), cb_update(("buy", "64013.00", "1"))]
    for number, frame in enumerate(frames):
        assert on_message(off, frame, number) == on_message(on, frame, number)
        assert take_depth(off) == []
    assert off.depth_levels == 0 and off.errors == on.errors


def test_adapters_without_a_book_never_have_depth() -> None:
    adapter = deep(KrakenAdapter, [Market("BTC-USD", "BTC/USD", "BTC", "USD")])
    frame = {"channel": "ticker", "type": "update", "data": [{
        "symbol": "BTC/USD", "bid": 64010.1, "bid_qty": 0.5, "ask": 64010.2, "ask_qty": 1.5,
        "last": 64010.2, "volume": 1.0, "vwap": 1.0, "low": 1.0, "high": 1.0, "change": 1.0,
        "change_pct": 1.0}]}
    assert len(on_message(adapter, json.dumps(frame), 1)) == 1
    assert take_depth(adapter) == []


# --- Gemini --------------------------------------------------------------------------------


def gm_l2(changes: list[list[str]], full: bool = False) -> str:
    body: dict[str, Any] = {"type": "l2_updates", "symbol": "BTCUSD", "changes": changes}
    if full:
        body.update(trades=[], auction_events=[])
    return json.dumps(body)


def test_gemini_full_book_then_deeper_deltas() -> None:
    adapter = deep(GeminiAdapter, [Market("BTC-USD", "BTCUSD", "BTC", "USD")])
    changes = ([["buy", p, s] for p, s in text(BIDS)]
               + [["sell", p, s] for p, s in text(ASKS)])
    assert len(on_message(adapter, gm_l2(changes, full=True), 7)) == 1
    assert take_depth(adapter) == [depth("gemini", "BTC-USD", BIDS, ASKS, 7)]
    assert on_message(adapter, gm_l2([["buy", "64007.00", "4.5"]]), 8) == []
    bids = list(BIDS)
    bids[3] = (64007.0, 4.5)
    assert take_depth(adapter) == [depth("gemini", "BTC-USD", bids, ASKS, 8)]
    # Crossed by a delta: nothing, until a full book on a new connection.
    assert on_message(adapter, gm_l2([["sell", "64009.50", "1"]]), 9) == []
    assert take_depth(adapter) == [] and reconnect_reason(adapter) == "crossed_book"
    on_connect(adapter)
    on_message(adapter, gm_l2(changes, full=True), 10)
    assert take_depth(adapter) == [depth("gemini", "BTC-USD", BIDS, ASKS, 10)]


# --- Bitstamp ------------------------------------------------------------------------------


def bs_book(bids: Any = None, asks: Any = None, micros: str = "1767225600482913") -> str:
    return json.dumps({"data": {"timestamp": micros[:10], "microtimestamp": micros,
                                "bids": text(BIDS) if bids is None else bids,
                                "asks": text(ASKS) if asks is None else asks},
                       "channel": "order_book_btcusd", "event": "data"})


@pytest.fixture()
def bitstamp() -> BitstampAdapter:
    adapter = deep(BitstampAdapter, [Market("BTC-USD", "btcusd", "BTC", "USD")])
    assert isinstance(adapter, BitstampAdapter)
    return adapter


def test_bitstamp_full_book_frames_give_depth(bitstamp: BitstampAdapter) -> None:
    assert len(on_message(bitstamp, bs_book(), 21)) == 1
    assert take_depth(bitstamp) == [depth("bitstamp", "BTC-USD", BIDS, ASKS, 21)]
    # Same top, a deeper level moved: Depth only.
    asks = list(ASKS)
    asks[9] = (64021.0, 0.125)
    assert on_message(bitstamp, bs_book(asks=text(asks)), 22) == []
    assert take_depth(bitstamp) == [depth("bitstamp", "BTC-USD", BIDS, asks, 22)]
    # Beyond the ten levels: nothing.
    asks[11] = (64023.0, 8.0)
    assert on_message(bitstamp, bs_book(asks=text(asks)), 23) == []
    assert take_depth(bitstamp) == []
    # Crossed: counted, nothing published.
    crossed = [["64012.50", "1"], *text(BIDS)]
    assert on_message(bitstamp, bs_book(bids=crossed, asks=text(asks)), 24) == []
    assert take_depth(bitstamp) == [] and bitstamp.errors["crossed_book"] == 1


@pytest.mark.parametrize(
    "bids",
    [[*text(BIDS[:3]), ["64007.00"], *text(BIDS[4:])],  # a short level among the ten
     [*text(BIDS[:3]), ["64007.00", "-1"], *text(BIDS[4:])],  # a negative size
     [*text(BIDS[:3]), "64007.00,1", *text(BIDS[4:])],  # not a list
     [*text(BIDS[:3]), *text(BIDS[4:5]), *text(BIDS[3:4]), *text(BIDS[5:])]],  # out of order
    ids=["short", "negative", "string", "unordered"],
)
def test_bitstamp_unreadable_levels_drop_the_frame(bitstamp: BitstampAdapter,
                                                   bids: list[Any]) -> None:
    assert on_message(bitstamp, bs_book(bids=bids), 1) == []
    assert take_depth(bitstamp) == [] and bitstamp.errors == {"bad_field": 1}
    # Without depth only the top is read.
    plain = BitstampAdapter([Market("BTC-USD", "btcusd", "BTC", "USD")])
    assert len(on_message(plain, bs_book(bids=bids), 1)) == 1


def test_bitstamp_diff_books_give_depth(bitstamp: BitstampAdapter) -> None:
    snapshot = {"timestamp": "1767225600", "microtimestamp": "1767225600000000",
                "bids": text(BIDS), "asks": text(ASKS)}
    assert len(seed_diff_book(bitstamp, "btcusd", snapshot, 5)) == 1
    assert take_depth(bitstamp) == [depth("bitstamp", "BTC-USD", BIDS, ASKS, 5)]
    diff = {"data": {"timestamp": "1767225601", "microtimestamp": "1767225601000000",
                     "bids": [["64002.00", "0.00000000"]], "asks": []},
            "channel": "diff_order_book_btcusd", "event": "data"}
    assert on_message(bitstamp, json.dumps(diff), 6) == []
    bids = [b for b in BIDS if b[0] != 64002.0]
    assert take_depth(bitstamp) == [depth("bitstamp", "BTC-USD", bids, ASKS, 6)]


# --- OKX, Bybit, Bitfinex: deep books publish, one-level books do not ----------------------


def test_okx_book_channel_gives_depth_only_with_a_good_checksum() -> None:
    adapter = deep(OkxAdapter, [Market("BTC-USDT", "BTC-USDT", "BTC", "USDT")], 2)

    def books(action: str, bids: list[list[str]], asks: list[list[str]], **extra: Any) -> str:
        return json.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action,
                           "data": [{"bids": bids, "asks": asks, "ts": "1767225600123",
                                     **extra}]})

    bids = [["64010.1", "1", "0", "1"], ["64010", "2", "0", "1"], ["64009", "3", "0", "1"]]
    asks = [["64010.2", "4", "0", "1"], ["64011", "5", "0", "1"]]
    assert len(on_message(adapter, books("snapshot", bids, asks), 3)) == 1
    assert take_depth(adapter) == [Depth("okx", "BTC-USDT", ((64010.1, 1.0), (64010.0, 2.0)),
                                          ((64010.2, 4.0), (64011.0, 5.0)), 3)]
    assert on_message(adapter, books("update", [["64010", "2.5", "0", "1"]], [],
                                    checksum=12345), 4) == []
    assert take_depth(adapter) == [] and reconnect_reason(adapter) == "checksum_mismatch"


def bybit_book(depth_topic: str, u: int, b: list[list[str]], a: list[list[str]]) -> str:
    return json.dumps({"topic": f"orderbook.{depth_topic}.BTCUSDT", "ts": 1767225600123,
                       "type": "snapshot", "data": {"s": "BTCUSDT", "b": b, "a": a, "u": u,
                                                    "seq": 1}, "cts": 1767225600120})


def test_bybit_depth_only_for_books_deeper_than_one_level() -> None:
    adapter = deep(BybitAdapter, [Market("BTC-USDT", "BTCUSDT", "BTC", "USDT")])
    top = bybit_book("1", 5, [["64010.10", "0.5"]], [["64010.20", "1.5"]])
    assert len(on_message(adapter, top, 1)) == 1
    assert take_depth(adapter) == []  # level 1 is the quote itself
    on_connect(adapter)
    book = bybit_book("50", 6, [["64010.10", "0.5"], ["64009", "2"]], [["64010.20", "1.5"]])
    assert len(on_message(adapter, book, 2)) == 1
    assert take_depth(adapter) == [Depth("bybit", "BTC-USDT", ((64010.1, 0.5), (64009.0, 2.0)),
                                          ((64010.2, 1.5),), 2)]


def test_bitfinex_depth_only_for_books_deeper_than_one_level() -> None:
    adapter = deep(BitfinexAdapter, [Market("BTC-USD", "tBTCUSD", "BTC", "USD"),
                                     Market("BTC-USDT", "tBTCUST", "BTC", "USDT")])
    for chan, symbol, length in ((17, "tBTCUSD", "1"), (18, "tBTCUST", "25")):
        ack = {"event": "subscribed", "channel": "book", "chanId": chan, "symbol": symbol,
               "prec": "P0", "freq": "F0", "len": length, "pair": symbol[1:]}
        assert on_message(adapter, json.dumps(ack), 1) == []
    snapshot = [[64010.0, 2, 0.5], [64009.0, 1, 0.25], [64011.5, 1, -1.25]]
    assert len(on_message(adapter, json.dumps([17, snapshot[:1] + snapshot[2:]]), 2)) == 1
    assert take_depth(adapter) == []
    assert len(on_message(adapter, json.dumps([18, snapshot]), 3)) == 1
    assert take_depth(adapter) == [Depth("bitfinex", "BTC-USDT",
                                          ((64010.0, 0.5), (64009.0, 0.25)),
                                          ((64011.5, 1.25),), 3)]
