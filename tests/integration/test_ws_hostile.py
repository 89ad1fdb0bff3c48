"""Hostile `/ws` clients against a real gunicorn web process and the real Redis: garbage, binary,
huge frames and floods get an error event or a close with a proper code, while a well-behaved
client connected at the same time keeps receiving every live event; and no client message makes
the server publish anything, to Redis or to another client."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import websocket

from core.state import RedisState
from tests.integration.test_live import (  # noqa: F401  (web_url is a fixture)
    connect,
    drain,
    quote,
    recv_json,
    sync,
    wait_live,
    web_url,
)
from web.live import MAX_MESSAGE_BYTES, RATE_BURST
from web.live.protocol import MAX_CLIENT_MESSAGE

pytestmark = pytest.mark.integration

CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
RESET = -1  # the TCP connection died before a close frame could be read (a failure here)


@pytest.fixture
def good(web_url: str, state: RedisState) -> Iterator[websocket.WebSocket]:  # noqa: F811
    """A well-behaved client that asked for every event uncoalesced, live before the test."""
    ws = connect(web_url)
    wait_live(ws, state)
    ws.send(json.dumps({"coalesce": False}))
    drain(ws, 0.3)
    yield ws
    ws.close()


def close_code(ws: websocket.WebSocket, timeout_s: float = 10.0) -> int:
    """Read until the server's close frame and return its code (RESET if the socket died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ws.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        except (websocket.WebSocketConnectionClosedException, OSError):
            return RESET
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
    raise AssertionError("the server neither closed nor dropped the connection")


def in_background(fn: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def assert_receives_everything(ws: websocket.WebSocket, state: RedisState, tag: str,
                               n: int = 200) -> None:
    """Publish `n` quotes on distinct markets; the client gets all of them, in order, in time."""
    sent = [quote(f"{tag}{i}-USD", float(i)) for i in range(n)]
    t0 = time.monotonic()
    state.publish_many(("quote", q) for q in sent)
    got = []
    while len(got) < n and (event := recv_json(ws, 2.0)) is not None:
        if event["type"] == "quote" and event["data"]["symbol"].startswith(tag):
            got.append(event["data"]["bid"])
    assert got == [float(i) for i in range(n)], f"{len(got)}/{n} events"
    assert time.monotonic() - t0 < 3.0


@pytest.mark.parametrize("message", [
    b"\x00\xff\xfe binary",
    "garbage \u202e\u200b\U0001f4a3",
    "{\"subscribe\": [\"BTC-USD\"",  # truncated JSON
    "null",
    "x" * (MAX_CLIENT_MESSAGE + 1),
    json.dumps({"subscribe": ["BTC-USD"], "pad": "y" * 1000}),
])
def test_bad_message_gets_an_error_event_and_stays_connected(
        web_url: str, good: websocket.WebSocket, state: RedisState,  # noqa: F811
        message: str | bytes) -> None:
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        if isinstance(message, bytes):
            ws.send_binary(message)
        else:
            ws.send(message)
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "error", event
        assert isinstance(event["data"]["message"], str) and 0 < len(event["data"]["message"]) < 500
        state.publish("quote", quote("ETH-USD", 7.0))
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "quote", event
        assert_receives_everything(good, state, "BAD")
    finally:
        ws.close()


def test_a_10_mb_frame_is_closed_with_1009_and_others_unaffected(
        web_url: str, good: websocket.WebSocket, state: RedisState) -> None:  # noqa: F811
    ws = connect(web_url)

    def send_huge() -> None:
        # One 10 MB text frame, written in pieces so the server can refuse it part-way.
        frame = websocket.ABNF.create_frame("x" * 10_000_000, websocket.ABNF.OPCODE_TEXT)
        data = frame.format()
        try:
            for i in range(0, len(data), 65536):
                ws.sock.sendall(data[i:i + 65536])
        except OSError:
            pass

    try:
        wait_live(ws, state)
        sender = in_background(send_huge)
        code = close_code(ws)
        # The library counts the message as its pieces arrive and refuses it past the limit.
        assert code == CLOSE_TOO_BIG, code
        sender.join(10)
        assert not sender.is_alive()
        assert_receives_everything(good, state, "BIG")
    finally:
        ws.close()
    # A frame just under the limit is only refused with an error event.
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        ws.send("z" * (MAX_MESSAGE_BYTES - 100))
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "error" and "too large" in \
            event["data"]["message"]
    finally:
        ws.close()


@pytest.mark.parametrize("payload", ['{"coalesce": true}', "garbage"])
def test_a_flood_is_closed_with_1008_while_others_keep_receiving(
        web_url: str, good: websocket.WebSocket, state: RedisState,  # noqa: F811
        payload: str) -> None:
    ws = connect(web_url)
    sent = {"n": 0}

    def flood() -> None:
        try:
            for _ in range(20_000):
                ws.send(payload)
                sent["n"] += 1
        except (websocket.WebSocketException, OSError):
            pass

    try:
        wait_live(ws, state)
        sender = in_background(flood)
        # While the flood runs, the good client gets every event on time.
        assert_receives_everything(good, state, "FLOOD")
        code = close_code(ws)
        assert code == CLOSE_POLICY, code
        sender.join(10)
        assert sent["n"] >= RATE_BURST
        assert_receives_everything(good, state, "AFTER")
    finally:
        ws.close()


def test_a_steady_client_within_the_rate_is_not_closed(
        web_url: str, state: RedisState) -> None:  # noqa: F811
    ws = connect(web_url)
    try:
        wait_live(ws, state)
        for i in range(RATE_BURST + 10):  # nearly the burst at once, then more at ~16/s
            ws.send(json.dumps({"subscribe": [f"S{i % 3}-USD"]}))
            if i >= RATE_BURST - 5:
                time.sleep(0.06)
        ws.send(json.dumps({"subscribe": []}))
        sync(ws)  # every message above was applied: none was refused, the connection is open
        state.publish("quote", quote("ETH-USD", 3.0))
        event = recv_json(ws, 2)
        assert event is not None and event["type"] == "quote" and event["data"]["bid"] == 3.0
    finally:
        ws.close()


def test_no_client_message_publishes_anything(
        web_url: str, good: websocket.WebSocket, state: RedisState) -> None:  # noqa: F811
    """Every inbound shape, including the server's own event format: the listening client and
    the Redis live channel see nothing but the sender's own error events."""
    event_like = {"type": "quote", "data": quote("BTC-USD", 1.0)}
    messages = [
        json.dumps(event_like),
        json.dumps({"type": "opportunity", "data": {"symbol": "BTC-USD", "action": "open"}}),
        json.dumps({"type": "feed", "data": {"exchange": "kraken", "state": "down"}}),
        json.dumps({"publish": event_like}),
        json.dumps({"subscribe": ["BTC-USD"], "publish": event_like}),
        json.dumps({"subscribe": ["BTC-USD"]}),  # valid: narrows only the sender's own stream
        json.dumps({"coalesce": False}),  # valid
        json.dumps({"subscribe": []}),
    ]
    ws = connect(web_url)
    pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
    try:
        wait_live(ws, state)
        drain(good, 0.3)  # the probe events wait_live published
        pubsub.psubscribe(state.live.pattern)
        keys_before = sorted(state.redis.scan_iter(f"{state.prefix}*"))
        for message in messages:
            ws.send(message)
        replies = drain(ws, 1.0)
        assert [e["type"] for e in replies] == ["error"] * 5, replies
        assert "unknown keys" in replies[0]["data"]["message"]
        assert drain(good, 1.0) == []
        assert pubsub.get_message(timeout=0.5) is None, "a client message reached Redis"
        assert sorted(state.redis.scan_iter(f"{state.prefix}*")) == keys_before
    finally:
        ws.close()
        pubsub.close()
