"""The simulator speaks Gate.io spot v4: requests and their acks or errors, book tickers, depth
diffs joined to REST snapshots, pings, and the faults an adapter must survive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from tests.support.depth_sessions import (
    depth_joins,
    depth_session,
    gap_resyncs,
    tops_through_adapter,
)
from workers.exchanges.gateio import GateioAdapter

pytestmark = pytest.mark.integration
FOLLOWED = ("BTC-USDT", "ETH-BTC")


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    # BTC-USD is configured too, but Gate lists no USD pairs: the venue must leave it out.
    symbols = ",".join((*FOLLOWED, "BTC-USD"))
    yield from sh.serve("--exchanges", "gateio", "--symbols", symbols, "--rate", "40")


def request(ws: websocket.WebSocket, channel: str, payload: Any = None,
            event: str | None = "subscribe") -> Any:
    """Send one request; its answer (the next frame)."""
    body: dict[str, Any] = {"time": 1767225600, "channel": channel}
    if event is not None:
        body.update(event=event, payload=payload)
    ws.send(json.dumps(body))
    return sh.recv_json(ws, 5)


def depth_adapter(sim: sh.SimProcess) -> tuple[GateioAdapter, websocket.WebSocket]:
    return depth_session(sim, GateioAdapter, "gateio", FOLLOWED)


def test_listing_has_only_pairs_gate_trades(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/gateio/spot/currency_pairs", timeout=5).json()
    assert [p["id"] for p in body][:2] == ["BTC_USDT", "ETH_BTC"]
    assert "BTC_USD" not in {p["id"] for p in body}
    markets = GateioAdapter.parse_markets(body)
    assert "ETH_SGD" not in {m.native for m in markets}  # listed, not tradable
    assert set(sim.stats()["emitted"]["gateio"]) == set(FOLLOWED)


def test_acks_errors_and_pong(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("gateio")) as ws:
        ack = request(ws, "spot.book_ticker", ["BTC_USDT"])
        assert ack["event"] == "subscribe" and ack["result"] == {"status": "success"}
        assert type(ack["time"]) is int and type(ack["time_ms"]) is int
        checks = [(("spot.trades", ["FOO_USDT"]), 2), (("spot.order_book_update",
                   ["BTC_USDT", "5ms"]), 2), (("spot.candles", ["BTC_USDT"]), 2)]
        for (channel, payload), code in checks:
            ws.send(json.dumps({"time": 1, "channel": channel, "event": "subscribe",
                                "payload": payload}))
            frame = sh.wait_frame(ws, lambda f: f.get("error") is not None)
            assert frame["error"]["code"] == code and frame["result"] is None, frame
        ws.send("not json")
        assert sh.wait_frame(ws, lambda f: f.get("error") is not None)["error"]["code"] == 1
        ws.send(json.dumps({"time": 1, "channel": "spot.ping"}))
        assert sh.wait_frame(ws, lambda f: f["channel"] == "spot.pong")["result"] is None


def test_book_tickers_through_the_adapter(sim: sh.SimProcess) -> None:
    tops_through_adapter(sim, GateioAdapter, "gateio", FOLLOWED, timed=True)


def test_depth_diffs_join_the_rest_snapshots(sim: sh.SimProcess) -> None:
    adapter, ws = depth_adapter(sim)
    try:
        depth_joins(adapter, ws)
        snap = requests.get(f"{sim.http}/gateio/spot/order_book", timeout=5, params={
            "currency_pair": "BTC_USDT", "limit": "5", "with_id": "true"}).json()
        assert type(snap["id"]) is int and len(snap["bids"]) == len(snap["asks"]) == 5
        assert float(snap["bids"][0][0]) < float(snap["asks"][0][0])
        plain = requests.get(f"{sim.http}/gateio/spot/order_book",
                             params={"currency_pair": "ETH_BTC"}, timeout=5).json()
        assert "id" not in plain and len(plain["bids"]) == 10
        # An unknown pair, no pair, or a limit out of range: refused (400).
        for query in ({"currency_pair": "BTC_USD"}, {}, {"currency_pair": "ETH_BTC", "limit": 0}):
            answer = requests.get(f"{sim.http}/gateio/spot/order_book", params=query, timeout=5)
            assert answer.status_code == 400, query
    finally:
        ws.close()


def test_gap_fault_resyncs_the_depth_book(sim: sh.SimProcess) -> None:
    gap_resyncs(sim, "gateio", *depth_adapter(sim))


def test_garbage_is_counted_and_reconnect_closes(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, GateioAdapter, "gateio", FOLLOWED)
    try:
        sh.through_adapter(ws, adapter, 1, timeout_s=10, quiet_s=0.1)
        assert sim.control("gateio", "garbage").ok
        sh.through_adapter(ws, adapter, 10**6, timeout_s=1.0, quiet_s=0.0)
        assert adapter.errors["bad_json"] == 1
        assert sim.control("gateio", "reconnect").json()["notified"] >= 1
        ws.settimeout(5)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(10_000):  # frames still under way, then the close
                if not ws.recv():
                    raise websocket.WebSocketConnectionClosedException("closed")
    finally:
        ws.close()
