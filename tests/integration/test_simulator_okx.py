"""The simulator speaks OKX v5 public as docs/protocols.md describes it: per-arg acks, string
values, ms `ts`, text ping/pong, errors with string codes, the 64008 notice, the spot instrument
list, and exactly one ticker (and one quote) per emitted change."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from tests.support.recorded import rest_body
from workers.exchanges.okx import OkxAdapter

pytestmark = pytest.mark.integration

DECIMAL = re.compile(r"^\d+(\.\d*[1-9])?$")  # OKX trims trailing zeros
TICKER_FIELDS = ["instType", "instId", "last", "lastSz", "askPx", "askSz", "bidPx", "bidSz",
                 "open24h", "high24h", "low24h", "sodUtc0", "sodUtc8", "volCcy24h", "vol24h",
                 "ts"]


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "okx", "--symbols", "BTC-USD,BTC-USDT,ETH-USDT,ETH-EUR",
                        "--rate", "50")


def expect(ws: websocket.WebSocket, predicate: Any, seconds: float = 5.0) -> Any:
    """The first frame (decoded) for which `predicate(decoded)` holds."""
    def check(text: str) -> bool:
        return text != "pong" and predicate(json.loads(text))

    frames = sh.collect_texts(ws, seconds, until=check)
    assert frames and check(frames[-1]), frames[-3:]
    return json.loads(frames[-1])


def is_event(name: str) -> Any:
    return lambda f: f.get("event") == name


def is_ticker(f: dict[str, Any]) -> bool:
    return f.get("arg", {}).get("channel") == "tickers" and "data" in f


def subscribe(ws: websocket.WebSocket, *args: tuple[str, str], op: str = "subscribe",
              **extra: Any) -> None:
    body = {**extra, "op": op, "args": [{"channel": c, "instId": i} for c, i in args]}
    ws.send(json.dumps(body))


# --- protocol ------------------------------------------------------------------------------


def test_acks_tickers_and_string_values(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("okx")) as ws:
        # OKX sends nothing on connect.
        assert sh.collect_texts(ws, 0.3) == []
        subscribe(ws, ("tickers", "BTC-USDT"), ("tickers", "ETH-EUR"), id="sub1")
        acks = [expect(ws, is_event("subscribe")), expect(ws, is_event("subscribe"))]
        conn_id = acks[0]["connId"]
        assert re.fullmatch(r"[0-9a-f]{8}", conn_id)
        assert acks == [
            {"id": "sub1", "event": "subscribe",
             "arg": {"channel": "tickers", "instId": "BTC-USDT"}, "connId": conn_id},
            {"id": "sub1", "event": "subscribe",
             "arg": {"channel": "tickers", "instId": "ETH-EUR"}, "connId": conn_id},
        ]
        frames = sh.collect(ws, 1.5)
        assert frames and all(is_ticker(f) for f in frames)
        last_ts: dict[str, int] = {}
        for f in frames:
            (data,) = f["data"]
            assert list(data) == TICKER_FIELDS
            assert f["arg"] == {"channel": "tickers", "instId": data["instId"]}
            assert data["instType"] == "SPOT"
            for key in TICKER_FIELDS[2:-1]:
                assert DECIMAL.match(data[key]), (key, data[key])
            assert float(data["bidPx"]) < float(data["askPx"])
            ts = int(data["ts"])
            assert abs(ts - time.time() * 1000) < 5000
            assert ts > last_ts.get(data["instId"], 0)  # strictly rising per instrument
            last_ts[data["instId"]] = ts
        assert set(last_ts) == {"BTC-USDT", "ETH-EUR"}


def test_ping_errors_and_unsubscribe(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("okx")) as ws:
        ws.send("ping")
        assert sh.collect_texts(ws, 2.0, until=lambda t: t == "pong")[-1] == "pong"
        ws.send("hello")
        err = expect(ws, is_event("error"))
        assert err["code"] == "60012" and "hello" in err["msg"] and "connId" in err
        ws.send(json.dumps({"op": "frobnicate", "args": []}))
        assert expect(ws, is_event("error"))["code"] == "60012"
        # BTC-USD is not on this (global) stack; books are not simulated.
        subscribe(ws, ("tickers", "BTC-USD"), ("books", "BTC-USDT"), ("tickers", "FOO-USDT"))
        errors = [expect(ws, is_event("error")) for _ in range(3)]
        assert [e["code"] for e in errors] == ["60018"] * 3
        assert errors[0]["msg"].startswith("Wrong URL or channel:tickers,instId:BTC-USD ")
        assert "channel:books,instId:BTC-USDT" in errors[1]["msg"]
        # The socket stays open: a good subscription still works.
        subscribe(ws, ("trades", "BTC-USDT"), ("tickers", "BTC-USDT"))
        assert expect(ws, is_event("subscribe"))["arg"]["channel"] == "trades"
        assert expect(ws, is_event("subscribe"))["arg"]["channel"] == "tickers"
        trade = expect(ws, lambda f: f.get("arg", {}).get("channel") == "trades", 10)
        (data,) = trade["data"]
        assert set(data) == {"instId", "tradeId", "px", "sz", "side", "ts"}
        assert data["instId"] == "BTC-USDT" and data["side"] in ("buy", "sell")
        assert DECIMAL.match(data["px"]) and DECIMAL.match(data["sz"])
        assert data["tradeId"].isdigit() and data["ts"].isdigit()
        subscribe(ws, ("tickers", "BTC-USDT"), ("trades", "BTC-USDT"), op="unsubscribe")
        assert expect(ws, is_event("unsubscribe"))["arg"]["channel"] == "tickers"
        assert expect(ws, is_event("unsubscribe"))["arg"]["channel"] == "trades"
        assert sh.collect_texts(ws, 1.0) == []  # nothing subscribed, and OKX sends no heartbeat


def test_subscribe_repeats_the_last_ticker_exactly(sim: sh.SimProcess) -> None:
    first = sh.connect(sim.ws_url("okx"))
    second = sh.connect(sim.ws_url("okx"))
    try:
        subscribe(first, ("tickers", "ETH-USDT"))
        expect(first, is_event("subscribe"))
        time.sleep(0.3)
        subscribe(second, ("tickers", "ETH-USDT"))
        expect(second, is_event("subscribe"))
        following = sh.collect_texts(second, 1.0)
        snapshot = following[0]
        # The very frame of the last change the first client got: same values, same `ts`,
        # so it is no new point downstream; the next push is newer.
        assert snapshot in sh.collect_texts(first, 1.0)
        ts = [int(json.loads(t)["data"][0]["ts"]) for t in following]
        assert len(ts) > 3 and ts == sorted(set(ts))
    finally:
        first.close()
        second.close()


def test_notice_64008_on_reconnect_request(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("okx")) as ws:
        subscribe(ws, ("tickers", "BTC-USDT"))
        expect(ws, is_event("subscribe"))
        assert sim.control("okx", "reconnect").json()["notified"] == 1
        notice = expect(ws, is_event("notice"))
        assert notice["code"] == "64008" and "reconnect" in notice["msg"].lower()
        assert notice["connId"]
        # Sequence faults belong to venues with sequence numbers; OKX tickers have none.
        assert sim.control("okx", "gap").status_code == 400
        assert sim.control("okx", "bad_checksum").status_code == 400
        assert sim.control("okx", "garbage").ok
        assert "\x00garbage{not json" in sh.collect_texts(ws, 2.0, until=lambda t: "garbage" in t)


def test_instrument_list(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/okx/api/v5/public/instruments?instType=SPOT",
                        timeout=5).json()
    assert body["code"] == "0" and body["msg"] == ""
    ids = [row["instId"] for row in body["data"]]
    # Configured and listed; BTC-USD (USD-quoted) is not; one or two extras are.
    assert {"BTC-USDT", "ETH-USDT", "ETH-EUR"} <= set(ids) and "BTC-USD" not in ids
    assert 1 <= len(set(ids) - {"BTC-USDT", "ETH-USDT", "ETH-EUR"}) <= 2
    recorded_fields = set(rest_body("okx", "instType=SPOT")["data"][0])
    for row in body["data"]:
        assert set(row) == recorded_fields
        assert row["instType"] == "SPOT" and row["state"] == "live"
        assert row["instId"] == f"{row['baseCcy']}-{row['quoteCcy']}"
    markets = OkxAdapter.parse_markets(body)
    assert {m.symbol for m in markets} == set(ids)


# --- emission ------------------------------------------------------------------------------
