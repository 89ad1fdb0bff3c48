"""Gemini v2 adapter: made-up frames in every documented shape, bad input, markets, and a
replay of the recorded 2021 session checked against an independent book kept in this test."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.adapter_fixtures import adapter_fixture, synced_fixture
from tests.support.frames import by_name, without
from tests.support.recorded import RECORDED_DIR, rest_body, rest_responses, ws_events
from workers.exchanges.gemini import GeminiAdapter, split_listed_names

pytestmark = pytest.mark.unit

BTC_USD = Market("BTC-USD", "BTCUSD", "BTC", "USD")
ETH_USD = Market("ETH-USD", "ETHUSD", "ETH", "USD")


def trade(symbol: str = "BTCUSD", event_id: int = 170000000001, price: str = "64011.00",
          timestamp: int = 1767225599000, **extra: Any) -> dict[str, Any]:
    return {"type": "trade", "symbol": symbol, "event_id": event_id, "timestamp": timestamp,
            "price": price, "quantity": "0.002", "side": "buy", **extra}


def full_book(symbol: str = "BTCUSD", changes: Any = None, trades: Any = None) -> str:
    return json.dumps({
        "type": "l2_updates", "symbol": symbol,
        "changes": [["buy", "64010.15", "0.25"], ["buy", "64009.00", "1.1"],
                    ["sell", "64012.40", "0.05"], ["sell", "64015.00", "0.8"]]
        if changes is None else changes,
        "trades": [trade(symbol)] if trades is None else trades,
        "auction_events": []})


def delta(*changes: Any, symbol: str = "BTCUSD") -> str:
    return json.dumps({"type": "l2_updates", "symbol": symbol, "changes": list(changes)})


adapter = adapter_fixture(GeminiAdapter, [BTC_USD, ETH_USD])
synced = synced_fixture(full_book)  # the first book in, its quote taken


def test_subscribe_message_content(adapter: GeminiAdapter) -> None:
    (text,) = adapter.subscribe_messages()
    assert json.loads(text) == {"type": "subscribe",
                                "subscriptions": [{"name": "l2", "symbols": ["BTCUSD", "ETHUSD"]}]}
    assert GeminiAdapter([]).subscribe_messages() == []


def test_subscribe_messages_chunk_at_100_symbols() -> None:
    markets = [Market(f"C{i}-USD", f"C{i}USD", f"C{i}", "USD") for i in range(201)]
    frames = [json.loads(f) for f in GeminiAdapter(markets).subscribe_messages()]
    symbols = [f["subscriptions"][0]["symbols"] for f in frames]
    assert [len(s) for s in symbols] == [100, 100, 1]
    assert [s for chunk in symbols for s in chunk] == [m.native for m in markets]


# --- parse_markets -------------------------------------------------------------------------


def test_split_listed_names() -> None:
    names = ["btcusd", "btcgusd", "gusdusd", "1inchusd", "zecltc", "ltcbch", "ethusdt",
             "btcdai", "linketh", "paxgusd", "btcgusdperp", "usd", "", 7, None]
    assert split_listed_names(names) == {
        "btcusd": ("BTC", "USD"), "btcgusd": ("BTC", "GUSD"), "gusdusd": ("GUSD", "USD"),
        "1inchusd": ("1INCH", "USD"), "zecltc": ("ZEC", "LTC"), "ltcbch": ("LTC", "BCH"),
        "ethusdt": ("ETH", "USDT"), "btcdai": ("BTC", "DAI"), "linketh": ("LINK", "ETH"),
        # Two readings each: the base known from another name wins, else the plain quote.
        "paxgusd": ("PAXG", "USD"),
    }
    # Without `btcusd` (or any other BTC name) nothing says BTC is a currency here.
    assert split_listed_names(["btcgusd"]) == {"btcgusd": ("BTCG", "USD")}
    assert split_listed_names(["btcgusd", "btceur"]) == {"btcgusd": ("BTC", "GUSD"),
                                                         "btceur": ("BTC", "EUR")}


def test_parse_markets_from_names() -> None:
    payload = ["btcusd", "btcgusd", "ethbtc", "btcgusdperp", "BTCUSD", "", 7, None, ["btc"],
               "b-tcusd", "usd"]
    assert GeminiAdapter.parse_markets(payload) == [
        Market("BTC-USD", "BTCUSD", "BTC", "USD"),
        Market("BTC-GUSD", "BTCGUSD", "BTC", "GUSD"),
        Market("ETH-BTC", "ETHBTC", "ETH", "BTC"),
    ]


def test_parse_markets_from_details() -> None:
    def details(symbol: Any, base: Any, quote: Any, status: Any = "open") -> dict[str, Any]:
        return {"symbol": symbol, "base_currency": base, "quote_currency": quote,
                "tick_size": 1e-8, "quote_increment": 0.01, "min_order_size": "0.00001",
                "status": status}

    payload = [details("BTCUSD", "BTC", "USD"), details("BTCGUSD", "BTC", "GUSD", "closed"),
               details("BTCDAI", "BTC", "DAI", "limit_only"), details("ETHXYZ", "ETH", "XYZ"),
               details("ETHUSD", "ETH", "EUR"),  # symbol and currencies disagree
               details(None, "A", "B"), {"symbol": "LTCUSD"}, details("ETHUSD", "ETH", "USD")]
    assert GeminiAdapter.parse_markets(payload) == [
        Market("BTC-USD", "BTCUSD", "BTC", "USD"),
        Market("ETH-XYZ", "ETHXYZ", "ETH", "XYZ"),
        Market("ETH-USD", "ETHUSD", "ETH", "USD"),
    ]


@pytest.mark.parametrize("payload", [None, {}, "btcusd",
                                     {"result": "error", "reason": "InvalidSymbol"}])
def test_parse_markets_rejects_a_malformed_payload(payload: Any) -> None:
    with pytest.raises(ValueError):
        GeminiAdapter.parse_markets(payload)


def test_parse_markets_on_the_recorded_listing() -> None:
    names = rest_body("gemini", "api.gemini.com/v1/symbols")  # the first response: the names
    assert isinstance(names, list) and len(names) == 71
    markets = GeminiAdapter.parse_markets(names)
    by_native = {m.native: m for m in markets}
    assert len(markets) == 71  # every 2021 name splits on a known quote
    assert by_native["BTCUSD"] == Market("BTC-USD", "BTCUSD", "BTC", "USD")
    assert by_native["BTCGUSD"] == Market("BTC-GUSD", "BTCGUSD", "BTC", "GUSD")
    assert by_native["GUSDUSD"] == Market("GUSD-USD", "GUSDUSD", "GUSD", "USD")
    assert by_native["1INCHUSD"].symbol == "1INCH-USD"
    assert by_native["ZECLTC"].symbol == "ZEC-LTC"
    assert by_native["PAXGUSD"] == Market("PAXG-USD", "PAXGUSD", "PAXG", "USD")
    # The details responses name the currencies: the suffix split agrees with every one.
    details = [r.body for r in rest_responses("gemini") if "/details/" in r.url]
    assert len(details) == 71
    for entry in details:
        market = by_native[entry["symbol"]]
        assert (market.base, market.quote) == (entry["base_currency"], entry["quote_currency"])
    # From the details, only `open` markets remain (closed and limit-only ones go).
    statuses = Counter(entry["status"] for entry in details)
    open_markets = GeminiAdapter.parse_markets(details)
    assert len(open_markets) == statuses["open"] == 59
    assert "BTCGUSD" not in {m.native for m in open_markets}  # closed in 2021
    assert "BTCDAI" not in {m.native for m in open_markets}  # limit_only in 2021


# --- book ----------------------------------------------------------------------------------


def test_full_book_gives_exact_quote_without_venue_time(adapter: GeminiAdapter) -> None:
    assert on_message(adapter, full_book(), 42) == [
        Quote("gemini", "BTC-USD", 64010.15, 0.25, 64012.40, 0.05, 64011.0, None, 42)
    ]
    assert not adapter.errors


def test_last_is_the_newest_trade_of_the_unordered_list(adapter: GeminiAdapter) -> None:
    trades = [trade(event_id=5, price="1.5"), trade(event_id=9, price="1.9"),
              trade(event_id=7, price="1.7")]
    (quote,) = on_message(adapter, full_book(trades=trades), 1)
    assert quote.last == 1.9


def test_deltas_move_the_top(synced: GeminiAdapter) -> None:
    (quote,) = on_message(synced, delta(["buy", "64011.00", "0.5"]), 2)
    assert quote == Quote("gemini", "BTC-USD", 64011.0, 0.5, 64012.4, 0.05, 64011.0, None, 2)
    (quote,) = on_message(synced, delta(["sell", "64012.40", "0"]), 3)
    assert (quote.ask, quote.ask_size) == (64015.0, 0.8)
    quotes = on_message(synced, delta(["buy", "64011.00", "0"], ["buy", "64010.15", "0"],
                                     ["sell", "64013", "1"]), 4)
    assert [(q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes] == [
        (64009.0, 1.1, 64013.0, 1.0)]
    assert not synced.errors


def test_only_a_changed_top_is_emitted(synced: GeminiAdapter) -> None:
    assert on_message(synced, delta(["buy", "64009.00", "5"]), 2) == []
    assert on_message(synced, delta(["sell", "64020", "1"]), 3) == []
    assert on_message(synced, delta(["buy", "64010.15", "0.25"]), 4) == []
    assert on_message(synced, delta(), 5) == []
    (quote,) = on_message(synced, delta(["sell", "64012.40", "0.06"]), 6)
    assert quote.ask_size == 0.06
    (quote,) = on_message(synced, full_book("ETHUSD", [["buy", "3200", "1"],
                                                      ["sell", "3201", "2"]], []), 7)
    assert (quote.symbol, quote.last) == ("ETH-USD", None)
    assert not synced.errors


def test_empty_full_book_quotes_nothing_until_both_sides(adapter: GeminiAdapter) -> None:
    assert on_message(adapter, full_book(changes=[], trades=[]), 1) == []
    assert on_message(adapter, delta(["buy", "100", "1"]), 2) == []
    (quote,) = on_message(adapter, delta(["sell", "101", "2"]), 3)
    assert quote == Quote("gemini", "BTC-USD", 100.0, 1.0, 101.0, 2.0, None, None, 3)
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_first_update_of_a_symbol_is_its_book_even_without_trades(adapter: GeminiAdapter) -> None:
    (quote,) = on_message(adapter, delta(["buy", "10", "1"], ["sell", "11", "1"]), 1)
    assert (quote.bid, quote.ask) == (10.0, 11.0)
    assert not adapter.errors


def test_a_later_full_book_replaces_the_book(synced: GeminiAdapter) -> None:
    (quote,) = on_message(synced, full_book(changes=[["buy", "1", "1"], ["sell", "2", "1"]]), 2)
    assert (quote.bid, quote.ask) == (1.0, 2.0)  # the old levels are gone


def test_trades_set_last_and_emit_nothing(synced: GeminiAdapter) -> None:
    assert on_message(synced, json.dumps(trade(event_id=170000000005, price="64012.40")), 2) == []
    # An older trade arriving late does not replace the newer last price.
    assert on_message(synced, json.dumps(trade(event_id=170000000004, price="1")), 3) == []
    (quote,) = on_message(synced, delta(["sell", "64012.40", "0.01"]), 4)
    assert quote.last == 64012.4
    on_connect(synced)
    (quote,) = on_message(synced, full_book(trades=[]), 5)
    assert quote.last == 64012.4  # kept across reconnects
    assert not synced.errors


def test_delta_after_a_lost_book_asks_for_a_resync(synced: GeminiAdapter) -> None:
    assert on_message(synced, delta(["buy", "abc", "1"]), 2) == []
    assert synced.errors == Counter({"bad_field": 1}) and reconnect_reason(synced) is None
    assert on_message(synced, delta(["buy", "64011", "1"]), 3) == []
    assert reconnect_reason(synced) == "sequence_gap"
    assert synced.errors == Counter({"bad_field": 1, "sequence_gap": 1})
    on_connect(synced)
    assert len(on_message(synced, full_book(), 4)) == 1


def test_on_connect_treats_the_next_update_as_a_full_book(synced: GeminiAdapter) -> None:
    on_connect(synced)
    (quote,) = on_message(synced, delta(["buy", "5", "1"], ["sell", "6", "1"]), 2)
    assert (quote.bid, quote.ask) == (5.0, 6.0)  # not merged into the old book


def test_crossed_by_deltas_resyncs_once_per_episode(synced: GeminiAdapter) -> None:
    assert on_message(synced, delta(["buy", "64013", "1"]), 2) == []
    assert reconnect_reason(synced) == "crossed_book"
    on_connect(synced)
    crossed = full_book(changes=[["buy", "64013", "1"], ["sell", "64012", "1"]])
    assert on_message(synced, crossed, 3) == []
    assert on_message(synced, delta(["buy", "64014", "1"]), 4) == []
    assert reconnect_reason(synced) is None
    assert synced.errors == Counter({"crossed_book": 3})
    (quote,) = on_message(synced, delta(["buy", "64014", "0"], ["buy", "64013", "0"],
                                       ["buy", "64011", "1"]), 5)
    assert (quote.bid, quote.ask) == (64011.0, 64012.0)


# --- control frames ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    '{"type": "heartbeat", "timestamp": 1767225600000}',
    '{"type": "heartbeat"}',
    '{"type": "auction_open", "symbol": "BTCUSD", "auction_open_ms": 1767225600000}',
    '{"type": "auction_result", "symbol": "BTCUSD", "result": "success"}',
])
def test_quiet_frames(adapter: GeminiAdapter, text: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_error_reply_is_counted_with_its_reason(adapter: GeminiAdapter) -> None:
    assert on_message(adapter, '{"result": "error", "reason": "NoValidTradingPairs"}', 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == "NoValidTradingPairs"
    text = '{"result": "error", "reason": "InvalidJson", "message": "bad frame"}'
    on_message(adapter, text, 2)
    assert last_error(adapter) == "InvalidJson: bad frame"
    assert reconnect_reason(adapter) is None


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("array", "[1, 2]", "not_object"),
    ("empty object", "{}", "unknown_event"),
    ("unknown type", '{"type": "candles_1m_updates", "symbol": "BTCUSD"}', "unknown_event"),
    ("type number", '{"type": 3}', "unknown_event"),
    ("result ok", '{"result": "ok"}', "unknown_event"),
    ("v1 update", '{"type": "update", "eventId": 1, "events": []}', "unknown_event"),
    ("unknown symbol", full_book("FOOUSD"), "unknown_market"),
    ("lower-case symbol", full_book("btcusd"), "unknown_market"),
    ("unknown symbol trade", json.dumps(trade("FOOUSD")), "unknown_market"),
    ("symbol number", full_book().replace('"symbol": "BTCUSD", "changes"', '"symbol": 1, '
                                          '"changes"'), "bad_field"),
    ("no symbol", without(full_book(), "symbol"), "bad_field"),
    ("no changes", without(full_book(), "changes"), "bad_field"),
    ("changes object", full_book(changes={"buy": "1"}), "bad_field"),
    ("change short", full_book(changes=[["buy", "1"]]), "bad_field"),
    ("side bid", full_book(changes=[["bid", "1", "1"]]), "bad_field"),
    ("price number", full_book(changes=[["buy", 1.5, "1"]]), "bad_field"),
    ("price NaN", full_book(changes=[["sell", "NaN", "1"]]), "bad_field"),
    ("price negative", full_book(changes=[["sell", "-2", "1"]]), "bad_field"),
    ("size negative", full_book(changes=[["sell", "2", "-1"]]), "bad_field"),
    ("size inf", full_book(changes=[["sell", "2", "inf"]]), "bad_field"),
    ("trades object", full_book(trades={}), "bad_field"),
    ("trade price number", full_book(trades=[trade(price=1.5)]), "bad_field"),
    ("trade event id string", full_book(trades=[trade(event_id="5")]), "bad_field"),
    ("trade no price", json.dumps({k: v for k, v in trade().items() if k != "price"}),
     "bad_field"),
    ("trade price zero", json.dumps(trade(price="0")), "bad_field"),
    ("trade event id bool", json.dumps(trade(event_id=True)), "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: GeminiAdapter, text: str,
                                          reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # Still usable: the symbol's next frame (a full book) is read normally.
    assert len(on_message(adapter, full_book(), 2)) == 1


def test_bad_delta_is_never_half_applied(synced: GeminiAdapter) -> None:
    assert on_message(synced, delta(["buy", "64011.5", "9"], ["buy", "64011", "x"]), 2) == []
    on_connect(synced)
    (quote,) = on_message(synced, full_book(), 3)
    assert quote.bid == 64010.15


# --- the recorded 2021 session -------------------------------------------------------------


def test_recorded_session_matches_an_independent_book() -> None:
    markets = GeminiAdapter.parse_markets(rest_body("gemini", "v1/symbols"))
    adapter = GeminiAdapter(markets)
    books: dict[str, tuple[dict[Decimal, str], dict[Decimal, str]]] = {}
    last_top: dict[str, tuple[Decimal, ...]] = {}
    last_trade: dict[str, tuple[int, str]] = {}
    kinds: Counter[str] = Counter()
    quotes_seen = 0
    for number, event in enumerate(ws_events("gemini")):
        quotes = on_message(adapter, event.payload, number)
        if event.kind != "recv":
            continue
        msg = json.loads(event.payload)
        kinds[msg["type"]] += 1
        expected: list[tuple[Any, ...]] = []
        symbol = msg.get("symbol")
        trades = msg.get("trades", [msg] if msg["type"] == "trade" else [])
        for item in trades:
            if symbol not in last_trade or item["event_id"] > last_trade[symbol][0]:
                last_trade[symbol] = (item["event_id"], item["price"])
        if msg["type"] == "l2_updates":
            if "trades" in msg:
                books[symbol] = ({}, {})
            for side, price, size in msg["changes"]:
                levels = books[symbol][0 if side == "buy" else 1]
                if Decimal(size) == 0:
                    levels.pop(Decimal(price), None)
                else:
                    levels[Decimal(price)] = size
            bids, asks = books[symbol]
            bid, ask = max(bids), min(asks)
            assert bid < ask
            top = (bid, Decimal(bids[bid]), ask, Decimal(asks[ask]))
            if last_top.get(symbol) != top:
                last_top[symbol] = top
                last = float(last_trade[symbol][1]) if symbol in last_trade else None
                normalized = f"{symbol[:-3]}-{symbol[-3:]}"  # every recorded quote is 3 letters
                expected.append(("gemini", normalized, *map(float, top), last, None, number))
        assert [tuple(q) for q in quotes] == expected, (number, event.payload[:200])
        quotes_seen += len(quotes)
    assert kinds == Counter({"l2_updates": 392, "trade": 9, "heartbeat": 5})
    assert quotes_seen > 100
    # The connection line (empty payload) and the one subscribe request the recorder sent.
    assert adapter.errors == Counter({"bad_json": 1, "unknown_event": 1})
    assert reconnect_reason(adapter) is None


def test_recorded_lines_whole_are_bad_json() -> None:
    adapter = GeminiAdapter([])
    raw = [line for line in (RECORDED_DIR / "gemini.ws.txt").read_text().splitlines() if line]
    for line in raw:
        assert on_message(adapter, line, 1) == []
    assert adapter.errors == Counter({"bad_json": len(raw)})
    assert len(raw) == len(list(ws_events("gemini"))) > 400
