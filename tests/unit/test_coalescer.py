"""The live hub's pure parts: the coalescing window, client message checks, outbox bounds."""

from __future__ import annotations

import json
import time

import pytest

from core.stores import bus
from web.live.client import LiveClient
from web.live.coalescing import Coalescer
from web.live.hub import Hub
from web.live.protocol import ClientMessageError, parse_client_message, text_frame

pytestmark = pytest.mark.unit


class FakeClock:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def tick(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def test_first_event_goes_out_at_once() -> None:
    c: Coalescer[str] = Coalescer(0.2)
    assert c.offer("k", "a", 1000.0) == "a"
    assert c.next_deadline() is None


def test_burst_is_merged_and_newest_wins_at_window_end() -> None:
    clock = FakeClock()
    c: Coalescer[str] = Coalescer(0.2)
    assert c.offer("k", "v0", clock.now) == "v0"
    for i in range(1, 50):
        assert c.offer("k", f"v{i}", clock.tick(0.001)) is None
    assert c.flush(clock.now) == []  # window not over yet
    assert c.next_deadline() == pytest.approx(1000.2)
    clock.now = 1000.2
    assert c.flush(clock.now) == ["v49"]
    assert c.flush(clock.tick(1.0)) == []


def test_flush_starts_a_new_window() -> None:
    c: Coalescer[str] = Coalescer(0.2)
    c.offer("k", "a", 0.0)
    c.offer("k", "b", 0.1)
    assert c.flush(0.2) == ["b"]
    assert c.offer("k", "c", 0.25) is None  # inside the window the flush opened
    assert c.flush(0.3) == []
    assert c.flush(0.4) == ["c"]
    assert c.offer("k", "d", 0.7) == "d"  # quiet for a whole window: immediate again


def test_keys_are_independent() -> None:
    c: Coalescer[str] = Coalescer(0.2)
    assert c.offer("BTC", "b1", 0.0) == "b1"
    assert c.offer("BTC", "b2", 0.05) is None
    assert c.offer("ETH", "e1", 0.1) == "e1"
    assert c.offer("ETH", "e2", 0.15) is None
    assert c.flush(0.2) == ["b2"]
    assert c.flush(0.29) == []
    assert c.flush(0.31) == ["e2"]


def test_at_most_five_per_second_per_key() -> None:
    clock = FakeClock()
    c: Coalescer[tuple[str, int]] = Coalescer(0.2)
    sent: list[tuple[float, str, int]] = []
    for i in range(3000):  # 1,000 updates per second for 3 s on each of two keys
        now = clock.tick(0.001)
        for key in ("BTC", "ETH"):
            if (out := c.offer(key, (key, i), now)) is not None:
                sent.append((now, *out))
        sent.extend((now, *item) for item in c.flush(now))
    for key in ("BTC", "ETH"):
        times = [t for t, k, _ in sent if k == key]
        for start in times:
            assert sum(1 for t in times if start <= t < start + 1.0) <= 5
        assert 14 <= len(times) <= 16
        last = max(v for _, k, v in sent if k == key)
        assert last >= 2790  # what goes out is recent, not a stale early value


def test_per_key_rate_and_spacing() -> None:
    c: Coalescer[int] = Coalescer(0.2)
    times: list[float] = []
    now = 0.0
    for i in range(2000):
        now = i * 0.001
        if c.offer("k", i, now) is not None:
            times.append(now)
        times.extend(now for _ in c.flush(now))
    assert all(b - a >= 0.2 - 1e-9 for a, b in zip(times, times[1:], strict=False))
    assert len(times) <= 10 + 1


@pytest.mark.parametrize("raw, fragment", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "expected an object"),
    ("{}", "expected an object"),
    ('{"subscribe": "BTC-USD"}', "list of symbol strings"),
    ('{"subscribe": [1]}', "list of symbol strings"),
    ('{"coalesce": "no"}', "true or false"),
    ('{"unsubscribe": []}', "unknown keys: unsubscribe"),
    ('{"subscribe": ["' + "X" * 5000 + '"]}', "too large"),
    ('{"subscribe": ["' + "X" * 100 + '"]}', "at most"),
    (b"\x00\x01", "binary"),
])
def test_malformed_client_messages(raw: str | bytes, fragment: str) -> None:
    with pytest.raises(ClientMessageError, match=fragment):
        parse_client_message(raw)


def test_valid_client_messages() -> None:
    assert parse_client_message('{"subscribe": ["BTC-USD"]}') == {
        "symbols": frozenset({"BTC-USD"})}
    assert parse_client_message('{"subscribe": []}') == {"symbols": None}
    assert parse_client_message('{"coalesce": false, "subscribe": ["A"]}') == {
        "symbols": frozenset({"A"}), "coalesce": False}


def test_text_frame_lengths() -> None:
    assert text_frame(b"hi") == b"\x81\x02hi"
    assert text_frame(b"x" * 200)[:4] == b"\x81\x7e\x00\xc8"
    assert text_frame(b"x" * 70000)[:2] == b"\x81\x7f"


def test_overflowing_client_is_dropped() -> None:
    aborted: list[bool] = []
    client = LiveClient(lambda _: None, lambda: aborted.append(True), max_frames=3)
    assert client.enqueue([b"a", b"b"])
    assert not client.enqueue([b"c", b"d"])
    assert client.dropped and client.closed and aborted == [True]
    assert not client.enqueue([b"e"])


def _quote(symbol: str, bid: float) -> tuple[bytes, bytes]:
    """A quote as the hub receives it: (channel, payload)."""
    data = {"exchange": "x", "symbol": symbol, "bid": bid}
    return bus.channel("t:", "quote", data).encode(), bus.encode("quote", data)


def test_hub_filters_and_coalesces_per_stream() -> None:
    hub = Hub(lambda: None, "t:", flush_tick_s=0.0)  # type: ignore[arg-type,return-value]
    got: dict[str, list[bytes]] = {"all": [], "btc": [], "raw": []}
    clients = {name: LiveClient(lambda _: None, lambda: None, name=name) for name in got}
    for name, client in clients.items():
        client.enqueue = got[name].extend  # type: ignore[method-assign]
        hub._stream_for(client).clients.add(client)  # noqa: SLF001  (no listener thread)
    hub.update(clients["btc"], {"symbols": frozenset({"BTC-USD"})})
    hub.update(clients["raw"], {"coalesce": False})
    hub.dispatch([_quote("BTC-USD", i) for i in range(10)] + [_quote("ETH-USD", 1)], 0.0)
    assert len(got["all"]) == 2 and len(got["btc"]) == 1 and len(got["raw"]) == 11
    hub.flush(0.2)
    assert json.loads(got["btc"][-1][2:])["data"]["bid"] == 9
    assert len(got["all"]) == 3


def test_listener_reconnects_after_redis_errors() -> None:
    import fakeredis
    import redis

    server = fakeredis.FakeServer()
    attempts: list[int] = []

    def factory() -> redis.Redis:
        attempts.append(1)
        if len(attempts) <= 2:  # Redis "down" for the first two tries
            raise redis.ConnectionError("down")
        return fakeredis.FakeRedis(server=server)

    hub = Hub(factory, "t:")
    hub_client = LiveClient(lambda _: None, lambda: None)
    got: list[bytes] = []
    hub_client.enqueue = got.extend  # type: ignore[method-assign]
    hub.add(hub_client)
    try:
        assert hub.subscribed.wait(5)
        fakeredis.FakeRedis(server=server).publish(*_quote("BTC-USD", 1.0))
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(attempts) == 3 and len(got) == 1
    finally:
        hub.stop()
