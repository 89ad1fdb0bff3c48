"""The simulator speaks Bitget v2 public (spot) as docs/venues/bitget.md describes it: per-arg
acks and errors, text ping/pong, `books1` snapshots with rising `ts` and `seq`, the message rate
limit, the symbols listing, and exactly one quote per emitted change through the adapter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from workers.exchanges.bitget import BitgetAdapter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bitget", "--symbols", "BTC-USD,BTC-USDT,ETH-USDT,ETH-BTC",
                        "--rate", "50")


def arg(inst: str, channel: str = "books1", inst_type: str = "SPOT") -> dict[str, str]:
    return {"instType": inst_type, "channel": channel, "instId": inst}


def send(ws: websocket.WebSocket, op: str, *args: Any) -> None:
    ws.send(json.dumps({"op": op, "args": list(args)}))


# Frames are awaited with `sh.wait_frame`, which decodes each as JSON: no `ping` may be
# outstanding then (its `pong` is plain text).
expect = sh.wait_frame


def is_event(name: str) -> Any:
    return lambda f: f.get("event") == name


def is_book(f: dict[str, Any]) -> bool:
    return f.get("arg", {}).get("channel") == "books1" and "data" in f


def test_listing(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/bitget/api/v2/spot/public/symbols", timeout=5).json()
    assert body["code"] == "00000" and body["msg"] == "success"
    names = [row["symbol"] for row in body["data"]]
    assert {"BTCUSDT", "ETHUSDT", "ETHBTC"} <= set(names) and "BTCUSD" not in names
    assert 1 <= len(set(names) - {"BTCUSDT", "ETHUSDT", "ETHBTC"}) <= 2
    markets = BitgetAdapter.parse_markets(body)
    assert [m.native for m in markets] == names


def test_acks_books_and_errors(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitget")) as ws:
        assert sh.collect_texts(ws, 0.3) == []  # nothing on connect
        ws.send("ping")
        assert sh.collect_texts(ws, 2.0, until=lambda t: t == "pong")[-1] == "pong"
        send(ws, "subscribe", arg("BTCUSDT"), arg("FOOUSDT"), arg("BTCUSDT", "books2"),
             arg("BTCUSDT", inst_type="USDT-FUTURES"))
        assert expect(ws, is_event("subscribe")) == {"event": "subscribe", "arg": arg("BTCUSDT")}
        errors = [expect(ws, is_event("error")) for _ in range(3)]
        assert [e["code"] for e in errors] == [30001, 30016, 30016]
        assert errors[0]["msg"] == "instType:SPOT,channel:books1,instId:FOOUSDT doesn't exist"
        assert errors[0]["arg"] == arg("FOOUSDT") and errors[0]["op"] == "subscribe"
        ws.send("hello")
        assert expect(ws, is_event("error"))["code"] == 30016
        frames = [json.loads(t) for t in sh.collect_texts(ws, 1.0) if t != "pong"]
        assert frames and all(is_book(f) for f in frames)
        last_ts, last_seq = 0, 0
        for f in frames:
            (data,) = f["data"]
            assert f["action"] == "snapshot" and f["arg"] == arg("BTCUSDT")
            assert set(data) == {"asks", "bids", "checksum", "seq", "ts"}
            assert int(data["ts"]) == f["ts"] and abs(f["ts"] - time.time() * 1000) < 5000
            assert f["ts"] > last_ts and data["seq"] > last_seq
            last_ts, last_seq = f["ts"], data["seq"]
            (bid,), (ask,) = data["bids"], data["asks"]
            assert float(bid[0]) < float(ask[0])
        send(ws, "unsubscribe", arg("BTCUSDT"))
        assert expect(ws, is_event("unsubscribe"))["arg"] == arg("BTCUSDT")
        sh.collect_texts(ws, 0.3)
        assert sh.collect_texts(ws, 0.5) == []


def test_a_late_subscriber_first_gets_the_last_snapshot(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitget")) as first, sh.connected(sim.ws_url("bitget")) as late:
        send(first, "subscribe", arg("ETHBTC"))
        expect(first, is_event("subscribe"))
        time.sleep(0.3)
        send(late, "subscribe", arg("ETHBTC"))
        expect(late, is_event("subscribe"))
        following = sh.collect_texts(late, 1.0)
        assert following[0] in sh.collect_texts(first, 1.0)


def test_more_than_10_messages_a_second_closes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitget")) as ws:
        for _ in range(11):
            ws.send("ping")
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(50):
                ws.recv()


def test_faults(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, BitgetAdapter, "bitget", ("ETH-BTC",))
    try:
        assert expect(ws, is_event("subscribe"))["arg"] == arg("ETHBTC")
        assert sim.control("bitget", "gap").status_code == 400  # books1: no deltas
        assert sim.control("bitget", "bad_checksum").status_code == 400
        assert sim.control("bitget", "garbage").ok
        frames, _ = sh.through_adapter(ws, adapter, 3, timeout_s=5.0)
        assert "\x00garbage{not json" in frames and adapter.errors["bad_json"] == 1
        # Bitget sends no reconnect notice: the 24 h cut, a pong first.
        assert sim.control("bitget", "reconnect").json()["notified"] == 1
        assert sh.collect_texts(ws, 3.0, until=lambda t: t == "pong")[-1] == "pong"
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(500):
                ws.recv()
    finally:
        ws.close()
