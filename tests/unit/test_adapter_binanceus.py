"""Binance.US adapter: what differs from Binance (hosts, the REST-seeded depth path), the
recorded session replayed with its REST snapshots and checked against an independent book."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import on_connect, reconnect_reason, record
from tests.support.recorded import received, rest_body
from tests.support.seeded_replay import Delta, TopCheck, replay
from workers.exchanges import get_adapter
from workers.exchanges.binance import BinanceAdapter
from workers.exchanges.binanceus import BinanceUsAdapter
from workers.exchanges.events import RestRequest

pytestmark = pytest.mark.unit

BTC_USD = Market(symbol="BTC-USD", native="btcusd", base="BTC", quote="USD")
ETH_USDT = Market(symbol="ETH-USDT", native="ethusdt", base="ETH", quote="USDT")
SNAPSHOT_URL = "https://api.binance.us/api/v3/depth?symbol=BTCUSD&limit=1000"
RECORDED = ("crvusdt", "compusdt", "omgbusd", "zrxusdt")


def depth(first: Any, last: Any, bids: Any = (), asks: Any = (), s: str = "BTCUSD",
          e_ms: Any = 1_767_225_601_000) -> str:
    """A combined-stream `@depth@100ms` diff in the documented shape (made-up values)."""
    data = {"e": "depthUpdate", "E": e_ms, "s": s, "U": first, "u": last,
            "b": [list(x) for x in bids] if isinstance(bids, tuple) else bids,
            "a": [list(x) for x in asks] if isinstance(asks, tuple) else asks}
    return json.dumps({"stream": f"{s.lower()}@depth@100ms", "data": data})


def snapshot(last_id: Any = 100, bids: Any = (("64000.00", "1.5"), ("63990.00", "2")),
             asks: Any = (("64010.00", "0.5"), ("64020.00", "3"))) -> str:
    """A `GET /api/v3/depth` body (made-up values)."""
    return json.dumps({"lastUpdateId": last_id, "bids": [list(x) for x in bids],
                       "asks": [list(x) for x in asks]})


@pytest.fixture()
def adapter() -> BinanceUsAdapter:
    return BinanceUsAdapter([BTC_USD, ETH_USDT])


def seeded(adapter: BinanceUsAdapter) -> list[Quote]:
    """The BTC-USD book seeded at 100 (one held delta, 95..100, is already in the snapshot)."""
    assert adapter.on_message(depth(95, 100), 1) == [RestRequest(SNAPSHOT_URL)]
    return record(adapter, adapter.on_rest(SNAPSHOT_URL, snapshot(), 2))


def test_binance_protocol_on_binance_us_hosts() -> None:
    assert get_adapter("binanceus") is BinanceUsAdapter and BinanceAdapter in BinanceUsAdapter.mro()
    assert BinanceUsAdapter.ws_url == "wss://stream.binance.us:9443/stream"
    assert BinanceUsAdapter.markets_url() == "https://api.binance.us/api/v3/exchangeInfo"
    assert BinanceUsAdapter.max_markets_per_connection == 512  # 1,024 streams, two a market
    assert BinanceUsAdapter.delta_books is False  # live: bookTicker, each frame stands alone
    assert BinanceUsAdapter([]).ping_message() is None


def test_subscribes_book_ticker_or_depth_diffs(adapter: BinanceUsAdapter) -> None:
    (frame,) = [json.loads(f) for f in adapter.subscribe_messages()]
    assert frame == {"method": "SUBSCRIBE", "id": 1, "params": [
        "btcusd@bookTicker", "btcusd@aggTrade", "ethusdt@bookTicker", "ethusdt@aggTrade"]}
    adapter.follow_depth = True
    (frame,) = [json.loads(f) for f in adapter.subscribe_messages()]
    assert frame["id"] == 2 and frame["params"] == [
        "btcusd@depth@100ms", "btcusd@aggTrade", "ethusdt@depth@100ms", "ethusdt@aggTrade"]


def test_parse_markets_on_the_recorded_exchange_info() -> None:
    markets = BinanceUsAdapter.parse_markets(rest_body("binanceus", "exchangeInfo"))
    by_native = {m.native: m for m in markets}
    assert len(markets) == 117
    assert by_native["btcusd"] == BTC_USD and by_native["ethusdt"] == ETH_USDT
    assert {m.quote for m in markets} == {"USD", "USDT", "USDC", "BUSD", "BTC"}
    assert {n for n in RECORDED} <= set(by_native)
    assert "xrpusd" not in by_native  # halted on Binance.US when recorded


def test_first_diff_asks_for_the_snapshot_which_seeds_it(adapter: BinanceUsAdapter) -> None:
    assert [(q.bid, q.ask_size) for q in seeded(adapter)] == [(64000.0, 0.5)]  # then 101...
    (quote,) = record(adapter, adapter.on_message(
        depth(101, 103, bids=(("64005.00", "0.7"),), e_ms=1_767_225_602_000), 3))
    assert quote == Quote("binanceus", "BTC-USD", 64005.0, 0.7, 64010.0, 0.5, None,
                          1_767_225_602_000_000_000, 3)
    # Size 0 deletes; a change deeper in the book moves nothing at the top.
    assert adapter.on_message(depth(104, 104, bids=(("63990.00", "0"),)), 4) == []
    (quote,) = record(adapter, adapter.on_message(
        depth(105, 106, asks=(("64010.00", "0.00000000"),)), 5))
    assert (quote.ask, quote.ask_size) == (64020.0, 3.0)
    assert not adapter.errors


def test_held_diffs_join_the_snapshot(adapter: BinanceUsAdapter) -> None:
    assert adapter.on_message(depth(90, 96, bids=(("1.00", "1"),)), 1) == [
        RestRequest(SNAPSHOT_URL)]
    # Held while the snapshot is on its way: 97..99 is in it, 100..101 straddles it.
    assert adapter.on_message(depth(97, 99, bids=(("2.00", "1"),)), 2) == []
    assert adapter.on_message(depth(100, 101, asks=(("64005.00", "0.25"),)), 3) == []
    quotes = record(adapter, adapter.on_rest(SNAPSHOT_URL, snapshot(last_id=99), 4))
    assert [(q.bid, q.ask, q.ask_size) for q in quotes] == [(64000.0, 64005.0, 0.25)]
    assert quotes[0].ts_exchange_ns is None  # a snapshot carries no time
    assert len(adapter.on_message(depth(102, 102, bids=(("64001.00", "1"),)), 5)) == 1
    assert not adapter.errors


def test_a_hole_after_the_snapshot_resyncs(adapter: BinanceUsAdapter) -> None:
    seeded(adapter)
    assert record(adapter, adapter.on_message(depth(101, 101), 3)) == []
    assert adapter.on_message(depth(99, 101), 4) == []  # already applied: dropped
    assert record(adapter, adapter.on_message(depth(103, 104), 5)) == []
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.errors == Counter({"sequence_gap": 1})
    # The new connection starts over: the next diff asks for a snapshot again.
    on_connect(adapter)
    assert adapter.on_message(depth(500, 501), 6) == [RestRequest(SNAPSHOT_URL)]
    # A snapshot older than every held diff joins none of them.
    assert record(adapter, adapter.on_rest(SNAPSHOT_URL, snapshot(last_id=100), 7)) == []
    assert reconnect_reason(adapter) == "sequence_gap"


@pytest.mark.parametrize("body", [
    "not json", "[]", '{"lastUpdateId": "100", "bids": [], "asks": []}',
    snapshot(bids=(("64000.00", "0"),)), '{"lastUpdateId": 100, "bids": [["1"]], "asks": []}',
])
def test_an_unreadable_snapshot_resyncs(adapter: BinanceUsAdapter, body: str) -> None:
    adapter.on_message(depth(95, 100), 1)
    assert record(adapter, adapter.on_rest(SNAPSHOT_URL, body, 2)) == []
    assert reconnect_reason(adapter) == "bad_snapshot"
    assert adapter.errors == Counter({"bad_snapshot": 1})


def test_unasked_snapshots_are_counted(adapter: BinanceUsAdapter) -> None:
    assert adapter.on_rest(SNAPSHOT_URL, snapshot(), 1) == []
    seeded(adapter)
    assert adapter.on_rest(SNAPSHOT_URL, snapshot(), 3) == []  # asked once, answered once
    on_connect(adapter)
    assert adapter.on_rest(SNAPSHOT_URL, snapshot(), 4) == []  # asked on the old connection
    assert adapter.errors == Counter({"unexpected_rest": 3})
    # Snapshots come from the REST base in use (a simulator's).
    adapter.rest_base = "http://127.0.0.1:9/binanceus"
    url = "http://127.0.0.1:9/binanceus/api/v3/depth?symbol=ETHUSDT&limit=1000"
    assert adapter.on_message(depth(1, 2, s="ETHUSDT"), 1) == [RestRequest(url)]
    assert len(record(adapter, adapter.on_rest(url, snapshot(last_id=2), 2))) == 1


@pytest.mark.parametrize("frame", [
    depth(5, 4),  # ids run backwards
    depth("1", 2), depth(1, 2.0), depth(1, 2, e_ms="soon"),
    depth(1, 2, bids=(("64000.00", "-1"),)), depth(1, 2, asks="none"),
    depth(1, 2, bids=[["64000.00", 1]]), depth(1, 2, s="SOLUSD"),  # not followed
])
def test_bad_diffs_are_counted_and_change_nothing(adapter: BinanceUsAdapter, frame: str) -> None:
    seeded(adapter)
    assert adapter.on_message(frame, 3) == []
    assert sum(adapter.errors.values()) == 1
    assert set(adapter.errors) < {"bad_field", "unknown_market"}
    assert len(adapter.on_message(depth(101, 101, bids=(("64001.00", "1"),)), 4)) == 1


def test_book_ticker_and_trades_are_binances(adapter: BinanceUsAdapter) -> None:
    trade = {"e": "aggTrade", "E": 1, "s": "BTCUSD", "p": "64003.00", "q": "0.1", "T": 1}
    ticker = {"u": 7, "s": "BTCUSD", "b": "64001.00", "B": "1", "a": "64002.00", "A": "2"}
    assert adapter.on_message(json.dumps({"stream": "btcusd@aggTrade", "data": trade}), 1) == []
    assert adapter.on_message(json.dumps({"stream": "btcusd@bookTicker", "data": ticker}), 2) == [
        Quote("binanceus", "BTC-USD", 64001.0, 1.0, 64002.0, 2.0, 64003.0, None, 2)]


def recorded_markets() -> list[Market]:
    markets = BinanceUsAdapter.parse_markets(rest_body("binanceus", "exchangeInfo"))
    return [m for m in markets if m.native in RECORDED]


def test_recorded_depth_matches_an_independent_book() -> None:
    adapter = BinanceUsAdapter(recorded_markets())
    symbols = {m.native.upper(): m.symbol for m in adapter.markets.values()}

    def delta_of(msg: dict[str, Any]) -> Delta | None:
        data = msg["data"]
        if data.get("e") != "depthUpdate":
            return None
        return symbols[data["s"]], data["U"], data["u"], data["b"], data["a"]

    check = TopCheck("binanceus", "lastUpdateId",
                     lambda url: symbols[url.split("symbol=")[1].split("&")[0]], delta_of)
    # bookTicker frames left out: every quote then comes from the seeded books.
    fetched = replay(adapter, "binanceus", lambda t: "@bookTicker" not in t, check)
    assert set(fetched.values()) == {1} and len(fetched) == len(RECORDED)
    assert set(check.checked) == set(symbols.values()) and sum(check.checked.values()) > 100
    assert not adapter.errors


def test_the_whole_recorded_session_reads_cleanly() -> None:
    adapter, kinds = BinanceUsAdapter(recorded_markets()), Counter[str]()
    replay(adapter, "binanceus", lambda _t: True,
           lambda _t, events: kinds.update(type(e).__name__ for e in events))
    assert kinds["RestRequest"] == len(RECORDED) and kinds["Quote"] > 50 and not adapter.errors
    assert sum(1 for _ in received("binanceus")) > 250
