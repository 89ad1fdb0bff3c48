"""`/ws` against a real gunicorn web process and the real Redis, under this run's key prefix."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from core.state import RedisState
from tests.support.procs import VENV_BIN, Proc, free_port, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web_url() -> Iterator[str]:
    """gunicorn as deployed (web/gunicorn_conf.py) serving the app with this run's KEY_PREFIX."""
    port = free_port()
    proc = Proc("web-live", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                             "web:create_app()", "--bind", f"127.0.0.1:{port}"])
    url = f"127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"http://{url}/healthz", timeout=2).status_code
                 in (200, 503), 30, "the web app")
        yield url
    finally:
        proc.stop()


def quote(symbol: str, bid: float, exchange: str = "kraken") -> dict[str, Any]:
    now = time.time_ns()
    return {"exchange": exchange, "symbol": symbol, "bid": bid, "bid_size": 1.0,
            "ask": bid + 1, "ask_size": 1.0, "last": None, "ts_exchange_ns": now - 1000,
            "ts_received_ns": now}


def connect(url: str, **options: Any) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://{url}/ws", timeout=5, **options)


def recv_json(ws: websocket.WebSocket, timeout_s: float) -> dict[str, Any] | None:
    """The next non-ping event, or None when nothing came within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        ws.settimeout(left)
        try:
            event = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if event["type"] != "ping":
            return event
    return None


def drain(ws: websocket.WebSocket, quiet_s: float = 0.5) -> list[dict[str, Any]]:
    """Everything that arrives until the line is quiet for `quiet_s`."""
    out = []
    while (event := recv_json(ws, quiet_s)) is not None:
        out.append(event)
    return out


def wait_live(ws: websocket.WebSocket, state: RedisState) -> None:
    """Publish probe feed events until this client gets one (the hub subscribes lazily)."""
    marker = uuid.uuid4().hex
    for _ in range(50):
        state.publish("feed", {"exchange": marker, "state": "probe"})
        event = recv_json(ws, 0.2)
        if event and event["type"] == "feed" and event["data"]["exchange"] == marker:
            drain(ws, 0.3)
            return
    raise AssertionError("the client never received a probe event")


def sync(ws: websocket.WebSocket) -> dict[str, Any]:
    """Round trip: a deliberately bad message is answered after every earlier message was
    applied, since one thread handles a client's messages in order."""
    ws.send("sync")
    for _ in range(100):
        event = recv_json(ws, 2)
        assert event is not None, "no answer to the sync message"
        if event["type"] == "error":
            return event
    raise AssertionError("no error event")


def test_quote_arrives_within_one_second(web_url: str, state: RedisState) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        sent = quote("BTC-USD", 100.0)
        t0 = time.monotonic()
        state.publish("quote", sent)
        event = recv_json(ws, 1.0)
        assert event is not None and time.monotonic() - t0 < 1.0
        assert event["type"] == "quote"
        assert event["data"] == sent
        assert event["data"]["ts_exchange_ns"] == sent["ts_exchange_ns"]
        assert event["data"]["ts_received_ns"] == sent["ts_received_ns"]
    finally:
        ws.close()


def test_subscription_narrows_but_feed_events_reach_everyone(web_url: str,
                                                             state: RedisState) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        ws.send(json.dumps({"subscribe": ["ETH-USD"]}))
        sync(ws)
        state.publish("quote", quote("BTC-USD", 1.0))
        state.publish("opportunity", {"action": "open", "symbol": "BTC-USD",
                                      "buy_exchange": "a", "sell_exchange": "b"})
        state.publish("quote", quote("ETH-USD", 2.0))
        state.publish("feed", {"exchange": "kraken", "state": "connected"})
        got = drain(ws)
        assert [(e["type"], e["data"].get("symbol")) for e in got] == [
            ("quote", "ETH-USD"), ("feed", None)]
        ws.send(json.dumps({"subscribe": []}))  # back to everything
        sync(ws)
        state.publish("quote", quote("BTC-USD", 3.0))
        assert [e["data"]["symbol"] for e in drain(ws)] == ["BTC-USD"]
    finally:
        ws.close()


def test_burst_is_coalesced_newest_last(web_url: str, state: RedisState) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        state.publish_many(("quote", quote("BTC-USD", float(i))) for i in range(100))
        got = drain(ws)
        bids = [e["data"]["bid"] for e in got]
        assert 1 <= len(bids) <= 5, bids
        assert bids[-1] == 99.0
        assert bids == sorted(bids)
    finally:
        ws.close()


def test_coalesce_false_gets_every_event_in_order(web_url: str, state: RedisState) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        ws.send(json.dumps({"coalesce": False}))
        sync(ws)
        state.publish_many(("quote", quote("BTC-USD", float(i))) for i in range(100))
        bids = [e["data"]["bid"] for e in drain(ws)]
        assert bids == [float(i) for i in range(100)]
    finally:
        ws.close()


@pytest.mark.parametrize("message", [
    "not json", "[1]", '{"subscribe": "BTC-USD"}', '{"coalesce": 1}', '{"foo": true}',
    json.dumps({"subscribe": ["X" * 60] * 200}),
])
def test_malformed_message_gets_error_and_connection_stays_up(
        web_url: str, state: RedisState, message: str) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        ws.send(message)
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "error"
        assert isinstance(event["data"]["message"], str) and event["data"]["message"]
        state.publish("quote", quote("ETH-USD", 7.0))
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "quote" and event["data"]["bid"] == 7.0
    finally:
        ws.close()


def test_a_client_that_never_reads_is_dropped_without_delaying_others(
        web_url: str, state: RedisState) -> None:
    reader = connect(web_url)
    # A small receive buffer, set before connecting so the kernel cannot soak up the backlog.
    stalled = connect(web_url, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    try:
        wait_live(reader, state)
        wait_live(stalled, state)
        stalled.send(json.dumps({"coalesce": False}))
        reader.send(json.dumps({"subscribe": ["ETH-USD"]}))
        sync(reader)
        pad = "x" * 8000
        lags = []
        for burst in range(10):
            state.publish_many(("quote", {**quote("BTC-USD", float(i)), "pad": pad})
                               for i in range(300))
            sent = quote("ETH-USD", float(burst))
            state.publish("quote", sent)
            event = recv_json(reader, 1.0)
            assert event is not None and event["data"]["bid"] == float(burst)
            lags.append(time.time_ns() - sent["ts_received_ns"])
        assert max(lags) < 1e9

        def dropped() -> bool:
            stalled.settimeout(0.5)
            try:
                while stalled.recv():
                    pass
            except websocket.WebSocketTimeoutException:
                return False
            except (websocket.WebSocketConnectionClosedException, OSError):
                return True
            return True

        wait_for(dropped, 15, "the stalled client to be dropped")
        assert reader.connected
    finally:
        reader.close()
        stalled.close()


def test_trace_client_gets_the_send_stamp_and_others_the_event_as_published(
        web_url: str, state: RedisState) -> None:
    traced, plain = connect(web_url), connect(web_url)
    try:
        wait_live(traced, state)
        wait_live(plain, state)
        traced.send(json.dumps({"trace": True, "coalesce": False}))
        sync(traced)
        sent = quote("BTC-USD", 5.0)
        state.publish_many([("quote", sent)], {"batch_ns": 1, "task_ns": 2})
        got, seen = recv_json(traced, 2), recv_json(plain, 2)
        assert got is not None and seen is not None
        assert got["data"] == seen["data"] == sent
        assert seen["trace"]["task_ns"] == 2 and "ws_ns" not in seen["trace"]
        trace = got["trace"]
        assert trace["batch_ns"] == 1 and trace["task_ns"] == 2
        assert trace["redis_ns"] <= trace["ws_ns"] <= time.time_ns()
    finally:
        traced.close()
        plain.close()
