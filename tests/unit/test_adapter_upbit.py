"""The Upbit-shaped websocket (Upbit, and Bithumb's current public API): whole-book frames in
both key sets, statuses and errors, stale frames, thin books, the one-request subscription, the
listing; and a replay of the real 2021 Upbit recording (binary SIMPLE frames) checked against an
independent little book."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Depth, Market, Quote
from tests.support import recorded
from tests.support.adapter_events import last_error, on_connect, on_message, take_depth
from workers.exchanges import get_adapter
from workers.exchanges.base import Adapter
from workers.exchanges.upbit import UpbitAdapter

pytestmark = pytest.mark.unit

WIRE_VENUES = ["upbit", "bithumb"]
BTC_KRW = Market(symbol="BTC-KRW", native="KRW-BTC", base="BTC", quote="KRW")
ETH_BTC = Market(symbol="ETH-BTC", native="BTC-ETH", base="ETH", quote="BTC")
RECEIVED_NS = 1_767_225_601_300_000_000
TMS = 1_767_225_600_123
SIMPLE_KEYS = ("ty", "cd", "tms", "obu", "ap", "as", "bp", "bs", "st")
DEFAULT_KEYS = ("type", "code", "timestamp", "orderbook_units", "ask_price", "ask_size",
                "bid_price", "bid_size", "stream_type")
BIDS = [(96_020_000.0, 0.5), (96_019_000.0, 0.04)]
ASKS = [(96_021_000.0, 0.0213), (96_022_000.0, 1.2)]


def book(bids: list[tuple[float, float]] = BIDS, asks: list[tuple[float, float]] = ASKS,
         code: str = "KRW-BTC", tms: Any = TMS, simple: bool = True, **extra: Any) -> str:
    """An `orderbook` frame (made-up values); a side shorter than the other is padded 0/0."""
    ty, cd, stamp, obu, ap, as_, bp, bs, st = SIMPLE_KEYS if simple else DEFAULT_KEYS
    units = []
    for i in range(max(len(bids), len(asks))):
        bid = bids[i] if i < len(bids) else (0.0, 0.0)
        ask = asks[i] if i < len(asks) else (0.0, 0.0)
        units.append({ap: ask[0], as_: ask[1], bp: bid[0], bs: bid[1]})
    return json.dumps({ty: "orderbook", cd: code, stamp: tms, obu: units, st: "REALTIME",
                       **extra})


def trade(price: Any, code: str = "KRW-BTC", simple: bool = True) -> str:
    """A `trade` frame (made-up values)."""
    if simple:
        return json.dumps({"ty": "trade", "cd": code, "tms": TMS, "tp": price, "tv": 0.01,
                           "ab": "BID", "sid": 1, "st": "REALTIME"})
    return json.dumps({"type": "trade", "code": code, "timestamp": TMS, "trade_price": price,
                       "trade_volume": 0.01, "ask_bid": "BID", "stream_type": "REALTIME"})


def adapter_of(venue: str, *markets: Market) -> Adapter:
    """A fresh adapter of `venue` for `markets` (BTC-KRW by default)."""
    return get_adapter(venue)(list(markets) or [BTC_KRW])


@pytest.fixture(params=WIRE_VENUES)
def venue(request: pytest.FixtureRequest) -> str:
    return request.param


# --- books ---------------------------------------------------------------------------------


def test_a_book_frame_quotes_its_top_with_the_venue_time(venue: str) -> None:
    adapter = adapter_of(venue)
    (quote,) = on_message(adapter, book(), RECEIVED_NS)
    assert quote == Quote(venue, "BTC-KRW", 96_020_000.0, 0.5, 96_021_000.0, 0.0213, None,
                          TMS * 1_000_000, RECEIVED_NS)
    assert on_message(adapter, book(), RECEIVED_NS + 1) == []  # same top: nothing new
    # A code with the request's unit count is read as the market.
    assert len(on_message(adapter, book(BIDS[1:], code="KRW-BTC.15"), RECEIVED_NS + 2)) == 1
    assert not adapter.errors


def test_both_key_sets_read_alike(venue: str) -> None:
    simple, default = adapter_of(venue), adapter_of(venue)
    assert on_message(simple, book(), 1) == on_message(default, book(simple=False), 1)
    on_message(simple, trade(96_020_500.0), 2)
    on_message(default, trade(96_020_500.0, simple=False), 2)
    moved = [(96_020_000.0, 0.7)]
    assert on_message(simple, book(moved), 3) == on_message(default, book(moved, simple=False), 3)
    assert on_message(simple, book(moved, tms=TMS + 1), 4) == []
    assert not simple.errors and not default.errors


def test_each_frame_replaces_the_whole_book(venue: str) -> None:
    adapter = adapter_of(venue)
    on_message(adapter, book(), 1)
    # The old best bid is simply absent from the next frame: it is gone, no delete needed.
    (quote,) = on_message(adapter, book(BIDS[1:], ASKS, tms=TMS + 5), 2)
    assert (quote.bid, quote.bid_size) == BIDS[1]


def test_the_last_trade_rides_on_the_next_quote(venue: str) -> None:
    adapter = adapter_of(venue)
    assert on_message(adapter, trade(96_020_500.0), 1) == []
    (quote,) = on_message(adapter, book(), 2)
    assert quote.last == 96_020_500.0
    on_connect(adapter)
    (again,) = on_message(adapter, book(), 3)  # `last` survives a reconnect
    assert again.last == 96_020_500.0


def test_an_older_frame_than_the_book_is_stale(venue: str) -> None:
    adapter = adapter_of(venue)
    on_message(adapter, book(), 1)
    assert on_message(adapter, book(BIDS[1:], tms=TMS - 1), 2) == []
    assert adapter.errors == Counter({"stale_update": 1})
    (quote,) = on_message(adapter, book(BIDS[1:], tms=TMS), 3)  # same ms: still news
    assert quote.bid == BIDS[1][0]
    on_connect(adapter)
    # A new connection's first book starts the clock again.
    assert len(on_message(adapter, book(tms=TMS - 10), 4)) == 1


def test_a_thin_book_pads_with_zero_pairs(venue: str) -> None:
    adapter = adapter_of(venue)
    (quote,) = on_message(adapter, book(BIDS, ASKS[:1]), 1)
    assert quote.ask == ASKS[0][0] and not adapter.errors
    # A side with no level at all: no top of book, and nothing wrong with the frame.
    assert on_message(adapter, book([], ASKS, tms=TMS + 1), 2) == []
    assert not adapter.errors


@pytest.mark.parametrize("units", [
    [{"ap": 0.0, "as": 1.0, "bp": 1.0, "bs": 1.0}],  # a price of zero with a size
    [{"ap": 2.0, "as": 0, "bp": 1.0, "bs": 1.0}],  # a size of zero with a price
    [{"ap": "2.0", "as": 1.0, "bp": 1.0, "bs": 1.0}],  # a string
    [{"ap": True, "as": 1.0, "bp": 1.0, "bs": 1.0}],  # a bool is no number
    [{"ap": -2.0, "as": 1.0, "bp": 1.0, "bs": 1.0}],
    [{"as": 1.0, "bp": 1.0, "bs": 1.0}],
    [[2.0, 1.0, 1.0, 1.0]],
    {"ap": 2.0},
], ids=["zero-price", "zero-size", "string", "bool", "negative", "missing", "list", "object"])
def test_a_broken_level_refuses_the_frame(venue: str, units: Any) -> None:
    adapter = adapter_of(venue)
    frame = json.dumps({"ty": "orderbook", "cd": "KRW-BTC", "tms": TMS, "obu": units})
    assert on_message(adapter, frame, 1) == []
    assert adapter.errors == Counter({"bad_field": 1})


@pytest.mark.parametrize("tms", ["1767225600123", 1.7e12, None, True, -5])
def test_a_bad_timestamp_refuses_the_frame(venue: str, tms: Any) -> None:
    adapter = adapter_of(venue)
    assert on_message(adapter, book(tms=tms), 1) == []
    assert adapter.errors == Counter({"bad_field": 1})


def test_a_crossed_book_is_counted_not_resynced(venue: str) -> None:
    adapter = adapter_of(venue)
    assert adapter.on_message(book([(96_021_000.0, 1.0)], ASKS), 1) == []
    assert adapter.errors == Counter({"crossed_book": 1})


def test_depth_levels_come_from_the_frame(venue: str) -> None:
    adapter = adapter_of(venue)
    adapter.depth_levels = 2
    on_message(adapter, book(), 1)
    (depth,) = take_depth(adapter)
    assert depth == Depth(venue, "BTC-KRW", tuple(BIDS), tuple(ASKS), 1)
    on_message(adapter, book(BIDS[:1] + [(96_018_000.0, 3.0)], tms=TMS + 1), 2)
    assert take_depth(adapter)[0].bids[1] == (96_018_000.0, 3.0)  # a deeper move alone


# --- other frames --------------------------------------------------------------------------


def test_status_and_errors(venue: str) -> None:
    adapter = adapter_of(venue)
    assert adapter.on_message('{"status":"UP"}', 1) == []
    error = {"error": {"name": "INVALID_PARAM", "message": "codes field is empty."}}
    assert on_message(adapter, json.dumps(error), 2) == []
    assert last_error(adapter) == "INVALID_PARAM: codes field is empty."
    assert adapter.errors == Counter({"venue_error": 1})
    assert adapter.on_message('{"status":"DOWN"}', 3) == []
    assert adapter.errors["unknown_event"] == 1


@pytest.mark.parametrize(("frame", "reason"), [
    (book(code="KRW-DOGE"), "unknown_market"),
    (trade(1.0, code="KRW-DOGE"), "unknown_market"),
    (json.dumps({"ty": "ticker", "cd": "KRW-BTC", "tp": 1.0}), "unknown_channel"),
    (trade(0.0), "bad_field"),
    (trade("96020500"), "bad_field"),
    (json.dumps({"ty": "orderbook", "cd": 7, "tms": TMS, "obu": []}), "bad_field"),
], ids=["book-other-market", "trade-other-market", "ticker", "zero-trade", "string-trade",
        "numeric-code"])
def test_frames_not_for_us_are_counted(venue: str, frame: str, reason: str) -> None:
    adapter = adapter_of(venue)
    assert adapter.on_message(frame, 1) == []
    assert adapter.errors == Counter({reason: 1})


def test_binary_frames_are_utf8_json(venue: str) -> None:
    adapter = adapter_of(venue)
    assert len(adapter.on_binary(book().encode(), 1)) == 1
    assert adapter.on_binary(b"\xff\xfe{", 2) == []
    assert adapter.errors == Counter({"bad_binary": 1})


# --- requests ------------------------------------------------------------------------------


def test_one_request_names_every_market(venue: str) -> None:
    adapter = adapter_of(venue, BTC_KRW, ETH_BTC)
    (frame,) = adapter.subscribe_messages()
    ticket, books, trades, fmt = json.loads(frame)
    assert set(ticket) == {"ticket"} and ticket["ticket"]
    assert books == {"type": "orderbook", "codes": ["KRW-BTC.15", "BTC-ETH.15"]}
    assert trades == {"type": "trade", "codes": ["KRW-BTC", "BTC-ETH"]}
    assert fmt == {"format": "SIMPLE"}
    # A fresh ticket per connection, so two connections never share one.
    assert json.loads(adapter.subscribe_messages()[0])[0] != ticket
    assert get_adapter(venue)([]).subscribe_messages() == []


def test_upbit_pings_with_text() -> None:
    adapter = UpbitAdapter([BTC_KRW])
    assert adapter.ping_message() == "PING"
    assert adapter.ping_interval_s < adapter.watchdog_s < 120


# --- markets -------------------------------------------------------------------------------


def test_markets_are_quote_first(venue: str) -> None:
    listing = [{"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"},
               {"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
               {"market": "USDT-BTC"}, {"market": "KRWBTC"}, {"market": 5}, {"name": "x"},
               "KRW-XRP", {"market": "KRW-btc!"}, {"market": "KRW-BTC"}]
    markets = get_adapter(venue).parse_markets(listing)
    assert markets == [BTC_KRW, ETH_BTC,
                       Market(symbol="BTC-USDT", native="USDT-BTC", base="BTC", quote="USDT")]


@pytest.mark.parametrize("payload", [{"market": "KRW-BTC"}, {"error": {"name": "x"}}, None])
def test_a_listing_that_is_no_list_is_refused(venue: str, payload: Any) -> None:
    with pytest.raises(ValueError):
        get_adapter(venue).parse_markets(payload)


def test_the_recorded_listing() -> None:
    markets = UpbitAdapter.parse_markets(recorded.rest_body("upbit", "/v1/market/all"))
    assert len(markets) > 250
    assert {m.quote for m in markets} == {"KRW", "BTC", "USDT"}
    by_native = {m.native: m for m in markets}
    assert by_native["KRW-BTC"].symbol == "BTC-KRW" and by_native["USDT-BTC"].symbol == "BTC-USDT"


# --- the recording -------------------------------------------------------------------------


def recorded_frames() -> list[bytes]:
    """The recording's received frames, each the bytes of one binary frame."""
    return list(recorded.received_frames("upbit"))  # type: ignore[arg-type]


def independent_top(units: list[dict[str, float]]) -> tuple[float, float, float, float] | None:
    """Best bid and ask of one SIMPLE book frame, read here without the adapter's code."""
    bids = {u["bp"]: u["bs"] for u in units if u["bs"] > 0}
    asks = {u["ap"]: u["as"] for u in units if u["as"] > 0}
    if not bids or not asks:
        return None
    bid, ask = max(bids), min(asks)
    return bid, bids[bid], ask, asks[ask]


def test_the_recording_replays_against_an_independent_book() -> None:
    markets = UpbitAdapter.parse_markets(recorded.rest_body("upbit", "/v1/market/all"))
    adapter = UpbitAdapter(markets)
    frames = recorded_frames()
    assert frames and all(type(f) is bytes for f in frames)
    expected: list[tuple[str, tuple[float, ...], float | None]] = []
    tops: dict[str, tuple[float, ...]] = {}
    last: dict[str, float] = {}
    quotes: list[Quote] = []
    for i, frame in enumerate(frames):
        msg = json.loads(frame.decode("utf-8"))
        if msg["ty"] == "trade":
            last[msg["cd"]] = msg["tp"]
        elif msg["ty"] == "orderbook":
            top = independent_top(msg["obu"])
            if top is not None and tops.get(msg["cd"]) != top:
                tops[msg["cd"]] = top
                symbol = adapter.markets[msg["cd"]].symbol
                expected.append((symbol, top, last.get(msg["cd"])))
        quotes += [e for e in adapter.on_binary(frame, i) if type(e) is Quote]
    assert not adapter.errors
    assert len(expected) > 50
    assert [(q.symbol, (q.bid, q.bid_size, q.ask, q.ask_size), q.last) for q in quotes] == expected
    assert {q.symbol for q in quotes} >= {"WAVES-KRW", "LAMB-KRW"}
