"""A simulated venue never skips a sequence number it sends: a client that falls behind is
disconnected, and frames rendered ahead of time (`--pregenerate`) are never outrun by a
keepalive numbered from the venue's future state."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import websocket

from simulator.client import SLOW_CONSUMER_S
from tests.support import simulator as sh

pytestmark = pytest.mark.integration

SEQ_ALL = 65536


def bitfinex_session(sim: sh.SimProcess, symbols: list[str]) -> websocket.WebSocket:
    """A Bitfinex connection with sequence numbers on, subscribed to `symbols`' P0 books."""
    ws = sh.connect(sim.ws_url("bitfinex"))
    ws.send(json.dumps({"event": "conf", "flags": SEQ_ALL}))
    for symbol in symbols:
        native = "t" + symbol.replace("-", "")
        ws.send(json.dumps({"event": "subscribe", "channel": "book", "symbol": native,
                            "prec": "P0", "len": "1"}))
    return ws


def sequence_of(text: str) -> int | None:
    """The trailing sequence number of a channel frame; None for events."""
    frame = json.loads(text)
    if isinstance(frame, list) and len(frame) >= 3 and isinstance(frame[-1], int):
        return frame[-1]
    return None


def read_until_closed_or_quiet(ws: websocket.WebSocket, quiet_s: float,
                               limit_s: float) -> tuple[list[str], bool]:
    """Frames until the server closes (True) or `quiet_s` passes without one (False)."""
    frames: list[str] = []
    deadline = time.monotonic() + limit_s
    ws.settimeout(quiet_s)
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data(control_frame=False)
        except websocket.WebSocketTimeoutException:
            return frames, False
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return frames, True
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, True
        frames.append(data.decode())
    return frames, False


def assert_contiguous(sequences: list[int]) -> None:
    holes = [(a, b) for a, b in zip(sequences, sequences[1:], strict=False) if b != a + 1]
    assert not holes, f"{len(holes)} holes, first {holes[:3]}"


def test_slow_client_gets_every_number_then_a_stalled_one_is_disconnected() -> None:
    sim = sh.SimProcess("--exchanges", "bitfinex", "--symbols", "BTC-USD,ETH-USD",
                        "--rate", "0").start()
    ws = bitfinex_session(sim, ["BTC-USD", "ETH-USD"])
    try:
        # Slow: the venue outpaces the reader, which keeps up only by making it wait.
        slow: list[str] = []
        deadline = time.monotonic() + 3.0
        ws.settimeout(5.0)
        while time.monotonic() < deadline:
            slow.append(ws.recv())
            if len(slow) % 200 == 0:
                time.sleep(0.02)
        # Stalled: nothing read for longer than the venue tolerates a backlog.
        time.sleep(SLOW_CONSUMER_S + 3.0)
        rest, closed = read_until_closed_or_quiet(ws, quiet_s=5.0, limit_s=60.0)
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
    sequences = [s for s in (sequence_of(t) for t in slow + rest) if s is not None]
    assert len(sequences) > 2_000
    assert_contiguous(sequences)
    assert closed, "a client that stopped reading must be disconnected, not fed a hole"
    assert "slow consumer" in sim.output()


def drain(ws: websocket.WebSocket, into: list[str], stop: threading.Event) -> None:
    """Read every frame as it comes until `stop` is set (keepalives never let it go quiet)."""
    while not stop.is_set():
        frames, closed = read_until_closed_or_quiet(ws, quiet_s=0.5, limit_s=0.5)
        into.extend(frames)
        if closed:
            return


def coinbase_session(sim: sh.SimProcess, products: list[str]) -> websocket.WebSocket:
    ws = sh.connect(sim.ws_url("coinbase"))
    ws.send(json.dumps({"type": "subscribe", "product_ids": products,
                        "channels": ["level2_batch", "ticker", "heartbeat"]}))
    return ws


def test_pregenerated_streams_are_not_outrun_by_keepalives() -> None:
    # Rendering this many changes takes seconds, so idle keepalives go out while the rendered
    # stream waits; they must not carry numbers beyond the frames sent so far.
    count = 20_000
    sim = sh.SimProcess("--exchanges", "bitfinex,coinbase", "--symbols", "BTC-USD,ETH-USD",
                        "--rate", "0", "--count", str(count), "--pregenerate").start()
    bitfinex = bitfinex_session(sim, ["BTC-USD", "ETH-USD"])
    coinbase = coinbase_session(sim, ["BTC-USD", "ETH-USD"])
    received: dict[str, list[str]] = {"bitfinex": [], "coinbase": []}
    stop = threading.Event()
    readers = [threading.Thread(target=drain, args=(ws, received[name], stop))
               for name, ws in (("bitfinex", bitfinex), ("coinbase", coinbase))]
    try:
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 90.0
        while time.monotonic() < deadline and set(sim.stats()["pregenerated"].values()) != {0}:
            time.sleep(0.5)
        time.sleep(2.5)  # the last frames, and a heartbeat or two after them
        stop.set()
        for reader in readers:
            reader.join(timeout=10.0)
        stats = sim.stats()
    finally:
        bitfinex.close()
        coinbase.close()
        assert sim.stop() == 0, sim.output()
    assert stats["pregenerated"] == {"bitfinex": 0, "coinbase": 0}
    sequences = [s for s in (sequence_of(t) for t in received["bitfinex"]) if s is not None]
    assert len(sequences) >= count
    assert_contiguous(sequences)
    last: dict[str, int] = {}
    backwards: list[tuple[str, int, int]] = []
    updates = 0
    for text in received["coinbase"]:
        frame: dict[str, Any] = json.loads(text)
        updates += frame.get("type") == "l2update"
        if "sequence" in frame:
            product, sequence = frame["product_id"], frame["sequence"]
            if sequence < last.get(product, 0):
                backwards.append((product, last[product], sequence))
            last[product] = max(sequence, last.get(product, 0))
    assert updates == count
    assert not backwards, backwards[:3]
