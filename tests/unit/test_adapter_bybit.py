"""Bybit adapter: made-up frames in every documented shape (docs/protocols.md), re-pushes and
service restarts, bad input, the instruments listing, and subscription limits.

There is no recorded Bybit traffic or listing: the listing below is built from §8.5's shape."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, replaced
from workers.exchanges.bybit import BybitAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTCUSDT", base="BTC", quote="USDT")
ETH_USDC = Market(symbol="ETH-USDC", native="ETHUSDC", base="ETH", quote="USDC")
RECEIVED_NS = 1_767_225_600_500_000_123
CONN_ID = "d2b7c1a0-0f1e-4a3b-9c8d-7e6f5a4b3c2d"


def book(b: Any = (("64010.10", "0.531"),), a: Any = (("64010.20", "1.204"),), u: Any = 18521301,
         ts: Any = 1767225600123, kind: str = "snapshot", s: str = "BTCUSDT",
         topic: str | None = None, seq: Any = 79616387240) -> str:
    """An `orderbook.1` push in the documented shape (made-up values)."""
    data = {"s": s, "b": [list(x) for x in b] if isinstance(b, tuple) else b,
            "a": [list(x) for x in a] if isinstance(a, tuple) else a, "u": u, "seq": seq}
    return json.dumps({"topic": topic or f"orderbook.1.{s}", "ts": ts, "type": kind,
                       "data": data, "cts": 1767225600120})


def ticker(last: Any = "64010.20", s: str = "BTCUSDT") -> str:
    data = {"symbol": s, "lastPrice": last, "highPrice24h": "64550.00",
            "lowPrice24h": "63100.00", "prevPrice24h": "63400.00", "volume24h": "9123.456",
            "turnover24h": "581234567.12", "price24hPcnt": "0.0096", "usdIndexPrice": "64005.12"}
    return json.dumps({"topic": f"tickers.{s}", "ts": 1767225600150, "type": "snapshot",
                       "cs": 79616387300, "data": data})


@pytest.fixture()
def adapter() -> BybitAdapter:
    return BybitAdapter([BTC_USDT, ETH_USDC])


def test_ping_message_and_its_ids(adapter: BybitAdapter) -> None:
    assert json.loads(adapter.ping_message() or "") == {"req_id": "ping-1", "op": "ping"}
    assert json.loads(adapter.subscribe_messages()[0])["req_id"] == "sub-2"
    assert json.loads(adapter.ping_message() or "")["req_id"] == "ping-3"


def test_subscribe_messages_content(adapter: BybitAdapter) -> None:
    assert [json.loads(f) for f in adapter.subscribe_messages()] == [
        {"req_id": "sub-1", "op": "subscribe", "args": [
            "orderbook.1.BTCUSDT", "tickers.BTCUSDT", "orderbook.1.ETHUSDC", "tickers.ETHUSDC"]}
    ]


def test_subscribe_frames_hold_at_most_ten_args_within_the_connection_budget() -> None:
    limit = BybitAdapter.max_markets_per_connection
    assert limit is not None
    # Long symbols (16 characters) for the worst case of the 21,000-character args budget.
    markets = [Market(f"A{i:014d}-USDT", f"A{i:014d}U", f"A{i:014d}", "USDT")
               for i in range(limit)]
    frames = [json.loads(f) for f in BybitAdapter(markets).subscribe_messages()]
    assert all(1 <= len(f["args"]) <= 10 for f in frames)
    args = [a for f in frames for a in f["args"]]
    assert len(args) == len(set(args)) == 2 * limit
    assert len(json.dumps(args)) < 21_000
    assert len({f["req_id"] for f in frames}) == len(frames)
    odd = BybitAdapter([BTC_USDT, ETH_USDC, Market("SOL-USDT", "SOLUSDT", "SOL", "USDT"),
                        Market("XRP-USDT", "XRPUSDT", "XRP", "USDT"),
                        Market("ADA-USDT", "ADAUSDT", "ADA", "USDT"),
                        Market("DOT-USDT", "DOTUSDT", "DOT", "USDT")])
    assert [len(json.loads(f)["args"]) for f in odd.subscribe_messages()] == [10, 2]


# --- parse_markets -------------------------------------------------------------------------


def instrument(symbol: Any, base: Any, quote: Any, status: Any = "Trading") -> dict[str, Any]:
    return {"symbol": symbol, "baseCoin": base, "quoteCoin": quote, "innovation": "0",
            "status": status, "marginTrading": "both",
            "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
                              "minOrderQty": "0.000048", "maxOrderQty": "71.73956243",
                              "minOrderAmt": "1", "maxOrderAmt": "2000000"},
            "priceFilter": {"tickSize": "0.01"}}


def listing(*entries: Any, ret_code: Any = 0) -> dict[str, Any]:
    """The §8.5 envelope around a spot instruments list."""
    return {"retCode": ret_code, "retMsg": "OK", "result": {"category": "spot",
            "list": list(entries)}, "retExtInfo": {}, "time": 1767225600200}


def test_parse_markets_on_a_listing_in_the_documented_shape() -> None:
    payload = listing(
        instrument("BTCUSDT", "BTC", "USDT"),
        instrument("ETHUSDC", "ETH", "USDC"),
        instrument("BTCUSDC", "BTC", "USDC"),
        instrument("SOLUSDT", "SOL", "USDT", status="PreLaunch"),
        instrument("BTCUSDT", "BTC", "USDT"),           # duplicate
        instrument("btcusdt", "BTC", "USDT"),           # topics want upper case
        instrument("BTC-USDT", "BTC", "USDT"),          # not alphanumeric
        instrument(None, "XRP", "USDT"),                # no symbol
        instrument("XRPUSDT", None, "USDT"),            # no base
        instrument("XRPUSDT", "XRP", "US DT"),          # not a clean asset code
        {"symbol": "ADAUSDT", "baseCoin": "ADA", "quoteCoin": "USDT"},  # no status
        ["not", "an", "object"],
        None,
    )
    assert BybitAdapter.parse_markets(payload) == [
        Market("BTC-USDT", "BTCUSDT", "BTC", "USDT"),
        Market("ETH-USDC", "ETHUSDC", "ETH", "USDC"),
        Market("BTC-USDC", "BTCUSDC", "BTC", "USDC"),
    ]


@pytest.mark.parametrize(
    "payload",
    [None, [], "x", {"retCode": 10001, "retMsg": "Not supported symbols", "result": {}},
     {"retMsg": "OK", "result": {"list": []}}, listing(ret_code="0"),
     {"retCode": 0, "result": None}, {"retCode": 0, "result": {"list": {}}}],
)
def test_parse_markets_rejects_errors_and_wrong_shapes(payload: Any) -> None:
    with pytest.raises(ValueError):
        BybitAdapter.parse_markets(payload)


def test_parse_markets_error_carries_its_text() -> None:
    with pytest.raises(ValueError, match="Not supported symbols"):
        BybitAdapter.parse_markets({"retCode": 10001, "retMsg": "Not supported symbols",
                                    "result": {}, "retExtInfo": {}, "time": 1})


# --- book and tickers ----------------------------------------------------------------------


def test_snapshot_gives_exact_quote(adapter: BybitAdapter) -> None:
    quotes = on_message(adapter, book(), RECEIVED_NS)
    assert quotes == [Quote("bybit", "BTC-USDT", 64010.10, 0.531, 64010.20, 1.204, None,
                            1_767_225_600_123_000_000, RECEIVED_NS)]
    assert type(quotes[0].ts_exchange_ns) is int
    assert not adapter.errors


def test_the_three_second_re_push_is_not_a_new_quote(adapter: BybitAdapter) -> None:
    assert len(on_message(adapter, book(u=10, ts=1767225600000), 1)) == 1
    # Same u, later ts: the unchanged book pushed again.
    assert on_message(adapter, book(u=10, ts=1767225603000), 2) == []
    assert on_message(adapter, book(u=10, ts=1767225606000), 3) == []
    # The next real change.
    (quote,) = on_message(adapter, book(u=11, b=(("64010.00", "2"),), ts=1767225606500), 4)
    assert (quote.bid, quote.bid_size, quote.ts_exchange_ns) == (
        64010.0, 2.0, 1_767_225_606_500_000_000)
    assert not adapter.errors


def test_only_a_changed_top_is_emitted(adapter: BybitAdapter) -> None:
    assert len(on_message(adapter, book(u=1_000), 1)) == 1
    assert on_message(adapter, book(u=1_001), 2) == []  # new id, same top
    (quote,) = on_message(adapter, book(u=1_002, a=(("64010.20", "1.5"),)), 3)
    assert quote.ask_size == 1.5
    (eth,) = on_message(adapter, book(s="ETHUSDC", u=5, b=(("3000.1", "1"),),
                                     a=(("3000.2", "1"),)), 4)
    assert eth.symbol == "ETH-USDC"
    assert not adapter.errors


def test_an_older_update_id_is_stale(adapter: BybitAdapter) -> None:
    assert len(on_message(adapter, book(u=500), 1)) == 1
    assert on_message(adapter, book(u=499, b=(("64000.00", "1"),)), 2) == []
    assert adapter.errors == Counter({"stale_update": 1})


def test_u_equal_1_is_a_service_restart(adapter: BybitAdapter) -> None:
    assert len(on_message(adapter, book(u=18521301), 1)) == 1
    # Restart: ids start over. The snapshot is taken even though 1 < 18521301 ...
    (quote,) = on_message(adapter, book(u=1, b=(("64000.00", "0.7"),), ts=1767225700000), 2)
    assert (quote.bid, quote.bid_size, quote.ts_exchange_ns) == (
        64000.0, 0.7, 1_767_225_700_000_000_000)
    # ... and the ids that follow are judged against the new sequence.
    (quote,) = on_message(adapter, book(u=2, b=(("64001.00", "0.7"),)), 3)
    assert quote.bid == 64001.0
    assert on_message(adapter, book(u=2, b=(("64001.00", "0.7"),)), 4) == []  # re-push
    # A restart that repeats the current top emits nothing new.
    assert on_message(adapter, book(u=1, b=(("64001.00", "0.7"),)), 5) == []
    assert on_message(adapter, book(u=2, b=(("64001.00", "0.7"),)), 6) == []
    assert not adapter.errors


def test_deltas_apply_on_top_of_the_snapshot(adapter: BybitAdapter) -> None:
    assert on_message(adapter, book(kind="delta", u=5), 1) == []
    assert adapter.errors == Counter({"unseeded_book": 1})
    assert len(on_message(adapter, book(u=5), 2)) == 1
    # Delete the best bid, add a new one lower; size 0 deletes.
    delta = book(kind="delta", u=6, b=(("64010.10", "0"), ("64009.50", "3")), a=())
    (quote,) = on_message(adapter, delta, 3)
    assert (quote.bid, quote.bid_size, quote.ask) == (64009.5, 3.0, 64010.2)
    # Emptying a side leaves no top to quote.
    assert on_message(adapter, book(kind="delta", u=7, b=(("64009.50", "0"),), a=()), 4) == []
    assert adapter.errors == Counter({"unseeded_book": 1, "empty_book": 1})


def test_tickers_feed_last_only(adapter: BybitAdapter) -> None:
    assert on_message(adapter, ticker("64010.15"), 1) == []
    (quote,) = on_message(adapter, book(), 2)
    assert quote.last == 64010.15
    assert on_message(adapter, ticker("64011"), 3) == []
    on_connect(adapter)  # last survives a reconnect; books and ids do not
    (quote,) = on_message(adapter, book(), 4)
    assert quote.last == 64011.0
    (eth,) = on_message(adapter, book(s="ETHUSDC", b=(("3000.1", "1"),), a=(("3000.2", "1"),)), 5)
    assert eth.last is None
    assert not adapter.errors


def test_on_connect_forgets_books_and_ids(adapter: BybitAdapter) -> None:
    assert len(on_message(adapter, book(u=900), 1)) == 1
    on_connect(adapter)
    # The same top on the new connection is sent again, and a lower id is not stale.
    (quote,) = on_message(adapter, book(u=800), 2)
    assert quote.bid == 64010.1
    assert on_message(adapter, book(kind="delta", u=801), 3) == []  # book exists: applied
    assert not adapter.errors


# --- control frames ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"success": True, "ret_msg": "subscribe", "conn_id": CONN_ID, "req_id": "sub-1",
         "op": "subscribe"},
        {"success": True, "ret_msg": "", "conn_id": CONN_ID, "op": "unsubscribe"},
        {"success": True, "ret_msg": "pong", "conn_id": CONN_ID, "op": "ping"},
        {"success": True, "ret_msg": "pong", "conn_id": CONN_ID, "req_id": "ping-3",
         "op": "ping"},
        {"req_id": "p1", "op": "pong", "args": ["1767225600000"], "conn_id": CONN_ID},
    ],
)
def test_acks_and_pongs_are_quiet(adapter: BybitAdapter, frame: dict[str, Any]) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"success": False, "ret_msg": "Invalid symbol :[orderbook.1.FOOUSDT]",
          "conn_id": CONN_ID, "req_id": "sub-1", "op": "subscribe"}, "subscribe_error"),
        ({"success": False, "ret_msg": "args size >10", "conn_id": CONN_ID, "op": "subscribe"},
         "subscribe_error"),
        ({"success": False, "ret_msg": "not subscribed", "conn_id": CONN_ID,
          "op": "unsubscribe"}, "unsubscribe_error"),
        ({"success": False, "ret_msg": "Invalid op: x", "conn_id": CONN_ID, "op": "x"},
         "venue_error"),
        ({"success": False, "ret_msg": "ping failed", "conn_id": CONN_ID, "op": "ping"},
         "venue_error"),
    ],
)
def test_failures_are_counted_with_their_text(adapter: BybitAdapter, frame: dict,
                                              reason: str) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert last_error(adapter) == frame["ret_msg"]
    assert reconnect_reason(adapter) is None


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("array", "[1]", "not_object"),
    ("empty object", "{}", "unknown_event"),
    ("op unknown", '{"op": "auth", "success": true}', "unknown_event"),
    ("unknown topic", replaced(book(), ("topic",), "kline.1.BTCUSDT"), "unknown_channel"),
    ("trade topic", replaced(book(), ("topic",), "publicTrade.BTCUSDT"), "unknown_channel"),
    ("unknown market", book(s="DOGEUSDT"), "unknown_market"),
    ("unknown ticker market", ticker(s="DOGEUSDT"), "unknown_market"),
    ("crossed", book(b=(("64010.30", "1"),)), "crossed_book"),
    ("locked", book(b=(("64010.20", "1"),)), "crossed_book"),
    ("empty bids", book(b=()), "empty_book"),
    ("topic number", replaced(book(), ("topic",), 1), "bad_field"),
    ("topic short", replaced(book(), ("topic",), "orderbook.BTCUSDT"), "bad_field"),
    ("depth not a number", replaced(book(), ("topic",), "orderbook.x.BTCUSDT"), "bad_field"),
    ("symbol mismatch", replaced(book(), ("data", "s"), "ETHUSDC"), "bad_field"),
    ("type unknown", book(kind="update"), "bad_field"),
    ("no data", replaced(book(), ("data",), ...), "bad_field"),
    ("data list", replaced(book(), ("data",), []), "bad_field"),
    ("no u", replaced(book(), ("data", "u"), ...), "bad_field"),
    ("u string", book(u="18521301"), "bad_field"),
    ("u bool", book(u=True), "bad_field"),
    ("no ts", replaced(book(), ("ts",), ...), "bad_field"),
    ("ts float", book(ts=1767225600123.5), "bad_field"),
    ("ts negative", book(ts=-1), "bad_field"),
    ("ts text", book(ts="soon"), "bad_field"),
    ("level string", book(b=["64010.10"]), "bad_field"),
    ("level short", book(b=[["64010.10"]]), "bad_field"),
    ("level long", book(a=[["64010.20", "1", "x"]]), "bad_field"),
    ("side dict", book(a={"64010.20": "1"}), "bad_field"),
    ("price number", book(b=[[64010.1, "1"]]), "bad_field"),
    ("price nan", book(b=[["NaN", "1"]]), "bad_field"),
    ("price negative", book(a=[["-1", "1"]]), "bad_field"),
    ("size number", book(b=[["64010.10", 1]]), "bad_field"),
    ("size zero in snapshot", book(b=[["64010.10", "0"]]), "bad_field"),
    ("size negative in delta", book(kind="delta", b=[["64010.10", "-1"]]), "bad_field"),
    ("ticker last number", replaced(ticker(), ("data", "lastPrice"), 64010.2), "bad_field"),
    ("ticker last abc", ticker("abc"), "bad_field"),
    ("ticker symbol mismatch", replaced(ticker(), ("data", "symbol"), "ETHUSDC"), "bad_field"),
    ("ticker no data", replaced(ticker(), ("data",), ...), "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: BybitAdapter, text: str, reason: str) -> None:
    on_message(adapter, ticker("64000"), 0)  # state a bad frame must not disturb
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # A newer id: a crossed or empty snapshot that was read did consume its own id.
    (quote,) = on_message(adapter, book(u=18521302), 2)
    assert quote.last == 64000.0


def test_a_bad_delta_changes_nothing(adapter: BybitAdapter) -> None:
    on_message(adapter, book(u=5), 1)
    bad = book(kind="delta", u=6, b=(("64010.10", "0"),), a=(("64010.15", "x"),))
    assert on_message(adapter, bad, 2) == []
    assert adapter.errors == Counter({"bad_field": 1})
    # The best bid was not deleted by the half-read frame, and id 6 is still to come.
    (quote,) = on_message(adapter, book(kind="delta", u=6, a=(("64010.15", "1"),), b=()), 3)
    assert (quote.bid, quote.ask) == (64010.1, 64010.15)


