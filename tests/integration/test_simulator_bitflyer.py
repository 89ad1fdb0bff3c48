"""The simulator speaks bitFlyer Lightning's JSON-RPC: true replies, batches, JSON-RPC errors,
board snapshots and deltas with mid_price, tickers, the spot listing, and each fault as the
adapter sees it (a lost delta heals at the next snapshot, a wrong mid resyncs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from core.types import Quote
from tests.support import simulator as sh
from tests.support.adapter_events import on_message, reconnect_reason
from workers.exchanges.bitflyer import BitflyerAdapter
from workers.exchanges.events import Reconnect

pytestmark = pytest.mark.integration

PAIRS = ("BTC-JPY", "ETH-JPY")
Live = tuple[BitflyerAdapter, Any]  # an adapter and the socket it subscribed on


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bitflyer", "--symbols", "BTC-USD,BTC-JPY,ETH-JPY",
                        "--rate", "100")


@pytest.fixture()
def live(sim: sh.SimProcess) -> Iterator[Live]:
    """An adapter for PAIRS and the socket it subscribed on (closed afterwards)."""
    adapter, ws = sh.subscribed(sim, BitflyerAdapter, "bitflyer", PAIRS)
    yield adapter, ws
    ws.close()


def quiet(adapter: BitflyerAdapter) -> bool:
    """Nothing counted but deltas that beat their board's first snapshot (deltas go first)."""
    return set(adapter.errors) <= {"no_snapshot"}


def channel_of(frame: Any) -> str | None:
    return frame.get("params", {}).get("channel") if isinstance(frame, dict) else None


def test_listing_is_spot_jpy_with_derivatives_beside(sim: sh.SimProcess) -> None:
    body = requests.get(BitflyerAdapter.markets_url(f"{sim.http}/bitflyer"), timeout=5).json()
    assert {"FX", "Futures"} <= {row["market_type"] for row in body}
    symbols = {m.symbol for m in BitflyerAdapter.parse_markets(body)}
    assert set(PAIRS) <= symbols and all(s.endswith("-JPY") for s in symbols)


def test_replies_snapshot_then_deltas(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bitflyer")) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "subscribe", "id": 7,
                            "params": {"channel": "lightning_board_snapshot_BTC_JPY"}}))
        assert sh.wait_frame(ws, lambda f: "id" in f) == {"jsonrpc": "2.0", "id": 7,
                                                          "result": True}
        snap = sh.wait_frame(ws, lambda f: channel_of(f) == "lightning_board_snapshot_BTC_JPY")
        assert set(snap["params"]["message"]) == {"mid_price", "bids", "asks"}
        # A batch: answered as one array, in order; a request without an id gets no answer.
        ws.send(json.dumps([
            {"jsonrpc": "2.0", "method": "subscribe", "id": 8,
             "params": {"channel": "lightning_board_BTC_JPY"}},
            {"jsonrpc": "2.0", "method": "subscribe",
             "params": {"channel": "lightning_ticker_BTC_JPY"}}]))
        assert sh.wait_frame(ws, lambda f: isinstance(f, list)) == [
            {"jsonrpc": "2.0", "id": 8, "result": True}]
        delta = sh.wait_frame(ws, lambda f: channel_of(f) == "lightning_board_BTC_JPY")
        message = delta["params"]["message"]
        assert isinstance(message["mid_price"], float)
        assert all(set(level) == {"price", "size"} for level in message["bids"] + message["asks"])
        sh.wait_frame(ws, lambda f: channel_of(f) == "lightning_ticker_BTC_JPY")


@pytest.mark.parametrize(("request_text", "code"), [
    ("{not json", -32700),
    ('{"jsonrpc":"2.0","method":"auth","params":{},"id":1}', -32601),
    ('{"jsonrpc":"2.0","method":"subscribe","params":{"channel":"lightning_board_BTC_USD"},'
     '"id":2}', -32602),
    ('{"jsonrpc":"2.0","params":{},"id":3}', -32600),
])
def test_json_rpc_errors(sim: sh.SimProcess, request_text: str, code: int) -> None:
    with sh.connected(sim.ws_url("bitflyer")) as ws:
        ws.send(request_text)
        (answer,) = sh.collect(ws, 1.0)
        assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == code


def test_quotes_through_the_adapter(sim: sh.SimProcess, live: Live) -> None:
    adapter, ws = live
    _, out = sh.through_adapter(ws, adapter, 40)
    quotes = [q for q in out if type(q) is Quote]
    assert {q.symbol for q in quotes} == set(PAIRS) and all(q.bid < q.ask for q in quotes)
    assert any(q.last is not None for q in quotes)
    assert not [e for e in out if type(e) is Reconnect] and quiet(adapter)


def test_a_wrong_mid_resyncs(sim: sh.SimProcess, live: Live) -> None:
    adapter, ws = live
    sh.through_adapter(ws, adapter, 5)
    assert sim.control("bitflyer", "bad_checksum").json()["action"] == "bad_checksum"
    sh.collect_texts(ws, 3, until=lambda text: (on_message(adapter, text, 1),
                                                reconnect_reason(adapter))[1] is not None)
    assert reconnect_reason(adapter) == "checksum_mismatch"
    assert adapter.errors["mid_mismatch"] == 1


def test_a_lost_delta_heals_at_the_next_snapshot(sim: sh.SimProcess, live: Live) -> None:
    adapter, ws = live
    sh.through_adapter(ws, adapter, 5)
    assert sim.control("bitflyer", "gap").json()["action"] == "gap"
    healed: set[str] = set()
    tops: dict[str, tuple[float, float]] = {}
    checked = 0
    for text in sh.collect_texts(ws, 7.0):
        for quote in on_message(adapter, text, 1):
            tops[quote.symbol] = (quote.bid, quote.ask)
        frame = json.loads(text)
        channel = channel_of(frame) or ""
        symbol = channel.rpartition("_")[0].rpartition("_")[2] + "-JPY"
        if channel.startswith("lightning_board_snapshot_"):
            healed.add(symbol)
        elif channel.startswith("lightning_ticker_") and symbol in healed and symbol in tops:
            message = frame["params"]["message"]
            assert tops[symbol] == (message["best_bid"], message["best_ask"])
            checked += 1
    assert healed == set(PAIRS) and checked > 10
    assert reconnect_reason(adapter) in (None, "checksum_mismatch", "crossed_book")


def test_reconnect_control_resends_snapshots(sim: sh.SimProcess, live: Live) -> None:
    adapter, ws = live
    sh.through_adapter(ws, adapter, 5)
    assert sim.control("bitflyer", "reconnect").json()["notified"] >= 1
    frames, out = sh.through_adapter(ws, adapter, 10)
    assert any("lightning_board_snapshot_" in text for text in frames)
    assert not [e for e in out if type(e) is Reconnect] and quiet(adapter)


def test_garbage_is_counted(sim: sh.SimProcess, live: Live) -> None:
    adapter, ws = live
    sh.through_adapter(ws, adapter, 3)
    assert sim.control("bitflyer", "garbage").status_code == 200
    sh.collect_texts(ws, 2, until=lambda text: (on_message(adapter, text, 1),
                                                adapter.errors["bad_json"])[1] > 0)
    assert adapter.errors["bad_json"] == 1 and reconnect_reason(adapter) is None
