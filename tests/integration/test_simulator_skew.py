"""Simulator controls for the feed's bounds: `skew` (a venue clock off for N frames) and
`oversize` (one frame of B bytes), validated, exact, and leaving the venue's clock intact."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket

from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh

pytestmark = pytest.mark.integration

S_US = 1_000_000


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "kraken,okx,bybit,binance", "--symbols", "BTC-USD,BTC-USDT",
                        "--rate", "100")


def stamps_after_skew(sim: sh.SimProcess, exchange: str, ws: websocket.WebSocket,
                      stamp_us: Callable[[Any], int | None], seconds: float,
                      count: int) -> list[float]:
    """Skew `exchange` and return each following book frame's offset from now (seconds)."""
    sh.collect(ws, 0.5)  # subscribed and streaming; drop what came so far
    reply = sim.control(exchange, "skew", seconds=seconds, count=count)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"exchange": exchange, "action": "skew", "seconds": seconds,
                            "count": count}
    offsets = []
    for frame in sh.collect(ws, 1.0):
        ts_us = stamp_us(frame)
        if ts_us is not None:
            offsets.append((ts_us - time.time_ns() // 1000) / S_US)
    return offsets


def assert_exactly_skewed(offsets: list[float], seconds: float, count: int) -> None:
    skewed = [i for i, off in enumerate(offsets) if abs(off - seconds) < 2]
    assert len(skewed) == count, offsets
    # The skewed frames come in one run, and every frame after them is back on time: the
    # venue's own clock (a ms nudged past the previous one) never carried the offset on.
    assert skewed == list(range(skewed[0], skewed[0] + count))
    after = offsets[skewed[-1] + 1:]
    assert len(after) > 20 and all(abs(off) < 2 for off in after), offsets


def test_kraken_skew_ahead(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("kraken")) as ws:
        bk.kraken_subscribe(ws, ["BTC/USD"])

        def stamp(frame: Any) -> int | None:
            return bk.kraken_ts_us(frame["data"][0]["timestamp"]) \
                if bk.is_kraken_update(frame) else None

        assert_exactly_skewed(stamps_after_skew(sim, "kraken", ws, stamp, 3600.0, 5), 3600.0, 5)


def test_okx_skew_behind_leaves_its_ms_clock_on_true_time(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("okx")) as ws:
        ws.send(json.dumps({"op": "subscribe",
                            "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}))

        def stamp(frame: Any) -> int | None:
            data = frame.get("data") if isinstance(frame, dict) else None
            return int(data[0]["ts"]) * 1000 if data else None

        offsets = stamps_after_skew(sim, "okx", ws, stamp, -3600.0, 3)
        assert_exactly_skewed(offsets, -3600.0, 3)


def test_bybit_skew_leaves_its_book_clock_on_true_time(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bybit")) as ws:
        ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.1.BTCUSDT"],
                            "req_id": "s"}))

        def stamp(frame: Any) -> int | None:
            topic = frame.get("topic", "") if isinstance(frame, dict) else ""
            return frame["ts"] * 1000 if topic.startswith("orderbook.1.") else None

        assert_exactly_skewed(stamps_after_skew(sim, "bybit", ws, stamp, 600.0, 4), 600.0, 4)


@pytest.mark.parametrize("params", [
    {"count": 1}, {"seconds": "nan", "count": 1}, {"seconds": "inf", "count": 1},
    {"seconds": "soon", "count": 1}, {"seconds": 1e12, "count": 1},
    {"seconds": 1}, {"seconds": 1, "count": 0}, {"seconds": 1, "count": -3},
    {"seconds": 1, "count": "1.5"}, {"seconds": 1, "count": "many"},
])
def test_skew_refuses_bad_input_with_a_json_error(sim: sh.SimProcess,
                                                  params: dict[str, Any]) -> None:
    reply = sim.control("kraken", "skew", **params)
    assert reply.status_code == 400
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["error"]


def test_skew_is_refused_where_book_frames_carry_no_time(sim: sh.SimProcess) -> None:
    reply = sim.control("binance", "skew", seconds=60, count=1)
    assert reply.status_code == 400 and "no time" in reply.json()["error"]
    assert sim.control("nosuch", "skew", seconds=60, count=1).status_code == 404


def test_oversize_sends_one_frame_of_exactly_that_size(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("kraken")) as ws:
        bk.kraken_subscribe(ws, ["BTC/USD"])
        sh.collect(ws, 0.3)
        reply = sim.control("kraken", "oversize", bytes=100_000)
        assert reply.json() == {"exchange": "kraken", "action": "oversize", "bytes": 100_000,
                                "clients": 1}
        ws.settimeout(5)
        sizes = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not sizes:
            text = ws.recv()
            if len(text) > 10_000:
                sizes.append(len(text))
                assert json.loads(text)["event"] == "padding"
        assert sizes == [100_000]
        for bad in ({}, {"bytes": 10}, {"bytes": 2**40}, {"bytes": "big"}):
            assert sim.control("kraken", "oversize", **bad).status_code == 400
