"""The simulator speaks Bybit v5 public spot as docs/protocols.md describes it."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from workers.exchanges.bybit import BybitAdapter

pytestmark = pytest.mark.integration

DECIMAL = re.compile(r"^\d+(\.\d+)?$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# BTC-USD is configured but Bybit spot lists no USD pairs: the venue must leave it out.
SYMBOLS = "BTC-USDT,ETH-USDT,BTC-USD"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bybit", "--symbols", SYMBOLS, "--rate", "50")


def request(ws: websocket.WebSocket, op: str, args: list[str] | None = None,
            req_id: str | None = None) -> None:
    body: dict[str, Any] = {"op": op}
    if args is not None:
        body["args"] = args
    if req_id is not None:
        body["req_id"] = req_id
    ws.send(json.dumps(body))


def is_book(frame: Any) -> bool:
    return isinstance(frame, dict) and str(frame.get("topic", "")).startswith("orderbook.1.")


def is_reply(frame: Any) -> bool:
    return isinstance(frame, dict) and "success" in frame


def test_instruments_info_lists_only_pairs_bybit_has(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/bybit/v5/market/instruments-info?category=spot",
                        timeout=5).json()
    assert (body["retCode"], body["retMsg"], body["retExtInfo"]) == (0, "OK", {})
    assert isinstance(body["time"], int) and body["result"]["category"] == "spot"
    rows = body["result"]["list"]
    names = [r["symbol"] for r in rows]
    assert names[:2] == ["BTCUSDT", "ETHUSDT"] and "BTCUSD" not in names
    assert len(names) == 4  # two extra pairs nobody configured
    for row in rows:
        assert row["status"] == "Trading"
        assert row["symbol"] == row["baseCoin"] + row["quoteCoin"]
        assert DECIMAL.match(row["priceFilter"]["tickSize"])
    markets = BybitAdapter.parse_markets(body)
    assert [m.symbol for m in markets][:2] == ["BTC-USDT", "ETH-USDT"]
    assert set(sim.stats()["emitted"]["bybit"]) == {"BTC-USDT", "ETH-USDT"}


def test_ack_ping_and_level1_snapshots(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bybit")) as ws:
        request(ws, "subscribe", ["orderbook.1.BTCUSDT", "tickers.BTCUSDT"], "sub-1")
        ack = sh.wait_frame(ws, is_reply)
        conn_id = ack.pop("conn_id")
        assert UUID.match(conn_id)
        assert ack == {"success": True, "ret_msg": "subscribe", "req_id": "sub-1",
                       "op": "subscribe"}
        frame = sh.wait_frame(ws, is_book)
        assert set(frame) == {"topic", "ts", "type", "data", "cts"}
        assert frame["topic"] == "orderbook.1.BTCUSDT" and frame["type"] == "snapshot"
        assert type(frame["ts"]) is int and frame["cts"] <= frame["ts"]
        data = frame["data"]
        assert set(data) == {"s", "b", "a", "u", "seq"} and data["s"] == "BTCUSDT"
        assert len(data["b"]) == len(data["a"]) == 1
        assert all(DECIMAL.match(x) for x in data["b"][0] + data["a"][0])
        assert float(data["b"][0][0]) < float(data["a"][0][0])
        ticker = sh.wait_frame(ws, lambda f: f.get("topic") == "tickers.BTCUSDT", 15)
        assert ticker["type"] == "snapshot" and DECIMAL.match(ticker["data"]["lastPrice"])
        assert "bid1Price" not in ticker["data"]  # spot websocket tickers carry no bid/ask
        request(ws, "ping", req_id="p1")
        pong = sh.wait_frame(ws, is_reply)
        assert pong == {"success": True, "ret_msg": "pong", "conn_id": conn_id,
                        "req_id": "p1", "op": "ping"}
        request(ws, "unsubscribe", ["orderbook.1.BTCUSDT", "tickers.BTCUSDT"], "u1")
        assert sh.wait_frame(ws, is_reply)["success"] is True
        time.sleep(0.2)
        sh.collect(ws, 0.2)
        assert [f for f in sh.collect(ws, 1.0) if is_book(f)] == []


def test_failures_are_answered(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bybit")) as ws:
        cases = [
            (["orderbook.1.FOOUSDT"], "Invalid symbol :[orderbook.1.FOOUSDT]"),
            (["orderbook.7.BTCUSDT"], "Invalid topic :[orderbook.7.BTCUSDT]"),
            ([f"tickers.BTCUSDT{i}" for i in range(11)], "args size >10"),
        ]
        for args, text in cases:
            request(ws, "subscribe", args, "bad")
            reply = sh.wait_frame(ws, is_reply)
            assert (reply["success"], reply["ret_msg"], reply["op"], reply["req_id"]) == (
                False, text, "subscribe", "bad")
        ws.send("not json")
        assert sh.wait_frame(ws, is_reply)["success"] is False
        request(ws, "auth", [], "a")
        assert sh.wait_frame(ws, is_reply)["op"] == "auth"
        # A failed request subscribes nothing, even its valid args.
        request(ws, "subscribe", ["orderbook.1.BTCUSDT", "orderbook.1.FOOUSDT"], "mixed")
        assert sh.wait_frame(ws, is_reply)["success"] is False
        assert [f for f in sh.collect(ws, 1.0) if is_book(f)] == []
        # A listed pair that is not simulated is acked, and stays silent.
        extra = next(r["symbol"] for r in requests.get(
            f"{sim.http}/bybit/v5/market/instruments-info", timeout=5).json()["result"]["list"]
            if r["symbol"] not in ("BTCUSDT", "ETHUSDT"))
        request(ws, "subscribe", [f"orderbook.1.{extra}"], "x")
        assert sh.wait_frame(ws, is_reply)["success"] is True
        assert [f for f in sh.collect(ws, 1.0) if is_book(f)] == []


def test_count_is_exact_re_pushes_and_restarts_make_no_new_quotes() -> None:
    sim = sh.SimProcess("--exchanges", "bybit", "--symbols", SYMBOLS, "--count", "300",
                        "--rate", "0").start()
    ws = sh.connect(sim.ws_url("bybit"))
    try:
        markets = BybitAdapter.parse_markets(requests.get(
            f"{sim.http}/bybit/v5/market/instruments-info?category=spot", timeout=5).json())
        adapter = BybitAdapter([m for m in markets if m.symbol in ("BTC-USDT", "ETH-USDT")])
        adapter.on_connect()
        for frame in adapter.subscribe_messages():
            ws.send(frame)
        changes: list[dict[str, Any]] = []
        seen: set[tuple[str, int]] = set()

        def counted(frame: Any) -> bool:
            if is_book(frame) and (key := (frame["data"]["s"], frame["data"]["u"])) not in seen:
                seen.add(key)
                changes.append(frame)
            return len(changes) >= 300

        texts = sh.collect_texts(ws, 60, until=sh.decoded(counted))
        assert len(changes) == 300
        # Nothing new after the count; an unchanged book is re-pushed after 3 s, unchanged.
        tail = sh.collect(ws, 4.5)
        texts += [json.dumps(f) for f in tail]
        repushed = [f for f in tail if is_book(f)]
        assert {f["data"]["s"] for f in repushed} == {"BTCUSDT", "ETHUSDT"}
        last_of = {f["data"]["s"]: f for f in changes}
        assert all(f == last_of[f["data"]["s"]] for f in repushed)

        counts: dict[str, int] = defaultdict(int)
        previous: dict[str, dict[str, Any]] = {}
        for frame in changes:
            symbol, data = frame["data"]["s"], frame["data"]
            counts[symbol] += 1
            if symbol in previous:
                before = previous[symbol]
                # ms timestamps strictly rise per book: every change is its own point.
                assert frame["ts"] > before["ts"] and data["u"] == before["data"]["u"] + 1
                assert (data["b"], data["a"]) != (before["data"]["b"], before["data"]["a"])
            previous[symbol] = frame
        emitted = sim.stats()["emitted"]["bybit"]
        assert dict(counts) == {"BTCUSDT": emitted["BTC-USDT"], "ETHUSDT": emitted["ETH-USDT"]}
        assert sum(emitted.values()) == 300

        # A late subscriber gets the last change itself (same u, same ts): a fresh
        # connection's adapter quotes it, with the time of the point already stored.
        late = sh.connect(sim.ws_url("bybit"))
        try:
            request(late, "subscribe", ["orderbook.1.BTCUSDT"], "late")
            assert sh.wait_frame(late, is_reply)["success"] is True
            snapshot = sh.wait_frame(late, is_book)
            assert snapshot == last_of["BTCUSDT"]
            fresh = BybitAdapter(list(adapter.markets.values()))
            (quote,) = fresh.on_message(json.dumps(snapshot), 0)
            assert quote.ts_exchange_ns == last_of["BTCUSDT"]["ts"] * 1_000_000
        finally:
            late.close()
        deadline = time.monotonic() + 5
        while sim.stats()["clients"]["bybit"] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)

        # A simulated service restart: every book again, with u == 1, same top and time.
        assert sim.control("bybit", "reconnect").json()["notified"] == 1
        restart = [f for f in sh.collect(ws, 1.0) if is_book(f)]
        assert {f["data"]["s"] for f in restart} == {"BTCUSDT", "ETHUSDT"}
        for frame in restart:
            before = last_of[frame["data"]["s"]]
            assert frame["data"]["u"] == 1 and frame["ts"] == before["ts"]
            assert (frame["data"]["b"], frame["data"]["a"]) == (
                before["data"]["b"], before["data"]["a"])
        texts += [json.dumps(f) for f in restart]

        quotes = [q for i, text in enumerate(texts) for q in adapter.on_message(text, i)]
        assert len(quotes) == 300 and not adapter.errors
        assert [q.ts_exchange_ns for q in quotes] == [f["ts"] * 1_000_000 for f in changes]
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
