"""The simulator speaks KuCoin spot as docs/venues/kucoin.md describes it: the bullet token, a
welcome, acks and errors, pongs, level1 quotes through the adapter, level2 increments seeded by
the REST snapshot, and the faults (gap → resync, reconnect → close, garbage → counted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import websocket

from core.types import Quote
from tests.support import simulator as sh
from workers.exchanges.events import split_events
from workers.exchanges.kucoin import KucoinAdapter

pytestmark = pytest.mark.integration

SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
SNAPSHOT = "{}/kucoin/api/v1/market/orderbook/level2_100"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "kucoin", "--symbols", "BTC-USD,BTC-USDT,ETH-USDT,ETH-BTC",
                        "--rate", "50")


@contextmanager
def session(sim: sh.SimProcess, symbols: tuple[str, ...] = SYMBOLS, subscribe: bool = False
            ) -> Iterator[tuple[KucoinAdapter, websocket.WebSocket]]:
    """An adapter and the socket it opened as the worker does: POST bullet-public, connect to
    the URL the answer names, get welcomed; then the adapter's subscriptions when asked."""
    listing = requests.get(KucoinAdapter.markets_url(f"{sim.http}/kucoin"), timeout=5).json()
    adapter = KucoinAdapter([m for m in KucoinAdapter.parse_markets(listing)
                             if m.symbol in symbols])
    adapter.rest_base = f"{sim.http}/kucoin"
    answer = requests.post(adapter.rest_endpoint(adapter.bootstrap_path), timeout=5)
    assert answer.ok, answer.text
    adapter.on_connect()
    ws = sh.connect(adapter.ws_url_from_bootstrap(answer.text))
    try:
        assert sh.recv_json(ws, 5)["type"] == "welcome"
        for frame in adapter.subscribe_messages() if subscribe else []:
            ws.send(frame)
        yield adapter, ws
    finally:
        ws.close()


def request(ws: websocket.WebSocket, **frame: Any) -> dict[str, Any]:
    """Send a frame; the first ack, pong or error that answers it."""
    ws.send(json.dumps(frame))
    return sh.wait_frame(ws, lambda f: f.get("type") in ("ack", "pong", "error")
                         and f.get("id") == str(frame.get("id")))


def closes(ws: websocket.WebSocket, seconds: float = 5.0) -> bool:
    """True once the server closed `ws` within `seconds`."""
    try:
        sh.collect_texts(ws, seconds)
    except websocket.WebSocketConnectionClosedException:
        return True
    return False


def test_bullet_listing_and_quotes_through_the_adapter(sim: sh.SimProcess) -> None:
    bullet = requests.post(f"{sim.http}/kucoin/api/v1/bullet-public", timeout=5).json()
    (server,) = bullet["data"]["instanceServers"]
    assert bullet["code"] == "200000" and bullet["data"]["token"]
    assert server["endpoint"] == sim.ws_url("kucoin") and server["pingInterval"] == 18000
    listing = requests.get(f"{sim.http}/kucoin/api/v2/symbols", timeout=5).json()
    names = {row["symbol"] for row in listing["data"]}
    assert set(SYMBOLS) <= names and "BTC-USD" not in names  # no USD pairs on KuCoin
    assert 1 <= len(names - set(SYMBOLS)) <= 2

    with session(sim, subscribe=True) as (adapter, ws):
        frames, quotes = sh.through_adapter(ws, adapter, 30, quiet_s=0.2)
        assert sum(json.loads(f)["type"] == "ack" for f in frames) == 2
        assert len(quotes) >= 30 and all(type(q) is Quote for q in quotes)
        assert {q.symbol for q in quotes} == set(SYMBOLS)
        assert all(q.ts_exchange_ns is not None for q in quotes)
        assert not adapter.errors


def test_pings_and_refused_subscriptions(sim: sh.SimProcess) -> None:
    with session(sim) as (adapter, ws):
        ping = json.loads(adapter.ping_message() or "")
        assert request(ws, **ping) == {"id": ping["id"], "type": "pong"}
        for topic in ("/spotMarket/level1:BTC-USD", "/market/nothing:BTC-USDT",
                      "/spotMarket/level1:"):
            error = request(ws, id=7, type="subscribe", topic=topic, response=True)
            assert error["type"] == "error" and error["code"] == 404
            adapter.on_message(json.dumps(error), 1)
        assert adapter.errors == {"venue_error": 3}
        # Up to 100 topics a connection, each symbol of a topic counting as one: 12 + 89 > 100.
        for i, prefix in enumerate(("/spotMarket/level1", "/market/match", "/market/level2",
                                    "/market/ticker")):
            assert request(ws, id=10 + i, type="subscribe", topic=f"{prefix}:{','.join(SYMBOLS)}",
                           response=True)["type"] == "ack"
        candles = ",".join(f"ETH-BTC_{n}min" for n in range(89))
        refused = request(ws, id=99, type="subscribe", topic=f"/market/candles:{candles}",
                          response=True)
        assert refused["type"] == "error" and refused["code"] == 509 and "100" in refused["data"]
        ws.send("not json")
        assert sh.wait_frame(ws, lambda f: f.get("type") == "error")["code"] == 400


def test_level2_seeded_by_rest_and_a_gap_resyncs(sim: sh.SimProcess) -> None:
    with session(sim, ("BTC-USDT",)) as (adapter, ws):
        request(ws, id=1, type="subscribe", topic="/market/level2:BTC-USDT", response=True)
        quotes: list[Quote] = []
        while len(quotes) < 10:
            split = split_events(adapter.on_message(sh.recv_text(ws, 5) or "", 1))
            quotes += split.quotes
            for url in split.fetches:
                assert url == SNAPSHOT.format(sim.http) + "?symbol=BTC-USDT"
                body = requests.get(url, timeout=5).text
                quotes += split_events(adapter.on_rest(url, body, 2)).quotes
        assert not adapter.errors.get("sequence_gap") and not adapter.errors.get("bad_json")
        assert sim.control("kucoin", "gap").ok
        reason = None
        for _ in range(50):
            reason = split_events(adapter.on_message(sh.recv_text(ws, 5) or "", 3)).reconnect
            if reason is not None:
                break
        assert reason == "sequence_gap" and adapter.errors["sequence_gap"] == 1


def test_reconnect_closes_and_garbage_is_counted(sim: sh.SimProcess) -> None:
    with session(sim, subscribe=True) as (adapter, ws):
        assert sim.control("kucoin", "bad_checksum").status_code == 400
        assert sim.control("kucoin", "garbage").ok
        for text in sh.collect_texts(ws, 3.0, until=lambda t: "garbage" in t):
            adapter.on_message(text, 1)
        assert adapter.errors == {"bad_json": 1}
        # No reconnect request exists on KuCoin: the server just goes away.
        assert sim.control("kucoin", "reconnect").ok
        assert closes(ws)


def test_every_emitted_change_is_one_quote() -> None:
    proc = sh.SimProcess("--exchanges", "kucoin", "--symbols", "BTC-USDT,ETH-USDT",
                         "--count", "200", "--rate", "0").start()
    try:
        with session(proc, ("BTC-USDT", "ETH-USDT"), subscribe=True) as (adapter, ws):
            quotes = sh.through_adapter(ws, adapter, 200)[1]
        assert not adapter.errors and len(quotes) == 200
        assert sum(proc.stats()["emitted"]["kucoin"].values()) == 200
    finally:
        assert proc.stop() == 0, proc.output()
