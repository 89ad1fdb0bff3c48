"""Gate.io adapter: book_ticker, trades and tickers in their documented shapes, bad input, the
real listing, and the recorded order_book_update session seeded by its REST snapshots and
checked against an independent book."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, reconnect_reason, record
from tests.support.recorded import rest_body
from tests.support.seeded_replay import Delta, TopCheck, replay
from workers.exchanges import get_adapter
from workers.exchanges.events import RestRequest
from workers.exchanges.gateio import GateioAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTC_USDT", base="BTC", quote="USDT")
ETH_BTC = Market(symbol="ETH-BTC", native="ETH_BTC", base="ETH", quote="BTC")
SNAPSHOT_URL = ("https://api.gateio.ws/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100"
                "&with_id=true")
T_MS = 1_767_225_601_234


def frame(channel: str, result: Any, event: str = "update", **extra: Any) -> str:
    return json.dumps({"time": T_MS // 1000, "time_ms": T_MS, "channel": channel,
                       "event": event, "result": result, **extra})


def ticker(b: Any = "64010.1", bq: Any = "0.5", a: Any = "64010.2", aq: Any = "1.25",
           u: Any = 48733182, s: Any = "BTC_USDT", t: Any = T_MS) -> str:
    """A `spot.book_ticker` update (made-up values)."""
    return frame("spot.book_ticker", {"t": t, "u": u, "s": s, "b": b, "B": bq, "a": a, "A": aq})


def update(first: Any, last: Any, bids: Any = (), asks: Any = (), s: str = "BTC_USDT") -> str:
    """A `spot.order_book_update` diff (made-up values)."""
    return frame("spot.order_book_update", {
        "t": T_MS, "e": "depthUpdate", "E": T_MS // 1000, "s": s, "U": first, "u": last,
        "b": [list(x) for x in bids] if isinstance(bids, tuple) else bids,
        "a": [list(x) for x in asks] if isinstance(asks, tuple) else asks})


def trade(price: Any = "64010.15", pair: str = "BTC_USDT") -> str:
    return frame("spot.trades", {"id": 1, "create_time": 1, "create_time_ms": "1000.5",
                                 "side": "buy", "currency_pair": pair, "amount": "0.1",
                                 "price": price})


def tickers(last: Any = "64009.9") -> str:
    return frame("spot.tickers", {"currency_pair": "BTC_USDT", "last": last,
                                  "lowest_ask": "64010.2", "highest_bid": "64010.1"})


def snapshot(book_id: Any = 100) -> str:
    return json.dumps({"id": book_id, "current": T_MS, "update": T_MS,
                       "asks": [["64012", "0.3"], ["64020", "1"]],
                       "bids": [["64000", "2"], ["63990", "1"]]})


@pytest.fixture()
def adapter() -> GateioAdapter:
    return GateioAdapter([BTC_USDT, ETH_BTC])


def test_class_attributes_and_keepalive(adapter: GateioAdapter) -> None:
    assert get_adapter("gateio") is GateioAdapter
    assert GateioAdapter.ws_url == "wss://api.gateio.ws/ws/v4/"
    assert GateioAdapter.markets_url() == "https://api.gateio.ws/api/v4/spot/currency_pairs"
    ping = json.loads(adapter.ping_message() or "")
    assert set(ping) == {"time", "channel"} and ping["channel"] == "spot.ping"
    assert GateioAdapter.watchdog_s > 2 * GateioAdapter.ping_interval_s
    # A pong (or any ack) is no quote and no error.
    pong = {"time": 1, "time_ms": 1000, "channel": "spot.pong", "event": "", "result": None}
    assert adapter.on_message(json.dumps(pong), 1) == []
    assert adapter.on_message(frame("spot.book_ticker", {"status": "success"}, "subscribe"),
                              1) == []
    assert not adapter.errors


def test_subscribe_messages(adapter: GateioAdapter) -> None:
    frames = [json.loads(f) for f in adapter.subscribe_messages()]
    assert [(f["channel"], f["event"], f["payload"]) for f in frames] == [
        ("spot.book_ticker", "subscribe", ["BTC_USDT", "ETH_BTC"]),
        ("spot.trades", "subscribe", ["BTC_USDT", "ETH_BTC"])]
    assert all(type(f["time"]) is int for f in frames)
    adapter.follow_depth = True
    frames = [json.loads(f) for f in adapter.subscribe_messages()]
    assert [(f["channel"], f["payload"]) for f in frames] == [
        ("spot.order_book_update", ["BTC_USDT", "100ms"]),
        ("spot.order_book_update", ["ETH_BTC", "100ms"]),
        ("spot.trades", ["BTC_USDT", "ETH_BTC"])]
    many = [Market(f"C{i}-USDT", f"C{i}_USDT", f"C{i}", "USDT") for i in range(150)]
    assert len(GateioAdapter(many).subscribe_messages()) == 4  # 100 pairs a frame


def test_parse_markets_on_the_recorded_listing() -> None:
    markets = GateioAdapter.parse_markets(rest_body("gateio", "currency_pairs"))
    by_native = {m.native: m for m in markets}
    assert len(markets) == 1408  # the `tradable` ones of 1,458
    assert by_native["BTC_USDT"] == BTC_USDT and by_native["ETH_BTC"] == ETH_BTC
    assert "ETH_SGD" not in by_native  # untradable when recorded
    assert {"QTUM3S_USDT", "HAI_ETH", "BTC_USDC"} <= set(by_native)


def test_parse_markets_skips_malformed_entries() -> None:
    def pair(native: Any, base: Any = "LTC", quote: Any = "USDT", status: str = "tradable"):
        return {"id": native, "base": base, "quote": quote, "trade_status": status}
    payload = [pair("BTC_USDT", "BTC"), pair("XRP_USDT", "XRP", status="sellable"),
               pair(None), pair("LTC/USDT"), pair("LTC_USDT", None), {"id": "A_B"}, None,
               pair("BTC_USDT", "BTC")]
    assert GateioAdapter.parse_markets(payload) == [BTC_USDT]
    with pytest.raises(ValueError):
        GateioAdapter.parse_markets({"label": "INVALID"})


def test_book_ticker_quotes_with_its_time_and_the_last_trade(adapter: GateioAdapter) -> None:
    assert adapter.on_message(trade(), 1) == []
    assert record(adapter, adapter.on_message(ticker(), 2)) == [
        Quote("gateio", "BTC-USDT", 64010.1, 0.5, 64010.2, 1.25, 64010.15, T_MS * 10**6, 2)]
    assert adapter.on_message(ticker(u=48733183), 3) == []  # same top: nothing new
    assert len(adapter.on_message(ticker(u=48733184, aq="2"), 4)) == 1
    assert adapter.on_message(ticker(u=48733100, aq="3"), 5) == []
    assert adapter.errors == Counter({"stale_update": 1})
    on_connect(adapter)  # new connection, new ids
    assert len(adapter.on_message(ticker(u=5, aq="3"), 6)) == 1


def test_tickers_give_last_only_until_a_trade_does(adapter: GateioAdapter) -> None:
    assert adapter.on_message(tickers(), 1) == []
    assert record(adapter, adapter.on_message(ticker(), 2))[0].last == 64009.9
    adapter.on_message(trade("64011"), 3)
    adapter.on_message(tickers("64000"), 4)  # lags the trade: not taken
    assert record(adapter, adapter.on_message(ticker(u=48733190, bq="1"), 5))[0].last == 64011.0


def test_errors_reach_the_status(adapter: GateioAdapter) -> None:
    error = {"code": 2, "message": "unknown currency pair GIBBERISH_USD"}
    assert record(adapter, adapter.on_message(
        frame("spot.trades", None, "subscribe", error=error), 1)) == []
    assert last_error(adapter) == "2: unknown currency pair GIBBERISH_USD"
    assert adapter.errors == Counter({"venue_error": 1})


@pytest.mark.parametrize(("text", "reason"), [
    (ticker(b="64020", a="64010"), "crossed_book"),
    (ticker(b="0"), "bad_field"), (ticker(u="7"), "bad_field"), (ticker(t=1.5), "bad_field"),
    (ticker(s="SOL_USDT"), "unknown_market"), (trade(price=1), "bad_field"),
    (frame("spot.order_book", {}), "unknown_channel"), (frame("spot.tickers", {}, "all"),
                                                        "unknown_event"),
    (json.dumps({"event": "update"}), "bad_field"), (json.dumps([1]), "not_object"),
])
def test_bad_frames_are_counted(adapter: GateioAdapter, text: str, reason: str) -> None:
    assert adapter.on_message(text, 1) == []
    assert adapter.errors == Counter({reason: 1})


def test_order_book_updates_on_a_rest_snapshot(adapter: GateioAdapter) -> None:
    assert adapter.on_message(update(99, 101, bids=(("64001", "1"),)), 1) == [
        RestRequest(SNAPSHOT_URL)]
    quotes = record(adapter, adapter.on_rest(SNAPSHOT_URL, snapshot(100), 2))
    assert [(q.bid, q.bid_size, q.ask) for q in quotes] == [(64001.0, 1.0, 64012.0)]
    (quote,) = record(adapter, adapter.on_message(update(102, 102, asks=(("64012", "0"),)), 3))
    assert (quote.ask, quote.ask_size, quote.ts_exchange_ns) == (64020.0, 1.0, T_MS * 10**6)
    assert record(adapter, adapter.on_message(update(104, 105), 4)) == []
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.on_rest(SNAPSHOT_URL, "{}", 5) == []  # nobody asks now
    assert adapter.errors == Counter({"sequence_gap": 1, "unexpected_rest": 1})


def test_recorded_order_book_matches_an_independent_book() -> None:
    markets = GateioAdapter.parse_markets(rest_body("gateio", "currency_pairs"))
    pairs = {"INK_USDT", "NEO_BTC", "OMG_USDT", "QTUM3S_USDT", "HAI_ETH", "DIS_USDT",
             "FAST_USDT", "BTC_USDC", "NANO_USDT", "ZKS_ETH"}
    adapter = GateioAdapter([m for m in markets if m.native in pairs])
    symbols = {m.native: m.symbol for m in adapter.markets.values()}

    def delta_of(msg: dict[str, Any]) -> Delta | None:
        if (msg["channel"], msg["event"]) != ("spot.order_book_update", "update"):
            return None
        result = msg["result"]
        return symbols[result["s"]], result["U"], result["u"], result["b"], result["a"]

    check = TopCheck("gateio", "id",
                     lambda url: symbols[url.split("currency_pair=")[1].split("&")[0]], delta_of)
    fetched = replay(adapter, "gateio", lambda _t: True, check)
    assert set(fetched.values()) == {1} and len(fetched) == 9  # NANO_USDT's diffs came later
    assert set(check.checked) == set(check.book.books) and sum(check.checked.values()) > 40
    assert not adapter.errors
