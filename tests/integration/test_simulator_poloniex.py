"""The simulator speaks Poloniex spot: per-channel acks, numbered book_lv2 snapshots and updates,
trades, ping/pong, errors, the listing, and each fault as the adapter sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from core.types import Quote
from tests.support import simulator as sh
from tests.support.adapter_events import on_message, reconnect_reason
from workers.exchanges.events import Reconnect
from workers.exchanges.poloniex import PoloniexAdapter

pytestmark = pytest.mark.integration

PAIRS = ("BTC-USDT", "ETH-USDT")


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "poloniex", "--symbols", "BTC-USD,BTC-USDT,ETH-USDT",
                        "--rate", "100")


def is_book(action: str | None = None) -> Any:
    return lambda f: f.get("channel") == "book_lv2" and "data" in f and (
        action is None or f["action"] == action)


def test_listing_has_the_usdt_pairs_not_the_usd_one(sim: sh.SimProcess) -> None:
    body = requests.get(PoloniexAdapter.markets_url(f"{sim.http}/poloniex"), timeout=5).json()
    symbols = {m.symbol for m in PoloniexAdapter.parse_markets(body)}
    assert {"BTC-USDT", "ETH-USDT"} <= symbols and "BTC-USD" not in symbols
    assert all(row["state"] == "NORMAL" and row["symbol"].count("_") == 1 for row in body)


def test_acks_per_channel_then_snapshot_and_joined_updates(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("poloniex")) as ws:
        ws.send(json.dumps({"event": "subscribe", "channel": ["book_lv2", "trades"],
                            "symbols": ["BTC_USDT"]}))
        ack = sh.wait_frame(ws, lambda f: f.get("event") == "subscribe")
        assert ack == {"event": "subscribe", "channel": "book_lv2", "symbols": ["BTC_USDT"]}
        snap = sh.wait_frame(ws, is_book("snapshot"))["data"][0]
        assert set(snap) == {"symbol", "createTime", "asks", "bids", "lastId", "id", "ts"}
        previous = snap["id"]
        for frame in sh.collect(ws, 1.5):
            if is_book("update")(frame):
                entry = frame["data"][0]
                assert (entry["lastId"], entry["id"]) == (previous, previous + 1)
                previous = entry["id"]
        assert previous > snap["id"]


@pytest.mark.parametrize(("request_text", "reply"), [
    ('{"event":"ping"}', {"event": "pong"}),
    ("PING", {"event": "pong"}),
    ('{"event":"subscribe","channel":["book_lv3"],"symbols":["BTC_USDT"]}',
     {"event": "error", "message": 'Invalid channel value ["book_lv3"]'}),
    ('{"event":"subscribe","channel":["book_lv2"],"symbols":["BTC_USD"]}',
     {"event": "error", "message": 'Invalid symbols value ["BTC_USD"]'}),
])
def test_ping_and_errors(sim: sh.SimProcess, request_text: str, reply: Any) -> None:
    with sh.connected(sim.ws_url("poloniex")) as ws:
        ws.send(request_text)
        assert sh.collect(ws, 1.0) == [reply]


@contextmanager
def session(sim: sh.SimProcess, reads: int) -> Iterator[tuple[PoloniexAdapter, Any]]:
    """An adapter subscribed to PAIRS that has read `reads` events; the socket closed after."""
    adapter, ws = sh.subscribed(sim, PoloniexAdapter, "poloniex", PAIRS)
    try:
        sh.through_adapter(ws, adapter, reads)
        yield adapter, ws
    finally:
        ws.close()


def reconnects(out: list[Any]) -> list[Any]:
    return [e for e in out if type(e) is Reconnect]


def test_quotes_through_the_adapter(sim: sh.SimProcess) -> None:
    with session(sim, 0) as (adapter, ws):
        _, out = sh.through_adapter(ws, adapter, 40)
        quotes = [q for q in out if type(q) is Quote]
        assert {q.symbol for q in quotes} == set(PAIRS)
        assert all(q.bid < q.ask for q in quotes)
        assert not adapter.errors and not reconnects(out), adapter.errors


def test_gap_fault_resyncs(sim: sh.SimProcess) -> None:
    with session(sim, 5) as (adapter, ws):
        assert sim.control("poloniex", "gap").json()["action"] == "gap"
        # Long enough for every symbol's next update (the one that skips) to go out.
        for text in sh.collect_texts(ws, 1.5):
            on_message(adapter, text, 1)
        assert reconnect_reason(adapter) == "sequence_gap"
        assert adapter.errors["sequence_gap"] >= 1
    # The resubscription's snapshots join the updates again.
    with session(sim, 0) as (adapter, ws):
        _, out = sh.through_adapter(ws, adapter, 10)
        assert any(type(q) is Quote for q in out) and not reconnects(out)


def test_reconnect_control_resends_snapshots_the_adapter_resets_to(sim: sh.SimProcess) -> None:
    with session(sim, 5) as (adapter, ws):
        assert sim.control("poloniex", "reconnect").json()["notified"] >= 1
        frames, out = sh.through_adapter(ws, adapter, 10)
        assert any('"action":"snapshot"' in text for text in frames)
        assert not reconnects(out) and not adapter.errors


def test_garbage_is_counted(sim: sh.SimProcess) -> None:
    with session(sim, 3) as (adapter, ws):
        assert sim.control("poloniex", "garbage").status_code == 200
        sh.collect_texts(ws, 2, until=lambda text: (on_message(adapter, text, 1),
                                                    adapter.errors["bad_json"])[1] > 0)
        assert adapter.errors["bad_json"] == 1 and reconnect_reason(adapter) is None


def test_trades_feed_last(sim: sh.SimProcess) -> None:
    with session(sim, 0) as (adapter, ws):
        _, out = sh.through_adapter(ws, adapter, 200, timeout_s=20)
        assert any(type(q) is Quote and q.last is not None for q in out)
