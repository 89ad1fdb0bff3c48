"""The simulator speaks HTX spot as docs/venues/htx.md describes it: gzip binary frames, server
pings that close a connection left unanswered, sub/unsub acks and errors, bbo quotes through the
adapter (its pongs keeping the connection), depth snapshots, and the faults."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from core.types import Quote
from tests.support import simulator as sh
from workers.exchanges.events import split_events
from workers.exchanges.htx import HtxAdapter

pytestmark = pytest.mark.integration

SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "htx", "--symbols", "BTC-USD,BTC-USDT,ETH-USDT,ETH-BTC",
                        "--rate", "50")


def frame(ws: websocket.WebSocket, timeout: float = 5.0) -> Any:
    """The next frame, gunzipped and decoded (every HTX frame is gzip binary); None: none."""
    data = sh.recv_text(ws, timeout)
    if data is None:
        return None
    assert type(data) is bytes, data
    return json.loads(gzip.decompress(data))


def answer(ws: websocket.WebSocket, predicate: Any, seconds: float = 5.0) -> Any:
    """The first decoded frame matching `predicate` (pings and pushes in between skipped)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        msg = frame(ws, left)
        if msg is not None and predicate(msg):
            return msg
    raise AssertionError(f"no matching frame in {seconds}s")


def read(ws: websocket.WebSocket, adapter: HtxAdapter, quotes: int, seconds: float = 30.0,
         reply: bool = True) -> list[Quote]:
    """Frames through the adapter's `on_binary` until `quotes` quotes; its pongs sent back."""
    out: list[Quote] = []
    deadline = time.monotonic() + seconds
    while len(out) < quotes and (left := deadline - time.monotonic()) > 0:
        data = sh.recv_text(ws, left)
        if data is None:
            break
        split = split_events(adapter.on_binary(data, 1) if type(data) is bytes
                             else adapter.on_message(data, 1))
        out += split.quotes
        for pong in split.sends if reply else []:
            ws.send(pong)
    return out


def closed_within(ws: websocket.WebSocket, seconds: float) -> bool:
    """Whether the server closes `ws` within `seconds` (frames before the close are read)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        ws.settimeout(left)
        try:
            ws.recv()
        except websocket.WebSocketConnectionClosedException:
            return True
        except websocket.WebSocketTimeoutException:
            break
    return False


def subscribed(sim: sh.SimProcess, symbols: tuple[str, ...] = SYMBOLS
               ) -> tuple[HtxAdapter, websocket.WebSocket]:
    listing = requests.get(HtxAdapter.markets_url(f"{sim.http}/htx"), timeout=5).json()
    adapter = HtxAdapter([m for m in HtxAdapter.parse_markets(listing) if m.symbol in symbols])
    adapter.on_connect()
    ws = sh.connect(sim.ws_url("htx"))
    for request in adapter.subscribe_messages():
        ws.send(request)
    return adapter, ws


def test_listing_acks_and_bbo_quotes_through_the_adapter(sim: sh.SimProcess) -> None:
    listing = requests.get(f"{sim.http}/htx/v2/settings/common/symbols", timeout=5).json()
    names = {row["sc"] for row in listing["data"]}
    assert {"btcusdt", "ethusdt", "ethbtc"} <= names and "btcusd" not in names
    assert listing["status"] == "ok" and 1 <= len(names) - 3 <= 2
    adapter, ws = subscribed(sim)
    try:
        acks = [answer(ws, lambda m: "subbed" in m) for _ in range(6)]
        assert {a["subbed"] for a in acks} == {
            f"market.{n}.{kind}" for n in ("btcusdt", "ethusdt", "ethbtc")
            for kind in ("bbo", "trade.detail")}
        assert all(a["status"] == "ok" and a["id"] for a in acks)
        quotes = read(ws, adapter, 30)
        assert len(quotes) >= 30 and {q.symbol for q in quotes} == set(SYMBOLS)
        assert all(q.ts_exchange_ns is not None for q in quotes) and not adapter.errors
    finally:
        ws.close()


def test_refusals_unsub_and_client_pings(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("htx")) as ws:
        for topic in ("market.btcusd.bbo", "market.btcusdt.nothing", 5):
            ws.send(json.dumps({"sub": topic, "id": "e1"}))
            error = answer(ws, lambda m: m.get("status") == "error")
            assert error["id"] == "e1" and error["err-code"] == "bad-request"
            assert error["err-msg"] == f"invalid topic {topic}"
        ws.send("not json")
        assert answer(ws, lambda m: m.get("status") == "error")["err-msg"] == "invalid request"
        ws.send(json.dumps({"ping": 42}))
        assert answer(ws, lambda m: "pong" in m) == {"pong": 42}
        ws.send(json.dumps({"sub": "market.btcusdt.kline.1min", "id": "k"}))
        assert answer(ws, lambda m: m.get("id") == "k")["subbed"] == "market.btcusdt.kline.1min"
        ws.send(json.dumps({"unsub": "market.btcusdt.kline.1min", "id": "u"}))
        assert answer(ws, lambda m: m.get("id") == "u")["unsubbed"] == "market.btcusdt.kline.1min"


def test_depth_snapshots_through_the_adapter(sim: sh.SimProcess) -> None:
    adapter = HtxAdapter([m for m in HtxAdapter.parse_markets(requests.get(
        HtxAdapter.markets_url(f"{sim.http}/htx"), timeout=5).json()) if m.symbol == "BTC-USDT"])
    adapter.depth_levels = 5
    with sh.connected(sim.ws_url("htx")) as ws:
        ws.send(json.dumps({"sub": "market.btcusdt.depth.step0", "id": "d"}))
        quotes = read(ws, adapter, 10)
    assert len(quotes) == 10 and not adapter.errors


def test_pongs_keep_a_connection_and_silence_loses_one(sim: sh.SimProcess) -> None:
    kept, kept_ws = subscribed(sim, ("BTC-USDT",))
    dropped, dropped_ws = subscribed(sim, ("BTC-USDT",))
    try:
        # Two pings (10 s) unanswered close a connection; answered, it stays.
        deadline = time.monotonic() + 13.0
        while time.monotonic() < deadline:
            read(kept_ws, kept, 1000, seconds=0.2)
            read(dropped_ws, dropped, 1000, seconds=0.2, reply=False)
        assert closed_within(dropped_ws, 10.0)
        assert read(kept_ws, kept, 1, seconds=5.0)
    finally:
        kept_ws.close()
        dropped_ws.close()


def test_faults(sim: sh.SimProcess) -> None:
    adapter, ws = subscribed(sim, ("BTC-USDT",))
    try:
        read(ws, adapter, 3)
        assert sim.control("htx", "gap").status_code == 400
        assert sim.control("htx", "bad_checksum").status_code == 400
        assert sim.control("htx", "garbage").ok
        deadline = time.monotonic() + 5.0
        while adapter.errors.total() < 2 and time.monotonic() < deadline:
            read(ws, adapter, 1000, seconds=0.2)
        assert adapter.errors == {"bad_json": 1, "bad_binary": 1}
        assert sim.control("htx", "reconnect").json()["notified"] == 1
        assert closed_within(ws, 5.0)
    finally:
        ws.close()


def test_each_change_is_one_quote() -> None:
    proc = sh.SimProcess("--exchanges", "htx", "--symbols", "BTC-USDT,ETH-USDT", "--count", "200",
                         "--rate", "0").start()
    try:
        adapter, ws = subscribed(proc, ("BTC-USDT", "ETH-USDT"))
        quotes = read(ws, adapter, 200)
        quotes += read(ws, adapter, 1, seconds=1.0)  # nothing more comes
        ws.close()
        assert len(quotes) == 200 and not adapter.errors
        assert sum(proc.stats()["emitted"]["htx"].values()) == 200
    finally:
        assert proc.stop() == 0, proc.output()
