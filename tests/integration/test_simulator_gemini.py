"""The simulator speaks Gemini market data v2: full book then deltas per symbol, trades,
heartbeats, error replies, REST symbols and details, and exact counts."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
import websocket

from core.types import Market, Quote
from tests.support import simulator as sh
from workers.exchanges.gemini import GeminiAdapter

pytestmark = pytest.mark.integration

DECIMAL = re.compile(r"^\d+(\.\d+)?$")
SYMBOLS = ["BTCUSD", "ETHUSD"]
MARKETS = [Market("BTC-USD", "BTCUSD", "BTC", "USD"), Market("ETH-USD", "ETHUSD", "ETH", "USD")]


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "gemini", "--symbols", "BTC-USD,ETH-USD", "--rate",
                      "100")


def subscribe(ws: websocket.WebSocket, symbols: list[str], kind: str = "subscribe") -> None:
    ws.send(json.dumps({"type": kind, "subscriptions": [{"name": "l2", "symbols": symbols}]}))


def is_full_book(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "l2_updates" and "trades" in frame


def is_delta(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "l2_updates" and "trades" not in frame


def check_levels(changes: list[Any]) -> None:
    for side, price, size in changes:
        assert side in ("buy", "sell") and DECIMAL.match(price) and DECIMAL.match(size)


# --- protocol ------------------------------------------------------------------------------


def test_full_book_then_deltas_and_trades(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("gemini")) as ws:
        subscribe(ws, ["ETHUSD"])
        trade = sh.wait_frame(ws, lambda f: f.get("type") == "trade", 10)  # the stream is running
        assert set(trade) == {"type", "symbol", "event_id", "timestamp", "price", "quantity",
                              "side"}
        assert trade["symbol"] == "ETHUSD" and trade["side"] in ("buy", "sell")
        assert isinstance(trade["event_id"], int) and isinstance(trade["timestamp"], int)
        assert abs(trade["timestamp"] / 1000 - time.time()) < 60  # ms since the epoch
        delta = sh.wait_frame(ws, is_delta)
        assert set(delta) == {"type", "symbol", "changes"}
        check_levels(delta["changes"])
        # A later subscriber gets the whole current book with the recent trades.
        late = sh.connect(sim.ws_url("gemini"))
        try:
            subscribe(late, ["ETHUSD"])
            book = sh.wait_frame(late, lambda f: f.get("type") == "l2_updates")
            assert is_full_book(book) and book["auction_events"] == []
            check_levels(book["changes"])
            sides = [c[0] for c in book["changes"]]
            assert sides == sorted(sides)  # bids first, then asks (as recorded)
            bids = [Decimal(c[1]) for c in book["changes"] if c[0] == "buy"]
            asks = [Decimal(c[1]) for c in book["changes"] if c[0] == "sell"]
            assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
            assert len(bids) == len(asks) == 20 and bids[0] < asks[0]
            ids = [t["event_id"] for t in book["trades"]]
            assert 1 <= len(ids) <= 50 and ids == sorted(ids, reverse=True)  # newest first
            assert trade["event_id"] in ids
            # The adapter quotes that book (a real top of book, no venue time).
            (quote,) = GeminiAdapter(MARKETS).on_message(json.dumps(book), 5)
            assert (quote.bid, quote.ask, quote.ts_exchange_ns) == (
                float(bids[0]), float(asks[0]), None)
            assert quote.last == float(book["trades"][0]["price"])
        finally:
            late.close()


@pytest.mark.parametrize(("request_text", "reason"), [
    ("not json", "InvalidJson"),
    ('{"type": "subscribe", "subscriptions": [{"name": "l2", "symbols": ["btcusd"]}]}',
     "NoValidTradingPairs"),
    ('{"type": "subscribe", "subscriptions": [{"name": "l2", "symbols": ["FOOUSD"]}]}',
     "NoValidTradingPairs"),
    ('{"type": "subscribe", "subscriptions": [{"name": "l2", "symbols": []}]}',
     "NoValidTradingPairs"),
    ('{"type": "subscribe", "subscriptions": [{"name": "l3", "symbols": ["BTCUSD"]}]}',
     "InvalidSubscription"),
    ('{"type": "subscribe", "subscriptions": {"name": "l2"}}', "InvalidRequest"),
    ('{"type": "ping"}', "InvalidRequest"),
])
def test_errors(sim: sh.SimProcess, request_text: str, reason: str) -> None:
    with sh.connected(sim.ws_url("gemini")) as ws:
        ws.send(request_text)
        assert sh.collect(ws, 1.0) == [{"result": "error", "reason": reason}]


def test_no_ack_unknown_symbols_dropped_and_unsubscribe(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("gemini")) as ws:
        subscribe(ws, ["BTCUSD", "FOOUSD"])
        # The book comes first, no ack.
        assert sh.wait_frame(ws, lambda _: True)["symbol"] == "BTCUSD"
        assert {f.get("symbol") for f in sh.collect(ws, 1.0)} <= {"BTCUSD", None}
        subscribe(ws, ["BTCUSD"], kind="unsubscribe")
        sh.collect(ws, 0.3)
        assert [f for f in sh.collect(ws, 1.0) if f["type"] != "heartbeat"] == []


def test_heartbeat_every_5_s_and_reconnect_closes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("gemini")) as ws:
        subscribe(ws, ["BTCUSD"])
        started = time.monotonic()
        beat = sh.wait_frame(ws, lambda f: f.get("type") == "heartbeat", 7)
        assert 4.0 <= time.monotonic() - started <= 6.5
        assert set(beat) == {"type", "timestamp"} and isinstance(beat["timestamp"], int)
        assert sim.control("gemini", "gap").status_code == 400  # v2 has no sequence numbers
        assert sim.control("gemini", "bad_checksum").status_code == 400
        assert sim.control("gemini", "reconnect").json()["notified"] >= 1
        ws.settimeout(3)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                if ws.recv() == "":  # the close frame
                    raise websocket.WebSocketConnectionClosedException()


def test_rest_symbols_and_details(sim: sh.SimProcess) -> None:
    names = requests.get(f"{sim.http}/gemini/v1/symbols", timeout=5).json()
    assert names == ["btcusd", "ethusd", "btcgusd", "ethbtc"]  # configured + 2 extras
    details = [requests.get(f"{sim.http}/gemini/v1/symbols/details/{n}", timeout=5).json()
               for n in names]
    assert details[0] == {"symbol": "BTCUSD", "base_currency": "BTC", "quote_currency": "USD",
                          "tick_size": 1e-08, "quote_increment": 0.01,
                          "min_order_size": "0.00001", "status": "open"}
    assert details[2]["quote_currency"] == "GUSD"
    from_names = GeminiAdapter.parse_markets(names)
    assert from_names == GeminiAdapter.parse_markets(details)
    assert [m.symbol for m in from_names] == ["BTC-USD", "ETH-USD", "BTC-GUSD", "ETH-BTC"]


# --- exact counts --------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["200", "0"])
def test_count_is_exact_and_the_adapter_quotes_each_change_once(rate: str) -> None:
    sim = sh.SimProcess("--exchanges", "gemini", "--symbols", "BTC-USD,ETH-USD",
                     "--count", "300", "--rate", rate).start()
    ws = sh.connect(sim.ws_url("gemini"))
    try:
        subscribe(ws, SYMBOLS)
        deltas = 0

        def enough(frame: dict[str, Any]) -> bool:
            nonlocal deltas
            deltas += is_delta(frame)
            return deltas >= 300

        received = sh.collect_texts(ws, 10, lambda t: enough(json.loads(t)))
        received += sh.collect_texts(ws, 1.0)  # a trade may follow the last change
        decoded = [json.loads(t) for t in received]
        # A fresh simulator has no book before the first change: both full books are empty.
        assert [(f["symbol"], f["changes"], f["trades"]) for f in decoded if is_full_book(f)] == [
            ("BTCUSD", [], []), ("ETHUSD", [], [])]
        per_symbol = Counter(f["symbol"] for f in decoded if is_delta(f))
        stats = sim.stats()["emitted"]["gemini"]
        assert sum(per_symbol.values()) == 300 == sum(stats.values())
        assert {f"{s[:3]}-{s[3:]}": n for s, n in per_symbol.items()} == stats
        # Independently: every delta moves its symbol's top; trade times never go back.
        books: dict[str, tuple[dict[Decimal, str], dict[Decimal, str]]] = {
            s: ({}, {}) for s in SYMBOLS}
        tops: dict[str, tuple[Any, ...]] = {}
        trade_ms: dict[str, int] = {}
        expected = []
        for frame in decoded:
            if frame["type"] == "trade":
                assert frame["timestamp"] >= trade_ms.get(frame["symbol"], 0)
                trade_ms[frame["symbol"]] = frame["timestamp"]
            if not is_delta(frame):
                continue
            symbol = frame["symbol"]
            for side, price, size in frame["changes"]:
                levels = books[symbol][0 if side == "buy" else 1]
                if Decimal(size) == 0:
                    del levels[Decimal(price)]
                else:
                    levels[Decimal(price)] = size
            bids, asks = books[symbol]
            top = (max(bids), Decimal(bids[max(bids)]), min(asks), Decimal(asks[min(asks)]))
            assert top[0] < top[2] and top != tops.get(symbol)
            tops[symbol] = top
            expected.append((f"{symbol[:3]}-{symbol[3:]}", *map(float, top)))
        adapter = GeminiAdapter(MARKETS)
        quotes = [q for n, text in enumerate(received) for q in adapter.on_message(text, n)]
        assert len(quotes) == 300
        assert [(q.symbol, q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes] == expected
        assert all(q.ts_exchange_ns is None for q in quotes)
        assert not adapter.errors and all(type(q) is Quote for q in quotes)  # no Reconnect
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
