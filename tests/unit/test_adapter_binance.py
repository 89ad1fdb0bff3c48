"""Binance adapter: made-up frames in every documented shape, bad input, the real listing, and a
replay of the recorded combined stream checked against an independent computation."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, replaced
from tests.support.recorded import RECORDED_DIR, received, rest_body, ws_events
from workers.exchanges.binance import BinanceAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="btcusdt", base="BTC", quote="USDT")
ETH_EUR = Market(symbol="ETH-EUR", native="etheur", base="ETH", quote="EUR")
RECEIVED_NS = 1_767_225_600_500_000_123


def ticker_data(b: Any = "64010.01000000", bq: Any = "0.35400000", a: Any = "64010.02000000",
                aq: Any = "1.12000000", u: Any = 51234567890, s: Any = "BTCUSDT") -> dict:
    return {"u": u, "s": s, "b": b, "B": bq, "a": a, "A": aq}


def ticker(stream: str | None = None, **fields: Any) -> str:
    """A combined-stream bookTicker frame in the documented shape (made-up values)."""
    data = ticker_data(**fields)
    return json.dumps({"stream": stream or f"{str(data['s']).lower()}@bookTicker", "data": data})


def agg_trade(price: Any = "64010.50000000", s: str = "BTCUSDT") -> str:
    data = {"e": "aggTrade", "E": 1767225601000, "s": s, "a": 1500000, "p": price,
            "q": "0.01000000", "f": 2000000, "l": 2000001, "T": 1767225601000, "m": False,
            "M": True}
    return json.dumps({"stream": f"{s.lower()}@aggTrade", "data": data})


def depth(bids: Any = (("64010.01000000", "0.5"),), asks: Any = (), first: Any = 10,
          last: Any = 12) -> str:
    data = {"e": "depthUpdate", "E": 1767225601000, "s": "BTCUSDT", "U": first, "u": last,
            "b": [list(x) for x in bids] if isinstance(bids, tuple) else bids,
            "a": [list(x) for x in asks] if isinstance(asks, tuple) else asks}
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": data})


def kline(close: Any = "64011.00000000") -> str:
    k = {"t": 1767225600000, "T": 1767225659999, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 9,
         "o": "64000.00000000", "c": close, "h": "64020.00000000", "l": "63990.00000000",
         "v": "12.50000000", "n": 9, "x": False, "q": "800000.0", "V": "6.0", "Q": "384000.0",
         "B": "0"}
    return json.dumps({"stream": "btcusdt@kline_1m",
                       "data": {"e": "kline", "E": 1767225601000, "s": "BTCUSDT", "k": k}})


@pytest.fixture()
def adapter() -> BinanceAdapter:
    return BinanceAdapter([BTC_USDT, ETH_EUR])


def test_subscribe_messages_content(adapter: BinanceAdapter) -> None:
    frames = [json.loads(f) for f in adapter.subscribe_messages()]
    assert frames == [{"method": "SUBSCRIBE", "id": 1, "params": [
        "btcusdt@bookTicker", "btcusdt@aggTrade", "etheur@bookTicker", "etheur@aggTrade"]}]
    # Ids keep rising over reconnects, so every reply names its own request.
    assert json.loads(adapter.subscribe_messages()[0])["id"] == 2


def test_a_full_connection_fits_the_five_messages_per_second_limit() -> None:
    limit = BinanceAdapter.max_markets_per_connection
    assert limit is not None
    markets = [Market(f"C{i}-USDT", f"c{i}usdt", f"C{i}", "USDT") for i in range(limit)]
    frames = [json.loads(f) for f in BinanceAdapter(markets).subscribe_messages()]
    assert len(frames) == 4  # plus room for one pong in the same second
    streams = [s for f in frames for s in f["params"]]
    assert len(streams) == len(set(streams)) == 1024
    assert all(len(f["params"]) <= 256 for f in frames)
    assert [f["id"] for f in frames] == [1, 2, 3, 4]
    # More markets than one connection takes still chunk (the worker splits them anyway).
    more = [Market(f"C{i}-USDT", f"c{i}usdt", f"C{i}", "USDT") for i in range(600)]
    assert [len(json.loads(f)["params"]) for f in BinanceAdapter(more).subscribe_messages()] == [
        256, 256, 256, 256, 176]


# --- parse_markets -------------------------------------------------------------------------


def test_parse_markets_on_the_recorded_exchange_info() -> None:
    markets = BinanceAdapter.parse_markets(rest_body("binance", "exchangeInfo"))
    by_native = {m.native: m for m in markets}
    assert len(markets) == len(by_native) == 1222
    assert by_native["btcusdt"] == Market("BTC-USDT", "btcusdt", "BTC", "USDT")
    assert by_native["btcusdc"] == Market("BTC-USDC", "btcusdc", "BTC", "USDC")
    assert by_native["etheur"] == Market("ETH-EUR", "etheur", "ETH", "EUR")
    # The four markets of the recorded websocket session.
    assert by_native["nknusdt"].symbol == "NKN-USDT"
    assert by_native["blzeth"].symbol == "BLZ-ETH"
    assert by_native["lrcbtc"].symbol == "LRC-BTC"
    assert by_native["runeeur"].symbol == "RUNE-EUR"
    # Halted (`BREAK`) pairs and leveraged tokens (no spot trading flag) are left out.
    assert "bccbtc" not in by_native and "hsrbtc" not in by_native
    assert "btcupusdt" not in by_native
    # binance.com lists no USD-quoted pair.
    assert not [m for m in markets if m.quote == "USD"]


def _info(symbol: Any, base: Any, quote: Any, status: str = "TRADING", **extra: Any) -> dict:
    return {"symbol": symbol, "status": status, "baseAsset": base, "quoteAsset": quote, **extra}


def test_parse_markets_skips_malformed_entries() -> None:
    payload = {"timezone": "UTC", "symbols": [
        _info("BTCUSDT", "BTC", "USDT"),
        _info("ETHBTC", "ETH", "BTC", isSpotTradingAllowed=True),
        _info("XRPUSDT", "XRP", "USDT", status="BREAK"),
        _info("BTCUPUSDT", "BTCUP", "USDT", isSpotTradingAllowed=False),
        _info("BTCUSDT", "BTC", "USDT"),          # duplicate
        _info(None, "LTC", "USDT"),               # no symbol
        _info("LTC_USDT", "LTC", "USDT"),         # not a stream-safe name
        _info("币安人生USDT", "币安人生", "USDT"),  # not ASCII
        _info("SOLUSDT", None, "USDT"),           # no base
        _info("SOLUSDT", "SOL", "US-DT"),         # not a clean asset code
        {"symbol": "ADAUSDT", "baseAsset": "ADA", "quoteAsset": "USDT"},  # no status
        ["not", "an", "object"],
        None,
    ]}
    assert BinanceAdapter.parse_markets(payload) == [
        Market("BTC-USDT", "btcusdt", "BTC", "USDT"),
        Market("ETH-BTC", "ethbtc", "ETH", "BTC"),
    ]


@pytest.mark.parametrize("payload", [None, [], {"symbols": None}, {"code": -1121}, "BTCUSDT"])
def test_parse_markets_rejects_a_payload_of_the_wrong_shape(payload: Any) -> None:
    with pytest.raises(ValueError):
        BinanceAdapter.parse_markets(payload)


# --- bookTicker, trades, depth, candles ----------------------------------------------------


def test_book_ticker_gives_exact_quote_without_exchange_time(adapter: BinanceAdapter) -> None:
    assert on_message(adapter, ticker(), RECEIVED_NS) == [
        Quote("binance", "BTC-USDT", 64010.01, 0.354, 64010.02, 1.12, None, None, RECEIVED_NS)
    ]
    assert not adapter.errors


def test_raw_book_ticker_is_read_too(adapter: BinanceAdapter) -> None:
    raw = json.dumps(ticker_data(s="ETHEUR", b="3000.10", a="3000.20"))
    (quote,) = on_message(adapter, raw, 7)
    assert (quote.symbol, quote.bid, quote.ask, quote.ts_exchange_ns, quote.ts_received_ns) == (
        "ETH-EUR", 3000.1, 3000.2, None, 7)


def test_only_a_changed_top_is_emitted(adapter: BinanceAdapter) -> None:
    assert len(on_message(adapter, ticker(u=1), 1)) == 1
    # Same top with a newer update id (a change deeper in the book): nothing new.
    assert on_message(adapter, ticker(u=2), 2) == []
    (quote,) = on_message(adapter, ticker(u=3, aq="1.5"), 3)
    assert (quote.ask_size, quote.ts_received_ns) == (1.5, 3)
    (quote,) = on_message(adapter, ticker(u=4, aq="1.5", b="64009.00"), 4)
    assert quote.bid == 64009.0
    # Per market.
    (quote,) = on_message(adapter, ticker(s="ETHEUR", u=1, b="3000", a="3001"), 5)
    assert quote.symbol == "ETH-EUR"
    assert not adapter.errors


def test_an_older_update_id_is_stale(adapter: BinanceAdapter) -> None:
    assert len(on_message(adapter, ticker(u=100), 1)) == 1
    assert on_message(adapter, ticker(u=99, b="64000.00"), 2) == []
    assert adapter.errors == Counter({"stale_update": 1})
    # Ids are per market.
    assert len(on_message(adapter, ticker(s="ETHEUR", u=5, b="3000", a="3001"), 3)) == 1
    # A new connection starts a new sequence, and re-sends the top.
    on_connect(adapter)
    (quote,) = on_message(adapter, ticker(u=99, b="64000.00"), 4)
    assert quote.bid == 64000.0
    assert adapter.errors == Counter({"stale_update": 1})


def test_trades_set_last_and_candles_do_not(adapter: BinanceAdapter) -> None:
    assert on_message(adapter, agg_trade("64010.50000000"), 1) == []
    (quote,) = on_message(adapter, ticker(), 2)
    assert quote.last == 64010.5
    assert on_message(adapter, kline("70000.00000000"), 3) == []
    trade = {"e": "trade", "E": 1767225602000, "s": "BTCUSDT", "t": 12345, "p": "64012.00",
             "q": "0.1", "T": 1767225602000, "m": True, "M": True}
    assert on_message(adapter, json.dumps({"stream": "btcusdt@trade", "data": trade}), 4) == []
    (quote,) = on_message(adapter, ticker(u=51234567891, b="64009.00"), 5)
    assert quote.last == 64012.0  # the trade, not the candle's close
    # `last` survives a reconnect: it is still the last trade.
    on_connect(adapter)
    (quote,) = on_message(adapter, ticker(u=1), 6)
    assert quote.last == 64012.0
    # Trades of one market do not leak into another.
    (eth,) = on_message(adapter, ticker(s="ETHEUR", b="3000", a="3001"), 7)
    assert eth.last is None
    assert not adapter.errors


def test_depth_diffs_are_checked_then_counted_as_unseeded(adapter: BinanceAdapter) -> None:
    assert on_message(adapter, depth(), 1) == []
    assert on_message(adapter, depth(bids=(), asks=(("64010.02", "0.00000000"),)), 2) == []
    assert adapter.errors == Counter({"unseeded_book": 2})
    assert on_message(adapter, depth(first=13, last=12), 3) == []
    assert on_message(adapter, depth(bids=(("64010.01", "-1"),)), 4) == []
    assert on_message(adapter, depth(bids=[["64010.01"]]), 5) == []
    assert adapter.errors == Counter({"unseeded_book": 2, "bad_field": 3})
    assert adapter._tops == {}  # nothing was taken for a top of book


# --- control frames ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"result": None, "id": 1},
        {"result": None, "id": "sub1"},
        {"result": ["btcusdt@bookTicker"], "id": 3},  # LIST_SUBSCRIPTIONS
        {"result": True, "id": 4},  # GET_PROPERTY combined
    ],
)
def test_acks_are_quiet(adapter: BinanceAdapter, frame: dict[str, Any]) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


@pytest.mark.parametrize(
    "frame",
    [
        {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1767225600000}},
        {"e": "serverShutdown", "E": 1767225600000},
        {"event": {"e": "serverShutdown", "E": 1767225600000}},
    ],
    ids=["combined", "raw", "ws-api"],
)
def test_server_shutdown_asks_for_a_reconnect(adapter: BinanceAdapter, frame: dict) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) == "server_shutdown"
    assert not adapter.errors
    on_connect(adapter)
    assert reconnect_reason(adapter) is None


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        ({"code": 2, "msg": "Invalid request: unknown variant `SUBSCRIB`", "id": 7},
         "2: Invalid request: unknown variant `SUBSCRIB`"),
        ({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
         "3: Invalid JSON: expected value at line 1 column 1"),
        ({"error": {"code": 1, "msg": "Invalid value type: expected Boolean"}, "id": 2},
         "1: Invalid value type: expected Boolean"),
    ],
)
def test_errors_are_counted_with_their_text(adapter: BinanceAdapter, frame: dict,
                                            text: str) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == text


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("array", "[1, 2]", "not_object"),
    ("empty object", "{}", "unknown_event"),
    ("id without result", '{"id": 1}', "unknown_event"),
    ("code without msg", '{"code": 2, "id": 1}', "unknown_event"),
    ("unknown event type", json.dumps({"stream": "btcusdt@ticker", "data": {
        "e": "24hrTicker", "s": "BTCUSDT"}}), "unknown_channel"),
    ("partial depth", json.dumps({"stream": "btcusdt@depth5", "data": {
        "lastUpdateId": 1, "bids": [], "asks": []}}), "unknown_channel"),
    ("unknown market", ticker(s="DOGEUSDT"), "unknown_market"),
    ("unknown market trade", agg_trade(s="DOGEUSDT"), "unknown_market"),
    ("crossed", ticker(b="64010.02", a="64010.01"), "crossed_book"),
    ("locked", ticker(b="64010.02", a="64010.02"), "crossed_book"),
    ("empty bid side", ticker(b="0.00000000", bq="0.00000000"), "empty_book"),
    ("stream not a string", replaced(ticker(), ("stream",), 5), "bad_field"),
    ("no data", replaced(ticker(), ("data",), ...), "bad_field"),
    ("data list", replaced(ticker(), ("data",), [1]), "bad_field"),
    ("stream of another symbol", ticker(stream="ethusdt@bookTicker"), "bad_field"),
    ("symbol number", ticker(s=1), "bad_field"),
    ("no u", replaced(ticker(), ("data", "u"), ...), "bad_field"),
    ("u string", ticker(u="51234567890"), "bad_field"),
    ("u float", ticker(u=1.5), "bad_field"),
    ("u bool", ticker(u=True), "bad_field"),
    ("bid number", ticker(b=64010.01), "bad_field"),
    ("bid abc", ticker(b="abc"), "bad_field"),
    ("bid nan", ticker(b="NaN"), "bad_field"),
    ("bid inf", ticker(b="inf"), "bad_field"),
    ("bid negative", ticker(b="-64010.01"), "bad_field"),
    ("ask null", ticker(a=None), "bad_field"),
    ("size zero", ticker(bq="0"), "bad_field"),
    ("size negative", ticker(aq="-1"), "bad_field"),
    ("no ask size", replaced(ticker(), ("data", "A"), ...), "bad_field"),
    ("trade price number", replaced(agg_trade(), ("data", "p"), 64010.5), "bad_field"),
    ("trade price nan", agg_trade("NaN"), "bad_field"),
    ("event type list", replaced(agg_trade(), ("data", "e"), ["aggTrade"]), "bad_field"),
    ("kline close abc", kline("abc"), "bad_field"),
    ("kline without candle", replaced(kline(), ("data", "k"), ...), "bad_field"),
    ("depth side dict", depth(bids={"1": "2"}), "bad_field"),
    ("depth ids string", depth(first="10"), "bad_field"),
    ("depth size inf", depth(bids=(("64010.01", "inf"),)), "bad_field"),
    ("depth size number", depth(bids=[["64010.01", 1.0]]), "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: BinanceAdapter, text: str, reason: str) -> None:
    on_message(adapter, agg_trade("64000.00"), 0)  # state a bad frame must not disturb
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    (quote,) = on_message(adapter, ticker(), 2)
    assert quote.last == 64000.0


# --- the recorded session ------------------------------------------------------------------


def test_recorded_session_matches_an_independent_reading() -> None:
    markets = BinanceAdapter.parse_markets(rest_body("binance", "exchangeInfo"))
    symbol_of = {m.native: m.symbol for m in markets}
    adapter = BinanceAdapter(markets)
    texts = list(received("binance"))
    quotes = [q for i, text in enumerate(texts) for q in on_message(adapter, text, i)]

    # The test's own reading: a dict of the last top per stream symbol and the last aggTrade
    # price; a quote is due whenever a bookTicker's four values differ from the previous ones.
    tops: dict[str, tuple[float, float, float, float]] = {}
    lasts: dict[str, float] = {}
    expected = []
    kinds: Counter[str] = Counter()
    for i, text in enumerate(texts):
        frame = json.loads(text)
        name, kind = frame["stream"].split("@", 1)
        data = frame["data"]
        kinds[kind] += 1
        if kind == "aggTrade":
            lasts[name] = float(data["p"])
        elif kind == "bookTicker":
            top = (float(data["b"]), float(data["B"]), float(data["a"]), float(data["A"]))
            if tops.get(name) != top:
                tops[name] = top
                expected.append(Quote("binance", symbol_of[name], *top, lasts.get(name), None, i))
    assert kinds == Counter({"depth@100ms": 105, "bookTicker": 52, "aggTrade": 1, "kline_1m": 1})
    assert quotes == expected
    assert len(quotes) == 52  # every recorded bookTicker moved its top
    assert {q.symbol for q in quotes} == {"NKN-USDT", "LRC-BTC", "BLZ-ETH"}
    assert any(q.last == 0.3528 for q in quotes)  # the one recorded aggTrade
    # Depth diffs have no REST snapshot in the recording: counted, never turned into quotes.
    assert adapter.errors == Counter({"unseeded_book": kinds["depth@100ms"]})
    assert reconnect_reason(adapter) is None


def test_recorded_lines_that_are_not_frames_are_counted() -> None:
    path = RECORDED_DIR / "binance.ws.txt"
    events = list(ws_events(path))
    # The file holds one connection line and received frames only; nothing unreadable.
    assert Counter(e.kind for e in events) == Counter({"open": 1, "recv": 159})
    adapter = BinanceAdapter([])
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    for line in lines:
        assert on_message(adapter, line, 1) == []
    # Whole lines (receive-time prefix, URL) are never valid JSON: each one is counted.
    assert adapter.errors == Counter({"bad_json": len(lines)})
