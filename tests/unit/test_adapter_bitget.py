"""Bitget v2 spot adapter: `books1` snapshots and the other snapshot books in the documented
shapes (made-up values), acks, errors, pong, bad input, the symbols listing and the 50 channels a
connection is given.

The recorded Bitget session is of the retired v1 API and is not replayed: every frame here is
written from the v2 documentation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message
from tests.support.frames import by_name, replaced
from workers.exchanges.bitget import BitgetAdapter
from workers.exchanges.events import VenueError

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTCUSDT", base="BTC", quote="USDT")
ETH_BTC = Market(symbol="ETH-BTC", native="ETHBTC", base="ETH", quote="BTC")
RECEIVED_NS = 1_767_225_601_000_000_009
TS_MS = 1_767_225_600_294


def book(bids: Any = (("64010.1", "0.5312"),), asks: Any = (("64010.2", "1.2"),),
         inst: str = "BTCUSDT", channel: str = "books1", ts: Any = str(TS_MS),
         inst_type: str = "SPOT") -> str:
    """A snapshot push of a snapshot book (books1/5/15); levels are [price, size] strings."""
    data = {"asks": [list(x) for x in asks], "bids": [list(x) for x in bids], "checksum": 0,
            "seq": 1234567, "ts": ts}
    return json.dumps({"action": "snapshot", "arg": {"instType": inst_type, "channel": channel,
                                                     "instId": inst},
                       "data": [data], "ts": TS_MS})


def quote(bid: float = 64010.1, bid_size: float = 0.5312, ask: float = 64010.2,
          ask_size: float = 1.2, symbol: str = "BTC-USDT") -> Quote:
    return Quote("bitget", symbol, bid, bid_size, ask, ask_size, None, TS_MS * 1_000_000,
                 RECEIVED_NS)


@pytest.fixture()
def adapter() -> BitgetAdapter:
    return BitgetAdapter([BTC_USDT, ETH_BTC])


def test_subscribe_asks_for_books1_of_every_market(adapter: BitgetAdapter) -> None:
    (frame,) = adapter.subscribe_messages()
    assert json.loads(frame) == {"op": "subscribe", "args": [
        {"instType": "SPOT", "channel": "books1", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "books1", "instId": "ETHBTC"}]}


def test_subscribe_frames_hold_50_args() -> None:
    markets = [Market(f"C{i}-USDT", f"C{i}USDT", f"C{i}", "USDT") for i in range(120)]
    frames = [json.loads(f) for f in BitgetAdapter(markets).subscribe_messages()]
    assert [len(f["args"]) for f in frames] == [50, 50, 20]
    assert [a["instId"] for f in frames for a in f["args"]] == [m.native for m in markets]


# --- answers -------------------------------------------------------------------------------


def test_pong_and_acks_are_quiet(adapter: BitgetAdapter) -> None:
    arg = {"instType": "SPOT", "channel": "books1", "instId": "BTCUSDT"}
    for text in ("pong", json.dumps({"event": "subscribe", "arg": arg}),
                 json.dumps({"event": "unsubscribe", "arg": arg})):
        assert adapter.on_message(text, 1) == []
    assert not adapter.errors


def test_an_error_event_is_the_venue_error(adapter: BitgetAdapter) -> None:
    text = json.dumps({"event": "error", "arg": {"instType": "SPOT", "channel": "books1",
                                                 "instId": "FOOUSDT"},
                       "code": 30001, "msg": "instId:FOOUSDT doesn't exist", "op": "subscribe"})
    assert adapter.on_message(text, 1) == [VenueError("30001 instId:FOOUSDT doesn't exist")]
    assert on_message(adapter, '{"event":"error","code":30016,"msg":"Param error"}', 1) == []
    assert last_error(adapter) == "30016 Param error"
    assert adapter.errors == {"venue_error": 2}


# --- listing -------------------------------------------------------------------------------


def row(symbol: str, base: Any, quote: Any, status: Any = "online") -> dict[str, Any]:
    return {"symbol": symbol, "baseCoin": base, "quoteCoin": quote, "status": status,
            "pricePrecision": "2", "quantityPrecision": "6", "takerFeeRate": "0.001"}


def test_parse_markets_keeps_online_symbols() -> None:
    payload = {"code": "00000", "msg": "success", "requestTime": 1767225600000, "data": [
        row("BTCUSDT", "BTC", "USDT"), row("ETHBTC", "ETH", "BTC"),
        row("SOLUSDT", "SOL", "USDT", status="halt"), row("NEWUSDT", "NEW", "USDT", "gray"),
        row("OLDUSDT", "OLD", "USDT", "offline"), row("XRPUSDT", "XRP", "USDC"),
        row("ADAUSDT", None, "USDT"), {"symbol": "DOTUSDT"}, "not an object",
        row("BTCUSDT", "BTC", "USDT"),
    ]}
    assert BitgetAdapter.parse_markets(payload) == [BTC_USDT, ETH_BTC]


@pytest.mark.parametrize("payload", [
    None, [], {"code": "00000", "data": {}}, {"code": "40001", "msg": "bad", "data": []},
    {"code": 0, "data": []}])
def test_a_listing_of_another_shape_raises(payload: Any) -> None:
    with pytest.raises(ValueError):
        BitgetAdapter.parse_markets(payload)


# --- books ---------------------------------------------------------------------------------


def test_books1_gives_the_exact_quote(adapter: BitgetAdapter) -> None:
    assert adapter.on_message(book(), RECEIVED_NS) == [quote()]
    assert not adapter.errors


def test_only_a_changed_top_is_quoted_until_a_reconnect(adapter: BitgetAdapter) -> None:
    assert len(on_message(adapter, book(), 1)) == 1
    assert on_message(adapter, book(ts=str(TS_MS + 10)), 2) == []
    (moved,) = on_message(adapter, book(asks=(("64010.2", "0.7"),)), 3)
    assert moved.ask_size == 0.7
    on_connect(adapter)
    assert len(on_message(adapter, book(asks=(("64010.2", "0.7"),)), 4)) == 1


def test_deeper_snapshot_books_give_their_best_level(adapter: BitgetAdapter) -> None:
    bids = (("64010.1", "0.5312"), ("64009.0", "3"))
    asks = (("64010.2", "1.2"), ("64011.5", "2"))
    assert adapter.on_message(book(bids, asks, channel="books5"), RECEIVED_NS) == [quote()]
    frame = book(asks=(("0.0502", "1"),), bids=(("0.0501", "2"),), inst="ETHBTC",
                 channel="books15", ts=TS_MS)  # an integer ts reads too
    assert adapter.on_message(frame, RECEIVED_NS) == [quote(0.0501, 2.0, 0.0502, 1.0, "ETH-BTC")]


def test_the_time_is_exact_ns(adapter: BitgetAdapter) -> None:
    (q,) = adapter.on_message(book(ts="1767225600999"), 1)
    assert q.ts_exchange_ns == 1_767_225_600_999_000_000


UNUSABLE = [
    ("unknown market", book(inst="SOLUSDT"), "unknown_market"),
    ("futures", book(inst_type="USDT-FUTURES"), "unknown_channel"),
    ("books deltas", book(channel="books"), "unknown_channel"),
    ("candles", book(channel="candle1m"), "unknown_channel"),
    ("empty bids", book(bids=()), "empty_book"),
    ("crossed", book(bids=(("64010.3", "1"),)), "crossed_book"),
    ("zero size", book(bids=(("64010.1", "0"),)), "bad_field"),
    ("number price", book(bids=((64010.1, "1"),)), "bad_field"),
    ("bad ts", book(ts="yesterday"), "bad_field"),
    ("zero ts", book(ts="0"), "bad_field"),
    ("two entries", replaced(book(), ("data",), [{}, {}]), "bad_field"),
    ("no data", replaced(book(), ("data",), ...), "bad_field"),
    ("instId number", replaced(book(), ("arg", "instId"), 7), "bad_field"),
    ("no arg", '{"action":"snapshot","data":[]}', "bad_field"),
    ("unknown event", '{"event":"login","code":0}', "unknown_event"),
    ("not json", "pong!", "bad_json"),
    ("array", "[1,2]", "not_object"),
]


@by_name(UNUSABLE)
def test_unusable_frames_are_counted(adapter: BitgetAdapter, text: str, reason: str) -> None:
    assert adapter.on_message(text, 1) == []
    assert adapter.errors == {reason: 1}


def test_trades_and_tickers_are_ignored(adapter: BitgetAdapter) -> None:
    for channel in ("trade", "ticker"):
        frame = json.dumps({"action": "snapshot", "arg": {"instType": "SPOT",
                            "channel": channel, "instId": "BTCUSDT"}, "data": [{}]})
        assert adapter.on_message(frame, 1) == []
    assert not adapter.errors


def test_a_run_of_snapshots_matches_an_independent_top(adapter: BitgetAdapter) -> None:
    """books1 snapshots for two markets: the quotes are exactly the changes of each top."""
    pushes = [("BTCUSDT", "64010.1", "0.5", "64010.2", "1"), ("ETHBTC", "0.05", "2", "0.06", "1"),
              ("BTCUSDT", "64010.1", "0.5", "64010.2", "1"),
              ("BTCUSDT", "64010.0", "0.5", "64010.2", "1"), ("ETHBTC", "0.05", "2", "0.06", "3")]
    expected, last = [], {}
    for inst, *top in pushes:
        if last.get(inst) != top:
            last[inst] = top
            expected.append((inst, *map(float, top)))
    got = [(q.symbol.replace("-", ""), q.bid, q.bid_size, q.ask, q.ask_size)
           for inst, b, bs, a, az in pushes
           for q in adapter.on_message(book(((b, bs),), ((a, az),), inst), 1)]
    assert got == expected and not adapter.errors
