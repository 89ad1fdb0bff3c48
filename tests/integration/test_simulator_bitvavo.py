"""The simulator speaks Bitvavo v2: subscribe confirmations, coded errors, `ticker` events, `book`
events with consecutive nonces and the REST book they are seeded from, and its faults, read by
the adapter as the feed would (its REST requests are fetched from the simulator)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from core.types import Quote
from tests.support import simulator as sh
from workers.exchanges.bitvavo import BitvavoAdapter
from workers.exchanges.events import Reconnect, RestRequest

pytestmark = pytest.mark.integration

SYMBOLS = "BTC-EUR,ETH-EUR,BTC-USDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bitvavo", "--symbols", SYMBOLS, "--rate", "50")


def subscribe(ws: websocket.WebSocket, name: str, *markets: str,
              action: str = "subscribe") -> None:
    ws.send(json.dumps({"action": action, "channels": [{"name": name,
                                                        "markets": list(markets)}]}))


def is_event(name: str) -> Any:
    return lambda f: f.get("event") == name


def book_adapter(sim: sh.SimProcess, *symbols: str) -> tuple[BitvavoAdapter, websocket.WebSocket]:
    """A book-path adapter whose REST base is the simulator's, subscribed on a new socket."""
    listing = requests.get(f"{sim.http}/bitvavo/markets", timeout=5).json()
    adapter = BitvavoAdapter([m for m in BitvavoAdapter.parse_markets(listing)
                              if m.symbol in symbols], book=True)
    adapter.rest_base = f"{sim.http}/bitvavo"
    adapter.on_connect()
    ws = sh.connect(sim.ws_url("bitvavo"))
    for frame in adapter.subscribe_messages():
        ws.send(frame)
    return adapter, ws


def run(ws: websocket.WebSocket, adapter: BitvavoAdapter, seconds: float,
        until: Any = None) -> list[Any]:
    """Events the adapter makes of the frames; each REST request is fetched and answered."""
    events: list[Any] = []

    def take(new: list[Any]) -> None:
        for event in new:
            events.append(event)
            if type(event) is RestRequest:
                body = requests.get(event.url, timeout=5).text
                take(adapter.on_rest(event.url, body, time.time_ns()))

    def read(text: str) -> bool:
        take(adapter.on_message(text, time.time_ns()))
        return until is not None and until(events)

    sh.collect_texts(ws, seconds, until=read)
    return events


def test_markets_listing(sim: sh.SimProcess) -> None:
    rows = requests.get(f"{sim.http}/bitvavo/markets", timeout=5).json()
    status = {row["market"]: row["status"] for row in rows}
    assert status["BTC-EUR"] == status["ETH-EUR"] == "trading" and "BTC-USDT" not in status
    assert "halted" in status.values()
    markets = BitvavoAdapter.parse_markets(rows)
    assert {m.native for m in markets} == {n for n, s in status.items() if s == "trading"}


def test_ticker_confirmation_and_events(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitvavo")) as ws:
        subscribe(ws, "ticker", "BTC-EUR", "ETH-EUR")
        confirm = sh.wait_frame(ws, is_event("subscribed"))
        assert confirm == {"event": "subscribed",
                           "subscriptions": {"ticker": ["BTC-EUR", "ETH-EUR"]}}
        tickers = [f for f in sh.collect(ws, 1.5) if f.get("event") == "ticker"]
        assert {f["market"] for f in tickers} == {"BTC-EUR", "ETH-EUR"}
        for f in tickers:
            assert float(f["bestBid"]) < float(f["bestAsk"]) and float(f["bestBidSize"]) > 0
        subscribe(ws, "ticker", "BTC-EUR", "ETH-EUR", action="unsubscribe")
        assert sh.wait_frame(ws, is_event("unsubscribed"))["subscriptions"] == {}


def test_errors_carry_bitvavo_codes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitvavo")) as ws:
        ws.send("hello")
        assert sh.wait_frame(ws, is_event("error"))["errorCode"] == 102
        subscribe(ws, "ticker", "DOGE-EUR")
        assert sh.wait_frame(ws, is_event("error"))["errorCode"] == 205
        subscribe(ws, "orders", "BTC-EUR")
        assert sh.wait_frame(ws, is_event("error"))["errorCode"] == 203


def test_rest_book_snapshot(sim: sh.SimProcess) -> None:
    url = f"{sim.http}/bitvavo/BTC-EUR/book"
    body = requests.get(url, params={"depth": "3"}, timeout=5).json()
    assert body["market"] == "BTC-EUR" and type(body["nonce"]) is int
    assert len(body["bids"]) <= 3 and len(body["asks"]) <= 3
    assert requests.get(url, params={"depth": "5000"}, timeout=5).status_code == 400


def test_ticker_path_through_the_adapter(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, BitvavoAdapter, "bitvavo", ("BTC-EUR", "ETH-EUR"))
    try:
        _, out = sh.through_adapter(ws, adapter, 20, timeout_s=10.0, quiet_s=0.2)
        assert len(out) >= 20 and all(type(e) is Quote for e in out)
        assert {q.symbol for q in out} == {"BTC-EUR", "ETH-EUR"} and not adapter.errors
    finally:
        ws.close()


def test_book_path_is_seeded_from_rest_and_resyncs_on_gap(sim: sh.SimProcess) -> None:
    adapter, ws = book_adapter(sim, "BTC-EUR", "ETH-EUR")
    try:
        events = run(ws, adapter, 3.0)
        fetched = [e for e in events if type(e) is RestRequest]
        assert len(fetched) == 2 and sum(type(e) is Quote for e in events) > 10
        assert not adapter.errors
        assert sim.control("bitvavo", "gap").ok
        events = run(ws, adapter, 5.0, until=lambda ev: sum(
            type(e) is RestRequest for e in ev) >= 2 and type(ev[-1]) is Quote)
        assert sum(type(e) is RestRequest for e in events) == 2
        assert adapter.errors == {"sequence_gap": 2}
        assert not [e for e in events if type(e) is Reconnect]
        assert type(events[-1]) is Quote  # quoting again from the new snapshots
    finally:
        ws.close()


def test_reconnect_and_garbage(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, BitvavoAdapter, "bitvavo", ("BTC-EUR",))
    try:
        assert sim.control("bitvavo", "garbage").ok
        sh.through_adapter(ws, adapter, 1, timeout_s=3.0, quiet_s=0.2)
        assert adapter.errors["bad_json"] == 1
        assert sim.control("bitvavo", "bad_checksum").status_code == 400
        assert sim.control("bitvavo", "reconnect").json()["notified"] == 1
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            sh.collect_texts(ws, 3.0)
            ws.send("{}")
        assert adapter.on_message('{"event":"error","errorCode":400,"error":"x"}', 1)
    finally:
        ws.close()
