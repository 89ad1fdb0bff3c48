"""The simulator speaks Crypto.com Exchange v1 market data: coded replies, delta books with a
`u`/`pu` chain, heartbeats that must be answered, the instrument list, and its faults, read by
the adapter as the feed would (its `Send` replies go back on the socket)."""

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
from workers.exchanges.cryptocom import CryptocomAdapter
from workers.exchanges.events import Reconnect, Send

pytestmark = pytest.mark.integration

SYMBOLS = "BTC-USDT,ETH-USD,ETH-EUR,BTC-KRW"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "cryptocom", "--symbols", SYMBOLS, "--rate", "50")


def request(ws: websocket.WebSocket, method: str, req_id: int = 1, **params: Any) -> None:
    ws.send(json.dumps({"id": req_id, "method": method, "params": params,
                        "nonce": int(time.time() * 1000)}))


def is_reply(req_id: int) -> Any:
    return lambda f: f.get("id") == req_id and "result" not in f


def run(ws: websocket.WebSocket, adapter: CryptocomAdapter, seconds: float,
        until: Any = None) -> list[Any]:
    """Events the adapter makes of the frames; its replies are sent back as the loop would."""
    events: list[Any] = []

    def read(text: str) -> bool:
        for event in adapter.on_message(text, time.time_ns()):
            if type(event) is Send:
                ws.send(event.frame)
            events.append(event)
        return until is not None and until(events)

    sh.collect_texts(ws, seconds, until=read)
    return events


def test_instrument_list(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/cryptocom/public/get-instruments", timeout=5).json()
    assert body["code"] == 0 and body["method"] == "public/get-instruments"
    names = {row["symbol"]: row["inst_type"] for row in body["result"]["data"]}
    assert {"BTC_USDT", "ETH_USD", "ETH_EUR"} <= set(names) and "BTC_KRW" not in names
    assert names["BTCUSD-PERP"] == "PERPETUAL_SWAP"
    markets = CryptocomAdapter.parse_markets(body)
    spot = {n for n, kind in names.items() if kind == "CCY_PAIR"}
    assert {m.native for m in markets} == spot


def test_subscribe_ack_snapshot_and_deltas_chain(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("cryptocom")) as ws:
        request(ws, "subscribe", 7, channels=["book.BTC_USDT.10"],
                book_subscription_type="SNAPSHOT_AND_UPDATE", book_update_frequency=10)
        assert sh.wait_frame(ws, is_reply(7)) == {"id": 7, "method": "subscribe", "code": 0}
        snap = sh.wait_frame(ws, lambda f: f.get("result", {}).get("channel") == "book")
        assert snap["result"]["subscription"] == "book.BTC_USDT.10"
        last = snap["result"]["data"][0]["u"]
        deltas = [f for f in sh.collect(ws, 1.5) if "result" in f]
        assert len(deltas) > 10
        for f in deltas:
            (data,) = f["result"]["data"]
            assert f["result"]["channel"] == "book.update" and data["pu"] == last
            assert data["u"] > last and type(data["t"]) is int
            last = data["u"]


def test_requests_refused_with_codes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("cryptocom")) as ws:
        ws.send("hello")
        assert sh.wait_frame(ws, lambda f: f.get("code") == 40001)["method"] == "ERROR"
        request(ws, "subscribe", 2, channels=["book.FOO_USD.10"])
        assert sh.wait_frame(ws, is_reply(2))["code"] == 40003
        request(ws, "subscribe", 3, channels=["book.BTC_USDT.25"])
        assert sh.wait_frame(ws, is_reply(3))["code"] == 40003
        request(ws, "public/frobnicate", 4)
        assert sh.wait_frame(ws, is_reply(4))["code"] == 40002
        request(ws, "subscribe", 5, channels=[f"trade.C{i}_USD" for i in range(2)])
        assert sh.wait_frame(ws, is_reply(5))["code"] == 40003
        request(ws, "subscribe", 6, channels=["trade.ETH_USD", "ticker.ETH_USD"])
        assert sh.wait_frame(ws, is_reply(6))["code"] == 0


def test_heartbeats_answered_keep_the_connection(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, CryptocomAdapter, "cryptocom", ("ETH-EUR",))
    try:
        events = run(ws, adapter, 10.0)
        assert any(type(e) is Send for e in events) and any(type(e) is Quote for e in events)
        assert ws.connected and not [e for e in events if type(e) is Reconnect]
    finally:
        ws.close()


def test_an_unanswered_heartbeat_closes_the_connection(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("cryptocom")) as ws:
        beat = sh.wait_frame(ws, lambda f: f.get("method") == "public/heartbeat", 5)
        assert type(beat["id"]) is int and beat["code"] == 0
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            sh.collect_texts(ws, 8.0)
            ws.send("{}")


def test_gap_fault_resyncs_the_adapter(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, CryptocomAdapter, "cryptocom", ("BTC-USDT", "ETH-USD"))
    try:
        assert any(type(e) is Quote for e in run(ws, adapter, 1.0))
        assert sim.control("cryptocom", "gap").ok
        events = run(ws, adapter, 5.0, until=lambda ev: Reconnect("sequence_gap") in ev)
        assert Reconnect("sequence_gap") in events
        assert adapter.errors["sequence_gap"] >= 1
    finally:
        ws.close()


def test_reconnect_garbage_and_unknown_faults(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, CryptocomAdapter, "cryptocom", ("BTC-USDT",))
    try:
        run(ws, adapter, 0.5)
        assert sim.control("cryptocom", "garbage").ok
        run(ws, adapter, 1.0, until=lambda ev: adapter.errors["bad_json"] > 0)
        assert adapter.errors["bad_json"] == 1
        assert sim.control("cryptocom", "bad_checksum").status_code == 400
        assert sim.control("cryptocom", "reconnect").json()["notified"] == 1
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            run(ws, adapter, 3.0)
            ws.send("{}")
    finally:
        ws.close()
