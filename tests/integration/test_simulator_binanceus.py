"""The simulator speaks Binance.US: Binance's streams on its own listing, depth diffs joined to
REST snapshots, and the faults an adapter must survive."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import websocket

from tests.support import simulator as sh
from tests.support.depth_sessions import (
    depth_joins,
    depth_session,
    feed,
    gap_resyncs,
    tops_through_adapter,
)
from workers.exchanges.binanceus import BinanceUsAdapter

pytestmark = pytest.mark.integration

# BTC-EUR is configured but Binance.US lists no EUR pairs: the venue must leave it out.
SYMBOLS = "BTC-USD,ETH-USDT,BTC-EUR"
FOLLOWED = ("BTC-USD", "ETH-USDT")


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "binanceus", "--symbols", SYMBOLS, "--rate", "40")


def depth_adapter(sim: sh.SimProcess) -> tuple[BinanceUsAdapter, websocket.WebSocket]:
    return depth_session(sim, BinanceUsAdapter, "binanceus", FOLLOWED)


def test_listing_is_binance_us(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/binanceus/api/v3/exchangeInfo", timeout=5).json()
    names = [s["symbol"] for s in body["symbols"]]
    assert names[:2] == ["BTCUSD", "ETHUSDT"] and "BTCEUR" not in names
    assert set(sim.stats()["emitted"]["binanceus"]) == set(FOLLOWED)


def test_book_tickers_through_the_adapter(sim: sh.SimProcess) -> None:
    tops_through_adapter(sim, BinanceUsAdapter, "binanceus", FOLLOWED, timed=False)


def test_depth_diffs_join_the_rest_snapshots(sim: sh.SimProcess) -> None:
    adapter, ws = depth_adapter(sim)
    try:
        depth_joins(adapter, ws)
        # The snapshot names the wire's last id in bookTicker's id space.
        snap = requests.get(f"{sim.http}/binanceus/api/v3/depth",
                            params={"symbol": "BTCUSD", "limit": "5"}, timeout=5).json()
        assert type(snap["lastUpdateId"]) is int
        assert len(snap["bids"]) == len(snap["asks"]) == 5
        assert float(snap["bids"][0][0]) < float(snap["asks"][0][0])
    finally:
        ws.close()


@pytest.mark.parametrize("query", [{"symbol": "BTCEUR"}, {}, {"symbol": "BTCUSD", "limit": "7"},
                                   {"symbol": "BTCUSD", "limit": "x"}])
def test_a_bad_depth_query_is_refused(sim: sh.SimProcess, query: dict[str, str]) -> None:
    answer = requests.get(f"{sim.http}/binanceus/api/v3/depth", params=query, timeout=5)
    assert answer.status_code == 400


def test_gap_fault_resyncs_the_depth_book(sim: sh.SimProcess) -> None:
    gap_resyncs(sim, "binanceus", *depth_adapter(sim))


def test_garbage_and_reconnect_controls(sim: sh.SimProcess) -> None:
    adapter, ws = depth_adapter(sim)
    try:
        feed(adapter, ws, 10.0, until="Quote")
        assert sim.control("binanceus", "garbage").ok
        feed(adapter, ws, 1.0)
        assert adapter.errors["bad_json"] == 1
        assert sim.control("binanceus", "reconnect").json()["notified"] >= 1
        assert feed(adapter, ws, 10.0, until="Reconnect")["Reconnect"] == 1
    finally:
        ws.close()


def test_raw_depth_events_after_set_property(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("binanceus")) as ws:
        ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", False], "id": 1}))
        assert sh.recv_json(ws, 5) == {"result": None, "id": 1}
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusd@depth@100ms"], "id": 2}))
        assert sh.recv_json(ws, 5) == {"result": None, "id": 2}
        event = sh.wait_frame(ws, lambda f: f.get("e") == "depthUpdate")
        assert set(event) == {"e", "E", "s", "U", "u", "b", "a"} and event["s"] == "BTCUSD"
        following = sh.wait_frame(ws, lambda f: f.get("e") == "depthUpdate")
        assert following["U"] == event["u"] + 1  # contiguous ids
