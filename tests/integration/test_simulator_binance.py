"""The simulator speaks Binance spot streams as docs/protocols.md describes them."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from workers.exchanges.binance import BinanceAdapter
from workers.exchanges.events import Reconnect

pytestmark = pytest.mark.integration

DECIMAL8 = re.compile(r"^\d+\.\d{8}$")
# BTC-USD is configured but binance.com lists no USD pairs: the venue must leave it out.
SYMBOLS = "BTC-USDT,ETH-USDT,BTC-USD"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "binance", "--symbols", SYMBOLS, "--rate", "50")


def subscribe(ws: websocket.WebSocket, streams: list[str], req_id: Any = 1,
              method: str = "SUBSCRIBE") -> None:
    ws.send(json.dumps({"method": method, "params": streams, "id": req_id}))


def is_book_ticker(frame: Any) -> bool:
    return isinstance(frame, dict) and str(frame.get("stream", "")).endswith("@bookTicker")


def reply_to(req_id: Any):
    return lambda f: isinstance(f, dict) and f.get("id") == req_id and "stream" not in f


def test_exchange_info_lists_only_pairs_binance_has(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/binance/api/v3/exchangeInfo", timeout=5).json()
    assert body["timezone"] == "UTC" and isinstance(body["serverTime"], int)
    assert isinstance(body["rateLimits"], list) and body["exchangeFilters"] == []
    names = [s["symbol"] for s in body["symbols"]]
    assert names[:2] == ["BTCUSDT", "ETHUSDT"]
    assert "BTCUSD" not in names
    assert len(names) == 4  # two extra pairs nobody configured
    for entry in body["symbols"]:
        assert entry["status"] == "TRADING" and entry["isSpotTradingAllowed"] is True
        assert entry["symbol"] == entry["baseAsset"] + entry["quoteAsset"]
        assert entry["filters"][0]["filterType"] == "PRICE_FILTER"
    markets = BinanceAdapter.parse_markets(body)
    assert [m.symbol for m in markets][:2] == ["BTC-USDT", "ETH-USDT"]
    assert {m.native for m in markets} >= {"btcusdt", "ethusdt"}
    # The emission stats know only the listed configured symbols.
    assert set(sim.stats()["emitted"]["binance"]) == {"BTC-USDT", "ETH-USDT"}


def test_subscribe_ack_then_combined_book_tickers(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binance")) as ws:
        subscribe(ws, ["btcusdt@bookTicker"], req_id=7)
        # The ack comes first: nothing is pushed at subscribe time on spot.
        assert sh.recv_json(ws, 5) == {"result": None, "id": 7}
        frame = sh.wait_frame(ws, is_book_ticker)
        assert frame["stream"] == "btcusdt@bookTicker" and set(frame) == {"stream", "data"}
        data = frame["data"]
        assert set(data) == {"u", "s", "b", "B", "a", "A"}  # no event type, no time
        assert data["s"] == "BTCUSDT" and type(data["u"]) is int
        assert all(DECIMAL8.match(data[k]) for k in "bBaA")
        assert float(data["b"]) < float(data["a"])
        assert 40_000 < float(data["b"]) < 90_000
        subscribe(ws, [], req_id=8, method="LIST_SUBSCRIPTIONS")
        assert sh.wait_frame(ws, reply_to(8)) == {"result": ["btcusdt@bookTicker"], "id": 8}
        subscribe(ws, ["btcusdt@bookTicker"], req_id=9, method="UNSUBSCRIBE")
        assert sh.wait_frame(ws, reply_to(9)) == {"result": None, "id": 9}
        time.sleep(0.2)
        sh.collect(ws, 0.2)  # frames already under way
        assert [f for f in sh.collect(ws, 1.0) if is_book_ticker(f)] == []


def test_raw_events_after_set_property(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binance")) as ws:
        ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 1}))
        assert sh.recv_json(ws, 5) == {"result": True, "id": 1}
        ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", False], "id": 2}))
        assert sh.recv_json(ws, 5) == {"result": None, "id": 2}
        subscribe(ws, ["ethusdt@bookTicker", "ethusdt@aggTrade"], req_id=3)
        assert sh.recv_json(ws, 5) == {"result": None, "id": 3}
        frame = sh.wait_frame(ws, lambda f: isinstance(f, dict) and "u" in f)
        assert set(frame) == {"u", "s", "b", "B", "a", "A"} and frame["s"] == "ETHUSDT"
        trade = sh.wait_frame(ws, lambda f: isinstance(f, dict) and f.get("e") == "aggTrade", 15)
        assert trade["s"] == "ETHUSDT" and DECIMAL8.match(trade["p"]) and trade["T"] == trade["E"]


def test_errors_carry_binance_codes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binance")) as ws:
        checks: list[tuple[str, Any]] = [
            ("this is not json", lambda f: f["code"] == 3 and "Invalid JSON" in f["msg"]
             and "id" not in f),
            (json.dumps({"method": "SUBSCRIB", "params": [], "id": 5}),
             lambda f: f["code"] == 2 and "unknown variant `SUBSCRIB`" in f["msg"]
             and f["id"] == 5),
            (json.dumps({"method": "SUBSCRIBE", "params": ["BTCUSDT@bookTicker"], "id": 6}),
             lambda f: f["code"] == 2 and f["id"] == 6),
            (json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1.5}),
             lambda f: f["code"] == 2 and f["id"] is None),
            (json.dumps({"method": "SET_PROPERTY", "params": ["colour", True], "id": 7}),
             lambda f: f == {"code": 0, "msg": "Unknown property", "id": 7}),
        ]
        for text, check in checks:
            ws.send(text)
            frame = sh.recv_json(ws, 5)
            assert frame is not None and check(frame), (text, frame)
            time.sleep(0.25)  # stay under 5 incoming messages per second
        ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", "no"], "id": 8}))
        assert sh.recv_json(ws, 5) == {
            "code": 1, "msg": "Invalid value type: expected Boolean", "id": 8}


def test_unknown_symbol_is_acked_and_silent(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binance")) as ws:
        subscribe(ws, ["fooxyz@bookTicker", "bnbusdt@bookTicker"], req_id="a1")
        assert sh.recv_json(ws, 5) == {"result": None, "id": "a1"}
        # No data and no app-level heartbeat either: protocol pings are all Binance sends.
        assert sh.collect(ws, 1.5) == []


def test_more_than_five_messages_a_second_closes_the_connection(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binance")) as ws:
        for i in range(6):
            ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        ws.settimeout(5)
        replies = []
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                text = ws.recv()
                if not text:
                    raise websocket.WebSocketConnectionClosedException("closed")
                replies.append(json.loads(text))
        assert replies == [{"result": [], "id": i} for i in range(5)]


def test_reconnect_control_sends_server_shutdown(sim: sh.SimProcess) -> None:
    combined = sh.connect(sim.ws_url("binance"))
    raw = sh.connect(sim.ws_url("binance"))
    try:
        raw.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", False], "id": 1}))
        assert sh.recv_json(raw, 5) == {"result": None, "id": 1}
        assert sim.control("binance", "reconnect").json()["notified"] == 2
        notice = sh.recv_json(combined, 5)
        assert notice["stream"] == "!serverShutdown"
        assert notice["data"]["e"] == "serverShutdown" and type(notice["data"]["E"]) is int
        notice = sh.recv_json(raw, 5)
        assert set(notice) == {"e", "E"} and notice["e"] == "serverShutdown"
        # The adapter takes both shapes as a request to reconnect.
        adapter = BinanceAdapter([])
        assert adapter.on_message(json.dumps(notice), 1) == [Reconnect("server_shutdown")]
    finally:
        combined.close()
        raw.close()


def test_count_is_exact_and_the_adapter_sees_every_change() -> None:
    sim = sh.SimProcess("--exchanges", "binance", "--symbols", SYMBOLS, "--count", "300",
                        "--rate", "0").start()
    ws = sh.connect(sim.ws_url("binance"))
    try:
        markets = BinanceAdapter.parse_markets(
            requests.get(f"{sim.http}/binance/api/v3/exchangeInfo", timeout=5).json())
        adapter = BinanceAdapter([m for m in markets if m.symbol in ("BTC-USDT", "ETH-USDT")])
        adapter.on_connect()
        for frame in adapter.subscribe_messages():
            ws.send(frame)
        books: list[dict[str, Any]] = []

        def counted(frame: Any) -> bool:
            if is_book_ticker(frame):
                books.append(frame)
            return len(books) >= 300

        texts = sh.collect_texts(ws, 60, until=sh.decoded(counted))
        # Nothing more comes once the count is reached (trades of the last burst may).
        tail = sh.collect(ws, 1.5)
        assert [f for f in tail if is_book_ticker(f)] == []
        texts += [json.dumps(f) for f in tail]
        assert len(books) == 300
        counts: dict[str, int] = defaultdict(int)
        last: dict[str, tuple[int, tuple[str, ...]]] = {}
        for frame in books:
            data = frame["data"]
            symbol = data["s"]
            counts[symbol] += 1
            top = (data["b"], data["B"], data["a"], data["A"])
            assert float(data["b"]) < float(data["a"])
            if symbol in last:
                # No time on spot bookTicker: the update id is what rises, and the top moves.
                assert data["u"] > last[symbol][0] and top != last[symbol][1]
            last[symbol] = (data["u"], top)
        assert dict(counts) == {"BTCUSDT": sim.stats()["emitted"]["binance"]["BTC-USDT"],
                                "ETHUSDT": sim.stats()["emitted"]["binance"]["ETH-USDT"]}
        assert sum(sim.stats()["emitted"]["binance"].values()) == 300
        # The adapter, fed the same frames, yields exactly one quote per change.
        quotes = [q for i, text in enumerate(texts) for q in adapter.on_message(text, i)]
        assert len(quotes) == 300 and not adapter.errors
        assert {q.symbol for q in quotes} == {"BTC-USDT", "ETH-USDT"}
        assert all(q.ts_exchange_ns is None for q in quotes)
        assert any(q.last is not None for q in quotes)  # aggTrades reached `last`
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
