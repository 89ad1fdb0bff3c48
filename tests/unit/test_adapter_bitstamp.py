"""Bitstamp adapter: made-up frames in every documented shape, bad input, markets, subscriptions."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, replaced
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
    quotes = on_message(adapter, book(), RECEIVED_NS)
    assert quotes == [
        Quote("bitstamp", "BTC-USD", 64010.15, 0.25, 64012.40, 0.05, None,
              1_767_225_600_482_913_000, RECEIVED_NS)
    ]
    # Exact integer µs → ns: a float detour would land 24 ns off for this very value.
    assert type(quotes[0].ts_exchange_ns) is int
    assert int(float(1767225600482913) * 1000) != 1_767_225_600_482_913_000
    assert not adapter.errors


def test_book_without_microtimestamp_has_no_exchange_time(adapter: BitstampAdapter) -> None:
    (quote,) = on_message(adapter, book(micro=None), RECEIVED_NS)
    assert quote.ts_exchange_ns is None
    assert quote.ts_ns == RECEIVED_NS


def test_only_a_changed_top_of_book_is_emitted(adapter: BitstampAdapter) -> None:
    assert len(on_message(adapter, book(), 1)) == 1
    # Same frame again, and a change below the top: nothing new at the top.
    assert on_message(adapter, book(), 2) == []
    deeper = book(bids=(("64010.15", "0.25000000"), ("63000.00", "9.0")))
    assert on_message(adapter, deeper, 3) == []
    # A size-only change at the top is a change.
    (quote,) = on_message(adapter, book(bids=(("64010.15", "0.30000000"),)), 4)
    assert (quote.bid, quote.bid_size, quote.ts_received_ns) == (64010.15, 0.3, 4)
    (quote,) = on_message(adapter,
        book(bids=(("64010.15", "0.30000000"),), asks=(("64012.00", "0.05"),)), 5
    )
    assert (quote.bid_size, quote.ask) == (0.3, 64012.0)
    # Tops are tracked per market.
    (quote,) = on_message(adapter, book(native="etheur"), 6)
    assert quote.symbol == "ETH-EUR"
    assert not adapter.errors


def test_trade_sets_last_for_its_market_only(adapter: BitstampAdapter) -> None:
    assert on_message(adapter, trade(price_str="64011.5", price=1.0), 1) == []
    (btc,) = on_message(adapter, book(), 2)
    (eth,) = on_message(adapter, book(native="etheur"), 3)
    assert btc.last == 64011.5  # price_str preferred over the float
    assert eth.last is None
    # A trade alone does not emit; the next top change carries the new last.
    assert on_message(adapter, trade(price_str=None, price=64020.25), 4) == []
    assert on_message(adapter, book(), 5) == []
    (btc,) = on_message(adapter, book(bids=(("64011", "1"),)), 6)
    assert btc.last == 64020.25
    assert not adapter.errors


def test_crossed_book_is_counted_and_skipped(adapter: BitstampAdapter) -> None:
    assert on_message(adapter, book(bids=(("64013", "1"),)), 1) == []
    assert on_message(adapter, book(bids=(("64012.40", "1"),)), 2) == []  # locked: bid == ask
    assert adapter.errors == Counter({"crossed_book": 2})
    # The skipped frames left no state behind: the next sane book is emitted.
    assert len(on_message(adapter, book(), 3)) == 1


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_empty_book_side_is_counted(adapter: BitstampAdapter, side: str) -> None:
    frame = book(**{side: []})
    assert on_message(adapter, frame, 1) == []
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
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors
    assert reconnect_reason(adapter) is None


@pytest.mark.parametrize("data", [None, {}, "", [1]])
def test_request_reconnect_sets_flag_whatever_data(adapter: BitstampAdapter, data: Any) -> None:
    frame = {"event": "bts:request_reconnect", "channel": "", "data": data}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) == "request_reconnect"
    assert not adapter.errors


def test_on_connect_resets_flag_and_tops(adapter: BitstampAdapter) -> None:
    on_message(adapter, trade(), 1)
    assert len(on_message(adapter, book(), 2)) == 1
    on_message(adapter, '{"event":"bts:request_reconnect","channel":"","data":null}', 3)
    on_connect(adapter)
    assert reconnect_reason(adapter) is None
    # Same top as before the reconnect: emitted again, since the new connection starts fresh;
    # the last trade price is still the last one.
    (quote,) = on_message(adapter, book(), 4)
    assert quote.last == 64011.0


def test_venue_error_is_counted_with_its_text(adapter: BitstampAdapter) -> None:
    frame = {"event": "bts:error", "channel": "",
             "data": {"code": None, "message": "Bad subscription string."}}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == "Bad subscription string."
    on_message(adapter, '{"event":"bts:error","channel":"","data":null}', 2)
    assert adapter.errors == Counter({"venue_error": 2})


@pytest.mark.parametrize("channel", ["diff_order_book_btcusd", "detail_order_book_btcusd"])
def test_other_book_channels_are_unknown(adapter: BitstampAdapter, channel: str) -> None:
    frame = json.loads(book())
    frame["channel"] = channel
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"unknown_channel": 1})


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("array", "[1, 2]", "not_object"),
    ("unknown event", '{"event":"bts:surprise","channel":"","data":{}}', "unknown_event"),
    ("subscribe echo", '{"event":"bts:subscribe","data":{"channel":"x"}}', "unknown_event"),
    ("no event", '{"channel":"order_book_btcusd","data":{}}', "unknown_event"),
    ("event not a string", '{"event":["data"],"channel":"x"}', "bad_field"),
    ("unknown channel", replaced(book(), ("channel",), "live_orders_btcusd"), "unknown_channel"),
    ("trade on book channel", replaced(trade(), ("channel",), "order_book_btcusd"),
     "unknown_channel"),
    ("trade wrong channel", replaced(trade(), ("channel",), "live_orders_btcusd"),
     "unknown_channel"),
    ("unknown market", book(native="dogeusd"), "unknown_market"),
    ("unknown market trade", trade(native="dogeusd"), "unknown_market"),
    ("no channel", replaced(book(), ("channel",), ...), "bad_field"),
    ("channel number", replaced(book(), ("channel",), 7), "bad_field"),
    ("no data", replaced(book(), ("data",), ...), "bad_field"),
    ("data null", replaced(book(), ("data",), None), "bad_field"),
    ("data list", replaced(book(), ("data",), [1]), "bad_field"),
    ("data string", replaced(book(), ("data",), "bids"), "bad_field"),
    ("no bids", replaced(book(), ("data", "bids"), ...), "bad_field"),
    ("bids dict", replaced(book(), ("data", "bids"), {"0": ["1", "1"]}), "bad_field"),
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
    ("trade data null", replaced(trade(), ("data",), None), "bad_field"),
    ("trade no price", replaced(trade(price_str=None), ("data", "price"), ...), "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: BitstampAdapter, text: str, reason: str) -> None:
    on_message(adapter, trade(price_str="64000"), 0)  # some state a bad frame must not disturb
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # A bad frame leaves the adapter usable and the last trade price intact.
    (quote,) = on_message(adapter, book(), 2)
    assert quote.last == 64000.0


