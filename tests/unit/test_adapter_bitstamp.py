"""Bitstamp adapter: made-up frames in every documented shape, bad input, markets, subscriptions."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import pytest

from core.fees import DEFAULT_TAKER_FEES
from core.types import Market, Quote
from workers.exchanges import get_adapter
from workers.exchanges.bitstamp import BitstampAdapter

pytestmark = pytest.mark.unit

BTC_USD = Market(symbol="BTC-USD", native="btcusd", base="BTC", quote="USD")
ETH_EUR = Market(symbol="ETH-EUR", native="etheur", base="ETH", quote="EUR")
RECEIVED_NS = 1_767_225_600_500_000_123


def book(
    bids: Any = (("64010.15", "0.25000000"), ("64009.00", "1.10000000")),
    asks: Any = (("64012.40", "0.05000000"), ("64015.00", "0.80000000")),
    native: str = "btcusd",
    micro: Any = "1767225600482913",
) -> str:
    """An `order_book_*` data frame in the documented shape (made-up values)."""
    data: dict[str, Any] = {"timestamp": "1767225600", "microtimestamp": micro,
                            "bids": [list(level) for level in bids] if isinstance(bids, tuple)
                            else bids,
                            "asks": [list(level) for level in asks] if isinstance(asks, tuple)
                            else asks}
    if micro is None:
        del data["microtimestamp"]
    return json.dumps({"data": data, "channel": f"order_book_{native}", "event": "data"})


def trade(price_str: Any = "64011", price: Any = 64011.0, native: str = "btcusd") -> str:
    """A `live_trades_*` trade frame in the documented shape (made-up values)."""
    data: dict[str, Any] = {
        "id": 412345678, "timestamp": "1767225601", "amount": 0.0125, "amount_str": "0.01250000",
        "price": price, "price_str": price_str, "type": 0, "microtimestamp": "1767225601113000",
        "buy_order_id": 1830000000000001, "sell_order_id": 1830000000000002,
    }
    if price_str is None:
        del data["price_str"]
    return json.dumps({"data": data, "channel": f"live_trades_{native}", "event": "trade"})


@pytest.fixture()
def adapter() -> BitstampAdapter:
    return BitstampAdapter([BTC_USD, ETH_EUR])


# --- declarative surface -------------------------------------------------------------------


def test_class_attributes_and_registry() -> None:
    assert get_adapter("bitstamp") is BitstampAdapter
    assert BitstampAdapter.ws_url == "wss://ws.bitstamp.net"
    assert BitstampAdapter.markets_url() == "https://www.bitstamp.net/api/v2/trading-pairs-info/"
    assert BitstampAdapter.markets_url("http://127.0.0.1:9001/") == (
        "http://127.0.0.1:9001/api/v2/trading-pairs-info/"
    )
    assert BitstampAdapter.taker_fee == DEFAULT_TAKER_FEES["bitstamp"] == 0.004
    # The heartbeat reply is what keeps a quiet connection fed: the watchdog must outlast
    # at least two missed replies.
    assert BitstampAdapter.watchdog_s >= 2 * BitstampAdapter.ping_interval_s


def test_ping_message_is_the_heartbeat(adapter: BitstampAdapter) -> None:
    assert json.loads(adapter.ping_message() or "") == {"event": "bts:heartbeat"}


def test_subscribe_messages_one_channel_per_frame(adapter: BitstampAdapter) -> None:
    frames = adapter.subscribe_messages()
    assert [json.loads(f) for f in frames] == [
        {"event": "bts:subscribe", "data": {"channel": "order_book_btcusd"}},
        {"event": "bts:subscribe", "data": {"channel": "live_trades_btcusd"}},
        {"event": "bts:subscribe", "data": {"channel": "order_book_etheur"}},
        {"event": "bts:subscribe", "data": {"channel": "live_trades_etheur"}},
    ]
    assert all(len(f.encode()) < 512 for f in frames)


# --- parse_markets -------------------------------------------------------------------------


def pair(name: str, url_symbol: Any, trading: str = "Enabled", **extra: Any) -> dict[str, Any]:
    return {"name": name, "url_symbol": url_symbol, "base_decimals": 8, "counter_decimals": 2,
            "minimum_order": "10 USD", "trading": trading, "instant_and_market_orders": "Enabled",
            "description": "made up", **extra}


def test_parse_markets_keeps_enabled_and_skips_malformed() -> None:
    payload = [
        pair("BTC/USD", "btcusd"),
        pair("ETH/EUR", "etheur"),
        pair("XRP/USD", "xrpusd", trading="Disabled"),
        pair("BTCUSD", "btcusd2"),               # name without a slash
        pair("A/B/C", "abc"),                    # too many parts
        pair("LTC/USD", None),                   # no native symbol
        pair("LTC/USD", "LTCUSD"),               # upper case: Bitstamp rejects the channel
        pair("LTC/USD", "ltc_usd"),              # not alphanumeric
        pair("LTC/USD", "l" * 40),               # absurdly long channel name
        pair("BTC/USD", "btcusd"),               # duplicate native
        pair("BTC/USD", "btcusdperp", market_type="PERPETUAL"),
        {"url_symbol": "solusd", "trading": "Enabled"},  # no name
        {"name": "SOL/USD", "url_symbol": "solusd"},     # no trading flag
        pair(None, "dotusd"),                    # type: ignore[arg-type]
        ["not", "an", "object"],
        None,
        pair("sol/usd", "solusd"),               # lower-case name still normalizes
    ]
    assert BitstampAdapter.parse_markets(payload) == [
        Market("BTC-USD", "btcusd", "BTC", "USD"),
        Market("ETH-EUR", "etheur", "ETH", "EUR"),
        Market("SOL-USD", "solusd", "SOL", "USD"),
    ]


def test_parse_markets_newer_listing_shape() -> None:
    payload = [{"market_symbol": "btceur", "name": "BTC/EUR", "market_type": "SPOT",
                "trading": "Enabled"}]
    assert BitstampAdapter.parse_markets(payload) == [Market("BTC-EUR", "btceur", "BTC", "EUR")]


@pytest.mark.parametrize("payload", [None, {"data": []}, "btcusd", 3])
def test_parse_markets_rejects_a_payload_that_is_not_a_list(payload: Any) -> None:
    with pytest.raises(ValueError):
        BitstampAdapter.parse_markets(payload)


# --- order book and trades -----------------------------------------------------------------


def test_book_snapshot_gives_exact_quote(adapter: BitstampAdapter) -> None:
    quotes = adapter.on_message(book(), RECEIVED_NS)
    assert quotes == [
        Quote("bitstamp", "BTC-USD", 64010.15, 0.25, 64012.40, 0.05, None,
              1_767_225_600_482_913_000, RECEIVED_NS)
    ]
    # Exact integer µs → ns: a float detour would land 24 ns off for this very value.
    assert type(quotes[0].ts_exchange_ns) is int
    assert int(float(1767225600482913) * 1000) != 1_767_225_600_482_913_000
    assert not adapter.errors


def test_book_without_microtimestamp_has_no_exchange_time(adapter: BitstampAdapter) -> None:
    (quote,) = adapter.on_message(book(micro=None), RECEIVED_NS)
    assert quote.ts_exchange_ns is None
    assert quote.ts_ns == RECEIVED_NS


def test_only_a_changed_top_of_book_is_emitted(adapter: BitstampAdapter) -> None:
    assert len(adapter.on_message(book(), 1)) == 1
    # Same frame again, and a change below the top: nothing new at the top.
    assert adapter.on_message(book(), 2) == []
    deeper = book(bids=(("64010.15", "0.25000000"), ("63000.00", "9.0")))
    assert adapter.on_message(deeper, 3) == []
    # A size-only change at the top is a change.
    (quote,) = adapter.on_message(book(bids=(("64010.15", "0.30000000"),)), 4)
    assert (quote.bid, quote.bid_size, quote.ts_received_ns) == (64010.15, 0.3, 4)
    (quote,) = adapter.on_message(
        book(bids=(("64010.15", "0.30000000"),), asks=(("64012.00", "0.05"),)), 5
    )
    assert (quote.bid_size, quote.ask) == (0.3, 64012.0)
    # Tops are tracked per market.
    (quote,) = adapter.on_message(book(native="etheur"), 6)
    assert quote.symbol == "ETH-EUR"
    assert not adapter.errors


def test_trade_sets_last_for_its_market_only(adapter: BitstampAdapter) -> None:
    assert adapter.on_message(trade(price_str="64011.5", price=1.0), 1) == []
    (btc,) = adapter.on_message(book(), 2)
    (eth,) = adapter.on_message(book(native="etheur"), 3)
    assert btc.last == 64011.5  # price_str preferred over the float
    assert eth.last is None
    # A trade alone does not emit; the next top change carries the new last.
    assert adapter.on_message(trade(price_str=None, price=64020.25), 4) == []
    assert adapter.on_message(book(), 5) == []
    (btc,) = adapter.on_message(book(bids=(("64011", "1"),)), 6)
    assert btc.last == 64020.25
    assert not adapter.errors


def test_crossed_book_is_counted_and_skipped(adapter: BitstampAdapter) -> None:
    assert adapter.on_message(book(bids=(("64013", "1"),)), 1) == []
    assert adapter.on_message(book(bids=(("64012.40", "1"),)), 2) == []  # locked: bid == ask
    assert adapter.errors == Counter({"crossed_book": 2})
    # The skipped frames left no state behind: the next sane book is emitted.
    assert len(adapter.on_message(book(), 3)) == 1


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_empty_book_side_is_counted(adapter: BitstampAdapter, side: str) -> None:
    frame = book(**{side: []})
    assert adapter.on_message(frame, 1) == []
    assert adapter.errors == Counter({"empty_book": 1})


# --- control events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"event": "bts:subscription_succeeded", "channel": "order_book_btcusd", "data": {}},
        {"event": "bts:subscription_succeeded", "channel": "live_trades_fooxyz", "data": {}},
        {"event": "bts:unsubscription_succeeded", "channel": "order_book_btcusd", "data": {}},
        {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}},
    ],
)
def test_acks_and_heartbeat_reply_are_quiet(adapter: BitstampAdapter, frame: dict) -> None:
    assert adapter.on_message(json.dumps(frame), 1) == []
    assert not adapter.errors
    assert adapter.reconnect_reason is None


@pytest.mark.parametrize("data", [None, {}, "", [1]])
def test_request_reconnect_sets_flag_whatever_data(adapter: BitstampAdapter, data: Any) -> None:
    frame = {"event": "bts:request_reconnect", "channel": "", "data": data}
    assert adapter.on_message(json.dumps(frame), 1) == []
    assert adapter.reconnect_reason == "request_reconnect"
    assert not adapter.errors


def test_on_connect_resets_flag_and_tops(adapter: BitstampAdapter) -> None:
    adapter.on_message(trade(), 1)
    assert len(adapter.on_message(book(), 2)) == 1
    adapter.on_message('{"event":"bts:request_reconnect","channel":"","data":null}', 3)
    adapter.on_connect()
    assert adapter.reconnect_reason is None
    # Same top as before the reconnect: emitted again, since the new connection starts fresh;
    # the last trade price is still the last one.
    (quote,) = adapter.on_message(book(), 4)
    assert quote.last == 64011.0


def test_venue_error_is_counted_with_its_text(adapter: BitstampAdapter) -> None:
    frame = {"event": "bts:error", "channel": "",
             "data": {"code": None, "message": "Bad subscription string."}}
    assert adapter.on_message(json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert adapter.last_error == "Bad subscription string."
    adapter.on_message('{"event":"bts:error","channel":"","data":null}', 2)
    assert adapter.errors == Counter({"venue_error": 2})


@pytest.mark.parametrize("channel", ["diff_order_book_btcusd", "detail_order_book_btcusd"])
def test_other_book_channels_are_unknown(adapter: BitstampAdapter, channel: str) -> None:
    frame = json.loads(book())
    frame["channel"] = channel
    assert adapter.on_message(json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"unknown_channel": 1})


# --- bad input -----------------------------------------------------------------------------


def _with(frame: str, path: tuple[Any, ...], value: Any) -> str:
    """`frame` with the element at `path` replaced by `value` (or removed for `...`)."""
    doc = json.loads(frame)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc)


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("not json", "hello", "bad_json"),
    ("truncated", book()[:-7], "bad_json"),
    ("empty", "", "bad_json"),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, "bad_json"),
    ("array", "[1, 2]", "not_object"),
    ("number", "42", "not_object"),
    ("null", "null", "not_object"),
    ("string", '"order_book_btcusd"', "not_object"),
    ("unknown event", '{"event":"bts:surprise","channel":"","data":{}}', "unknown_event"),
    ("subscribe echo", '{"event":"bts:subscribe","data":{"channel":"x"}}', "unknown_event"),
    ("no event", '{"channel":"order_book_btcusd","data":{}}', "unknown_event"),
    ("event not a string", '{"event":["data"],"channel":"x"}', "bad_field"),
    ("unknown channel", _with(book(), ("channel",), "live_orders_btcusd"), "unknown_channel"),
    ("trade on book channel", _with(trade(), ("channel",), "order_book_btcusd"),
     "unknown_channel"),
    ("trade wrong channel", _with(trade(), ("channel",), "live_orders_btcusd"),
     "unknown_channel"),
    ("unknown market", book(native="dogeusd"), "unknown_market"),
    ("unknown market trade", trade(native="dogeusd"), "unknown_market"),
    ("no channel", _with(book(), ("channel",), ...), "bad_field"),
    ("channel number", _with(book(), ("channel",), 7), "bad_field"),
    ("no data", _with(book(), ("data",), ...), "bad_field"),
    ("data null", _with(book(), ("data",), None), "bad_field"),
    ("data list", _with(book(), ("data",), [1]), "bad_field"),
    ("data string", _with(book(), ("data",), "bids"), "bad_field"),
    ("no bids", _with(book(), ("data", "bids"), ...), "bad_field"),
    ("bids dict", _with(book(), ("data", "bids"), {"0": ["1", "1"]}), "bad_field"),
    ("level string", book(bids=["64010.15"]), "bad_field"),
    ("level short", book(bids=[["64010.15"]]), "bad_field"),
    ("level dict", book(asks=[{"price": "1", "size": "1"}]), "bad_field"),
    ("price abc", book(bids=[["abc", "1"]]), "bad_field"),
    ("price null", book(bids=[[None, "1"]]), "bad_field"),
    ("price list", book(asks=[[["64012"], "1"]]), "bad_field"),
    ("price number", book(asks=[[64012.4, "1"]]), "bad_field"),
    ("price bool", book(asks=[[True, "1"]]), "bad_field"),
    ("price nan", book(bids=[["NaN", "1"]]), "bad_field"),
    ("price inf", book(asks=[["inf", "1"]]), "bad_field"),
    ("price negative", book(bids=[["-64010", "1"]]), "bad_field"),
    ("price zero", book(bids=[["0", "1"]]), "bad_field"),
    ("size negative", book(asks=[["64012.4", "-0.5"]]), "bad_field"),
    ("size empty", book(asks=[["64012.4", ""]]), "bad_field"),
    ("micro abc", book(micro="abc"), "bad_field"),
    ("micro float", book(micro=1.5e15), "bad_field"),
    ("micro negative", book(micro="-5"), "bad_field"),
    ("micro list", book(micro=["1767225600482913"]), "bad_field"),
    ("trade price abc", trade(price_str="abc"), "bad_field"),
    ("trade price null", trade(price_str=None, price=None), "bad_field"),
    ("trade price bool", trade(price_str=None, price=True), "bad_field"),
    ("trade price negative", trade(price_str="-1"), "bad_field"),
    ("trade price list", trade(price_str=["1"]), "bad_field"),
    ("trade data null", _with(trade(), ("data",), None), "bad_field"),
    ("trade no price", _with(trade(price_str=None), ("data", "price"), ...), "bad_field"),
]


@pytest.mark.parametrize(("text", "reason"), [(t, r) for _, t, r in BAD_FRAMES],
                         ids=[name for name, _, _ in BAD_FRAMES])
def test_bad_frames_are_counted_by_reason(adapter: BitstampAdapter, text: str, reason: str) -> None:
    adapter.on_message(trade(price_str="64000"), 0)  # some state a bad frame must not disturb
    assert adapter.on_message(text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert adapter.reconnect_reason is None
    # A bad frame leaves the adapter usable and the last trade price intact.
    (quote,) = adapter.on_message(book(), 2)
    assert quote.last == 64000.0


def test_every_truncation_of_a_frame_is_bad_json(adapter: BitstampAdapter) -> None:
    frame = book()
    for end in range(len(frame)):
        assert adapter.on_message(frame[:end], end) == []
    assert adapter.errors == Counter({"bad_json": len(frame)})


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document."""
    paths = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            paths += _leaves(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            paths += _leaves(value, (*path, index))
    return paths


@pytest.mark.parametrize("base_frame", [book(), trade()], ids=["book", "trade"])
def test_any_value_swapped_for_any_type_never_raises(base_frame: str) -> None:
    replacements = [None, "abc", "", [], {}, True, -1, 0, 1e308, "NaN", ["x"], {"k": 1}]
    doc = json.loads(base_frame)
    for path in _leaves(doc):
        for value in replacements:
            fresh = BitstampAdapter([BTC_USD])
            mutated = copy.deepcopy(doc)
            node = mutated
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            out = fresh.on_message(json.dumps(mutated), 1)
            assert all(type(q) is Quote for q in out)
            # Every outcome is accounted for: a quote, a counted error, or a (valid) trade.
            assert out or fresh.errors or json.loads(base_frame)["event"] == "trade"
