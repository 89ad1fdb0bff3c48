"""The simulator speaks Bitstamp v2 and Kraken v2 as docs/protocols.md describes them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh

pytestmark = pytest.mark.integration

RFC3339_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DECIMAL = re.compile(r"^\d+\.\d+$")


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve()


def bitstamp_error(message: str):
    return lambda f: f.get("event") == "bts:error" and f["data"]["message"] == message


# --- Bitstamp -------------------------------------------------------------------------------


def test_bitstamp_ack_then_full_book_snapshots(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitstamp")) as ws:
        bk.bitstamp_subscribe(ws, "order_book_btcusd")
        ack = sh.wait_frame(ws, lambda f: f.get("event") == "bts:subscription_succeeded")
        assert ack == {
            "event": "bts:subscription_succeeded",
            "channel": "order_book_btcusd",
            "data": {},
        }
        frame = sh.wait_frame(ws, bk.is_bitstamp_book)
        assert frame["channel"] == "order_book_btcusd" and frame["event"] == "data"
        data = frame["data"]
        assert set(data) == {"timestamp", "microtimestamp", "bids", "asks"}
        assert data["timestamp"] == str(int(data["microtimestamp"]) // 1_000_000)
        assert len(data["bids"]) == 20 and len(data["asks"]) == 20
        for level in data["bids"] + data["asks"]:
            assert len(level) == 2 and all(DECIMAL.match(x) for x in level), level
        bids = [float(p) for p, _ in data["bids"]]
        asks = [float(p) for p, _ in data["asks"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0] < asks[0]
        assert 40_000 < bids[0] < 90_000  # BTC starts near 64,000
        # Deeper levels sit further apart, so walking the book costs more the deeper it goes.
        assert bids[18] - bids[19] > bids[0] - bids[1] and asks[19] - asks[18] > asks[1] - asks[0]


def test_bitstamp_errors_heartbeat_and_silent_unknown_market(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitstamp")) as ws:
        ws.send("this is not json")
        err = sh.wait_frame(ws, lambda f: f.get("event") == "bts:error")
        assert err == {
            "event": "bts:error",
            "channel": "",
            "data": {"code": None, "message": "Incorrect JSON format."},
        }
        ws.send(json.dumps({"event": "bts:subscribe", "data": {}}))
        sh.wait_frame(ws, bitstamp_error("Bad subscription string."))
        ws.send(json.dumps({"event": "bts:bogus", "data": {"channel": "order_book_btcusd"}}))
        sh.wait_frame(ws, bitstamp_error("Bad subscription string."))
        bk.bitstamp_subscribe(ws, "order_book_BTCUSD")
        sh.wait_frame(ws, bitstamp_error("Invalid channel provided."))
        bk.bitstamp_subscribe(ws, "ticker_btcusd")
        sh.wait_frame(ws, bitstamp_error("Invalid channel provided."))

        ws.send(json.dumps({"event": "bts:heartbeat"}))
        beat = sh.wait_frame(ws, lambda f: f.get("event") == "bts:heartbeat")
        assert beat == {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}

        bk.bitstamp_subscribe(ws, "order_book_fooxyz")
        ack = sh.wait_frame(ws, lambda f: f.get("event") == "bts:subscription_succeeded")
        assert ack["channel"] == "order_book_fooxyz"
        assert sh.collect(ws, 1.0) == []  # acknowledged, then silence


def test_bitstamp_trades_and_unsubscribe(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitstamp")) as ws:
        bk.bitstamp_subscribe(ws, "order_book_ethusd")
        bk.bitstamp_subscribe(ws, "live_trades_ethusd")
        trade = sh.wait_frame(ws, lambda f: f.get("event") == "trade", seconds=5)
        assert trade["channel"] == "live_trades_ethusd"
        data = trade["data"]
        assert isinstance(data["price"], float) and isinstance(data["amount"], float)
        assert float(data["price_str"]) == data["price"]
        assert float(data["amount_str"]) == data["amount"] and DECIMAL.match(data["amount_str"])
        assert data["type"] in (0, 1) and isinstance(data["id"], int)
        assert data["timestamp"] == str(int(data["microtimestamp"]) // 1_000_000)

        for channel in ("order_book_ethusd", "live_trades_ethusd"):
            ws.send(json.dumps({"event": "bts:unsubscribe", "data": {"channel": channel}}))
        sh.wait_frame(
            ws,
            lambda f: (
                f.get("event") == "bts:unsubscription_succeeded"
                and f["channel"] == "live_trades_ethusd"
            ),
        )
        assert sh.collect(ws, 0.5) == []


# --- Kraken ---------------------------------------------------------------------------------


def test_kraken_status_acks_errors_and_ping(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("kraken")) as ws:
        status = sh.recv_json(ws, 5)
        assert status["channel"] == "status" and status["type"] == "update"
        assert status["data"][0]["system"] == "online"
        assert status["data"][0]["api_version"] == "v2"
        assert isinstance(status["data"][0]["connection_id"], int)

        bk.kraken_subscribe(ws, ["BTC/USD", "ETH/USD", "XBT/USD", "FOO/USD"], req_id=7)
        replies = sh.collect(ws, 5, until=lambda f: f.get("symbol") == "FOO/USD" and "error" in f)
        acks = [f for f in replies if f.get("method") == "subscribe" and f.get("success")]
        assert [a["result"]["symbol"] for a in acks] == ["BTC/USD", "ETH/USD"]
        for ack in acks:
            assert ack["result"]["channel"] == "ticker"
            assert ack["result"]["event_trigger"] == "bbo"
            assert ack["req_id"] == 7
            assert RFC3339_US.match(ack["time_in"]) and RFC3339_US.match(ack["time_out"])
        errors = [f for f in replies if f.get("success") is False]
        assert [(e["error"], e["symbol"]) for e in errors] == [
            ("Currency pair not supported XBT/USD", "XBT/USD"),
            ("Currency pair not supported FOO/USD", "FOO/USD"),
        ]
        assert all(e["method"] == "subscribe" and e["req_id"] == 7 for e in errors)

        update = sh.wait_frame(ws, bk.is_kraken_update)
        data = update["data"][0]
        for key in ("bid", "bid_qty", "ask", "ask_qty", "last", "volume", "vwap", "low", "high"):
            assert isinstance(data[key], float), (key, data[key])
        assert data["bid"] < data["ask"]
        assert RFC3339_US.match(data["timestamp"])

        ws.send(json.dumps({"method": "ping", "req_id": 101}))
        pong = sh.wait_frame(ws, lambda f: f.get("method") == "pong")
        assert pong["req_id"] == 101 and RFC3339_US.match(pong["time_out"])


def test_kraken_snapshot_repeats_last_update_exactly(sim: sh.SimProcess) -> None:
    first = sh.connect(sim.ws_url("kraken"))
    second = sh.connect(sim.ws_url("kraken"))
    try:
        bk.kraken_subscribe(first, ["ETH/USD"], req_id=1)
        seen = [sh.wait_frame(first, bk.is_kraken_update)["data"][0]]
        bk.kraken_subscribe(second, ["ETH/USD"], req_id=2)
        snapshot = sh.wait_frame(second, lambda f: f.get("type") == "snapshot")
        # The first client got every update; the snapshot must be one of them, value for value.
        seen += [f["data"][0] for f in sh.collect(first, 1.0) if bk.is_kraken_update(f)]
        assert snapshot["data"][0] in seen
        following = sh.wait_frame(second, bk.is_kraken_update)
        assert bk.kraken_top(following)[2] > bk.kraken_top(snapshot)[2]
    finally:
        first.close()
        second.close()


def test_kraken_rejects_bad_requests(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("kraken")) as ws:
        sh.recv_json(ws, 5)  # status
        ws.send("{not json")
        assert sh.wait_frame(ws, lambda f: "error" in f)["success"] is False
        ws.send(json.dumps({"method": "subscribe", "params": {"channel": "ticker"}, "req_id": 3}))
        err = sh.wait_frame(ws, lambda f: "error" in f)
        assert err["success"] is False and err["req_id"] == 3
        ws.send(
            json.dumps(
                {"method": "unsubscribe", "params": {"channel": "ticker", "symbol": ["BTC/USD"]}}
            )
        )
        assert sh.wait_frame(ws, lambda f: "error" in f)["method"] == "unsubscribe"


# --- REST -----------------------------------------------------------------------------------


def test_bitstamp_trading_pairs_info(sim: sh.SimProcess) -> None:
    rows = requests.get(f"{sim.http}/bitstamp/api/v2/trading-pairs-info/", timeout=5).json()
    assert isinstance(rows, list)
    by_symbol = {r["url_symbol"]: r for r in rows}
    assert {"btcusd", "ethusd"} <= set(by_symbol) and len(by_symbol) > 2  # extras to filter out
    btc = by_symbol["btcusd"]
    assert btc["name"] == "BTC/USD" and btc["trading"] == "Enabled"
    assert set(btc) == {
        "trading",
        "base_decimals",
        "url_symbol",
        "name",
        "instant_and_market_orders",
        "minimum_order",
        "counter_decimals",
        "description",
    }
    assert isinstance(btc["base_decimals"], int) and isinstance(btc["counter_decimals"], int)


def test_kraken_asset_pairs(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/kraken/0/public/AssetPairs", timeout=5).json()
    assert body["error"] == []
    result = body["result"]
    btc = result["XXBTZUSD"]
    assert (btc["altname"], btc["wsname"], btc["base"], btc["quote"]) == (
        "XBTUSD",
        "XBT/USD",
        "XXBT",
        "ZUSD",
    )
    assert btc["fees"][0] == [0, 0.4] and isinstance(btc["pair_decimals"], int)
    eth = next(v for v in result.values() if v["altname"] == "ETHUSD")
    assert eth["wsname"] == "ETH/USD"
    wsnames = {v["wsname"] for v in result.values()}
    assert len(wsnames) > 2 and {"XBT/USD", "ETH/USD"} < wsnames  # extras to filter out
