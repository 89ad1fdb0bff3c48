"""Crypto.com Exchange v1 adapter: frames written from the documented shapes (made-up values; no
recording exists), the listing, heartbeats answered with `Send`, acks and coded errors, and the
delta book with its `u`/`pu` chain, checked against an independent little book."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.frames import by_name
from tests.support.sessions import simulated
from workers.exchanges.cryptocom import CryptocomAdapter
from workers.exchanges.events import Reconnect, Send, VenueError

pytestmark = pytest.mark.unit

BTC = Market("BTC-USDT", "BTC_USDT", "BTC", "USDT")
ETH = Market("ETH-EUR", "ETH_EUR", "ETH", "EUR")
T_MS = 1_767_225_600_482


def frame(channel: str, data: dict[str, Any], inst: str = "BTC_USDT") -> str:
    """A book push in the documented envelope."""
    return json.dumps({"id": -1, "method": "subscribe", "code": 0, "result": {
        "instrument_name": inst, "subscription": f"book.{inst}.10", "channel": channel,
        "depth": 10, "data": [data]}})


def snapshot(bids: list[list[str]], asks: list[list[str]], u: Any = 100,
             inst: str = "BTC_USDT") -> str:
    return frame("book", {"asks": asks, "bids": bids, "tt": T_MS - 1, "t": T_MS, "u": u}, inst)


def delta(bids: list[list[str]], asks: list[list[str]], u: Any, pu: Any,
          inst: str = "BTC_USDT") -> str:
    ms = T_MS + u if type(u) is int else T_MS
    return frame("book.update", {"update": {"asks": asks, "bids": bids}, "tt": ms, "t": ms,
                                 "u": u, "pu": pu}, inst)


def quotes(events: list[Any]) -> list[Quote]:
    return [e for e in events if type(e) is Quote]


@pytest.fixture()
def adapter() -> CryptocomAdapter:
    return CryptocomAdapter([BTC, ETH])


BIDS = [["64010.15", "0.2500", "1"], ["64009.00", "1.1000", "3"]]
ASKS = [["64012.40", "0.0500", "1"], ["64013.10", "0.8000", "2"]]


# --- the class, subscribing, keepalive -------------------------------------------------------


def test_subscribe_frames_ask_for_delta_books(adapter: CryptocomAdapter) -> None:
    (text,) = adapter.subscribe_messages()
    msg = json.loads(text)
    assert msg["method"] == "subscribe" and msg["id"] == 1 and type(msg["nonce"]) is int
    assert msg["params"] == {"channels": ["book.BTC_USDT.10", "book.ETH_EUR.10"],
                             "book_subscription_type": "SNAPSHOT_AND_UPDATE",
                             "book_update_frequency": 10}


def test_subscribe_frames_chunk_at_100_channels() -> None:
    markets = [Market(f"C{i}-USD", f"C{i}_USD", f"C{i}", "USD") for i in range(250)]
    frames = [json.loads(f) for f in CryptocomAdapter(markets).subscribe_messages()]
    assert [len(f["params"]["channels"]) for f in frames] == [100, 100, 50]
    assert [f["id"] for f in frames] == [1, 2, 3]


def test_heartbeat_is_answered_with_its_id(adapter: CryptocomAdapter) -> None:
    beat = '{"id": 1587523073344, "method": "public/heartbeat", "code": 0}'
    (reply,) = adapter.on_message(beat, 1)
    assert type(reply) is Send
    assert json.loads(reply.frame) == {"id": 1587523073344, "method": "public/respond-heartbeat"}
    assert adapter.on_message('{"id": "7", "method": "public/heartbeat", "code": 0}', 1) == []
    assert adapter.errors == {"bad_field": 1}
    assert adapter.ping_message() is None


# --- replies ---------------------------------------------------------------------------------


def test_acks_are_quiet(adapter: CryptocomAdapter) -> None:
    assert adapter.on_message('{"id": 1, "method": "subscribe", "code": 0}', 1) == []
    assert adapter.on_message('{"id": 2, "method": "unsubscribe", "code": 0}', 1) == []
    assert not adapter.errors


def test_errors_carry_code_and_message(adapter: CryptocomAdapter) -> None:
    text = '{"id": 1, "method": "subscribe", "code": 40003, "message": "INVALID_REQUEST"}'
    assert adapter.on_message(text, 1) == [VenueError("40003 INVALID_REQUEST")]
    error = '{"id": -1, "method": "ERROR", "code": 40001, "original": "x"}'
    assert adapter.on_message(error, 1) == [VenueError("40001")]
    assert adapter.errors == {"venue_error": 2}


def test_too_many_requests_ends_the_connection(adapter: CryptocomAdapter) -> None:
    text = '{"id": 1, "method": "subscribe", "code": 42901, "message": "TOO_MANY_REQUESTS"}'
    assert adapter.on_message(text, 1) == [VenueError("42901 TOO_MANY_REQUESTS"),
                                           Reconnect("rate_limited")]


BAD_FRAMES = [
    ("reply", '{"id": 3, "method": "public/get-book", "code": 0}', "unknown_event"),
    ("trade", '{"id": -1, "method": "subscribe", "code": 0, "result": {"channel": "trade",'
     ' "instrument_name": "BTC_USDT", "data": []}}', "unknown_channel"),
    ("no channel", '{"id": -1, "method": "subscribe", "code": 0, "result": {}}', "bad_field"),
    ("array", "[1]", "not_object"),
    ("cut", "{", "bad_json"),
]


@by_name(BAD_FRAMES)
def test_unusable_frames_are_counted(adapter: CryptocomAdapter, text: str, reason: str) -> None:
    assert (adapter.on_message(text, 1), adapter.errors) == ([], {reason: 1})


# --- the listing -----------------------------------------------------------------------------


def instrument(symbol: str, base: Any, quote: Any, **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "inst_type": "CCY_PAIR", "display_name": f"{base}/{quote}",
            "base_ccy": base, "quote_ccy": quote, "tradable": True, **extra}


def test_listing_keeps_tradable_spot_pairs() -> None:
    payload = {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": [
        instrument("BTC_USDT", "BTC", "USDT"),
        instrument("ETH_EUR", "ETH", "EUR"),
        instrument("CRO_USD", "CRO", "USD", tradable=False),
        instrument("BTCUSD-PERP", "BTC", "USD", inst_type="PERPETUAL_SWAP"),
        instrument("BTCUSD-260925", "BTC", "USD", inst_type="FUTURE"),
        instrument("btc_usd", "BTC", "USD"),
        instrument("SOL_USD", None, "USD"),
        {"symbol": "XRP_USD"},
        "not an object",
        instrument("BTC_USDT", "BTC", "USDT"),
    ]}}
    assert CryptocomAdapter.parse_markets(payload) == [BTC, ETH]


@pytest.mark.parametrize("payload", [
    {"code": 10001, "result": {"data": []}}, {"code": 0}, {"code": 0, "result": []},
    {"code": 0, "result": {"data": {}}}, [], None])
def test_a_payload_that_is_no_listing_is_a_value_error(payload: Any) -> None:
    with pytest.raises(ValueError):
        CryptocomAdapter.parse_markets(payload)


# --- the book --------------------------------------------------------------------------------


def test_snapshot_then_deltas(adapter: CryptocomAdapter) -> None:
    (q,) = quotes(adapter.on_message(snapshot(BIDS, ASKS), 5))
    assert q == Quote("cryptocom", "BTC-USDT", 64010.15, 0.25, 64012.4, 0.05, None,
                      (T_MS - 1) * 1_000_000, 5)
    # The best ask goes, a better bid comes: both from one delta.
    (q,) = quotes(adapter.on_message(
        delta([["64011.00", "0.3000", "1"]], [["64012.40", "0", "0"]], u=130, pu=100), 6))
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (64011.0, 0.3, 64013.1, 0.8)
    assert q.ts_exchange_ns == (T_MS + 130) * 1_000_000
    # An empty delta (the 5 s heartbeat of a quiet book) still moves the sequence.
    assert adapter.on_message(delta([], [], u=131, pu=130), 7) == []
    assert quotes(adapter.on_message(delta([], [["64013.10", "0.5000", "1"]], 140, 131), 8))
    assert not adapter.errors


def test_a_broken_chain_resyncs(adapter: CryptocomAdapter) -> None:
    adapter.on_message(snapshot(BIDS, ASKS), 1)
    events = adapter.on_message(delta([["64011.00", "1", "1"]], [], u=150, pu=120), 2)
    assert events == [Reconnect("sequence_gap")]
    assert adapter.errors == {"sequence_gap": 1}


def test_sequences_may_be_digit_strings(adapter: CryptocomAdapter) -> None:
    adapter.on_message(snapshot(BIDS, ASKS, u="100"), 1)
    assert quotes(adapter.on_message(delta([["64011.00", "1", "1"]], [], u="101", pu="100"), 2))
    assert adapter.on_message(delta([], [], u="1e3", pu="101"), 3) == []
    assert adapter.errors == {"bad_field": 1}


def test_delta_before_snapshot_resyncs_and_unknown_market(adapter: CryptocomAdapter) -> None:
    # The snapshot was lost (the subscription's first frame): only a new one rebuilds it.
    assert adapter.on_message(delta(BIDS, ASKS, u=2, pu=1), 1) == [Reconnect("sequence_gap")]
    assert adapter.on_message(snapshot(BIDS, ASKS, inst="DOGE_USD"), 1) == []
    assert adapter.errors == {"no_snapshot": 1, "unknown_market": 1}


def test_a_crossing_delta_resyncs_once(adapter: CryptocomAdapter) -> None:
    adapter.on_message(snapshot(BIDS, ASKS), 1)
    crossing = delta([["64020.00", "1", "1"]], [], u=101, pu=100)
    assert adapter.on_message(crossing, 2) == [Reconnect("crossed_book")]


def test_a_new_connection_needs_a_new_snapshot(adapter: CryptocomAdapter) -> None:
    adapter.on_message(snapshot(BIDS, ASKS), 1)
    adapter.on_connect()
    assert adapter.on_message(delta([["64011.00", "1", "1"]], [], u=101, pu=100), 2) == [
        Reconnect("sequence_gap")]
    assert adapter.errors == {"no_snapshot": 1}
    assert quotes(adapter.on_message(snapshot(BIDS, ASKS), 3))  # the same top is sent again


@pytest.mark.parametrize("level", [["0", "1", "1"], ["-5", "1", "1"], ["1", "-1", "1"],
                                   [1.0, "1", "1"], ["nan", "1", "1"], ["1"], "1,1"])
def test_a_bad_level_drops_the_frame(adapter: CryptocomAdapter, level: Any) -> None:
    assert adapter.on_message(snapshot([level], ASKS), 1) == []
    assert adapter.errors == {"bad_field": 1}


# --- a session checked against an independent book ----------------------------------------


def test_simulated_session_matches_an_independent_book() -> None:
    markets, frames = simulated("cryptocom", 300)
    adapter = CryptocomAdapter(markets)
    symbols = {m.native: m.symbol for m in markets}
    books: dict[str, tuple[dict[float, float], dict[float, float]]] = {}
    expected: list[tuple[str, float, float, float, float]] = []
    got: list[tuple[str, float, float, float, float]] = []
    for text in frames:
        got += [(q.symbol, q.bid, q.bid_size, q.ask, q.ask_size)
                for q in quotes(adapter.on_message(text, 1))]
        result = json.loads(text).get("result")
        if result is None:
            continue
        (data,) = result["data"]
        native = result["instrument_name"]
        if result["channel"] == "book":
            books[native] = ({}, {})
            levels = data
        else:
            levels = data["update"]
        for side, key in zip(books[native], ("bids", "asks"), strict=True):
            for price, size, _ in levels[key]:
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
        bids, asks = books[native]
        if bids and asks:
            top = (symbols[native], max(bids), bids[max(bids)], min(asks), asks[min(asks)])
            if not expected or expected[-1] != top:
                expected.append(top)
    assert len(got) > 250 and got == expected
    assert not adapter.errors
