"""The simulator speaks MEXC spot v3 as docs/venues/mexc.md describes it: JSON requests, acks,
refusals and pongs as text, protobuf book tickers as binary frames, the 30-subscription limit,
the exchangeInfo listing, and exactly one quote per emitted change through the adapter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from core.types import Quote
from tests.support import simulator as sh
from workers.exchanges.mexc import MexcAdapter

pytestmark = pytest.mark.integration

AGGRE = "spot@public.aggre.bookTicker.v3.api.pb@10ms@"
SYMBOLS = "BTC-USD,BTC-USDT,ETH-USDT,ETH-BTC"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "mexc", "--symbols", SYMBOLS, "--rate", "50")


def request(ws: websocket.WebSocket, method: str, *params: str, req_id: int = 1) -> None:
    ws.send(json.dumps({"method": method, "params": list(params), "id": req_id}))


def answer(ws: websocket.WebSocket, seconds: float = 5.0) -> dict[str, Any]:
    """The next text frame (binary pushes before it are skipped)."""
    frames = sh.collect_texts(ws, seconds, until=lambda f: type(f) is str)
    assert frames and type(frames[-1]) is str, frames[-3:]
    return json.loads(frames[-1])


def feed(adapter: MexcAdapter, frames: list[Any]) -> list[Any]:
    """What the adapter makes of frames as the feed loop hands them over (text or binary)."""
    out: list[Any] = []
    for i, frame in enumerate(frames):
        read = adapter.on_message if type(frame) is str else adapter.on_binary
        out.extend(read(frame, i))
    return out


def test_listing(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/mexc/api/v3/exchangeInfo", timeout=5).json()
    names = [row["symbol"] for row in body["symbols"]]
    assert {"BTCUSDT", "ETHUSDT", "ETHBTC"} <= set(names) and "BTCUSD" not in names
    assert all(row["status"] == "1" for row in body["symbols"])
    symbols = {m.symbol for m in MexcAdapter.parse_markets(body)}
    assert {"BTC-USDT", "ETH-USDT", "ETH-BTC"} <= symbols and len(symbols) == len(names)


def test_acks_pong_and_refusals(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("mexc")) as ws:
        assert sh.collect_texts(ws, 0.3) == []  # nothing on connect
        request(ws, "PING", req_id=0)
        assert answer(ws) == {"id": 0, "code": 0, "msg": "PONG"}
        request(ws, "SUBSCRIPTION", AGGRE + "ETHBTC", req_id=7)
        assert answer(ws) == {"id": 7, "code": 0, "msg": AGGRE + "ETHBTC"}
        # The retired JSON channel, an unlisted symbol and a malformed name are refused.
        old = "spot@public.bookTicker.v3.api@BTCUSDT"
        request(ws, "SUBSCRIPTION", old, AGGRE + "BTCUSD", AGGRE + "btcusdt")
        refusal = answer(ws)
        assert refusal["code"] == 0 and refusal["msg"].startswith("Not Subscribed successfully! [")
        assert old in refusal["msg"] and "Blocked!" in refusal["msg"]
        events = MexcAdapter([]).on_message(json.dumps(refusal), 1)
        assert [type(e).__name__ for e in events] == ["VenueError"]
        ws.send("hello")
        assert answer(ws)["msg"].startswith("Invalid request")
        request(ws, "UNSUBSCRIPTION", AGGRE + "ETHBTC", req_id=8)
        assert answer(ws) == {"id": 8, "code": 0, "msg": AGGRE + "ETHBTC"}
        time.sleep(0.2)
        sh.collect_texts(ws, 0.2)
        assert sh.collect_texts(ws, 0.5) == []  # unsubscribed: silent


def test_thirty_subscriptions_per_connection(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("mexc")) as ws:
        kinds = [f"spot@public.aggre.deals.v3.api.pb@{s}@ETHBTC" for s in ("10ms", "100ms")]
        kinds += [f"spot@public.limit.depth.v3.api.pb@ETHBTC@{n}" for n in (5, 10, 20)]
        kinds += [f"spot@public.kline.v3.api.pb@ETHBTC@{i}" for i in (
            "Min1", "Min5", "Min15", "Min30", "Min60", "Hour4", "Hour8", "Day1", "Week1",
            "Month1")]
        channels = [c.replace("ETHBTC", n) for n in ("ETHBTC", "BTCUSDT") for c in kinds]
        assert len(channels) == 30
        request(ws, "SUBSCRIPTION", *channels)
        assert answer(ws)["msg"] == ",".join(channels)
        request(ws, "SUBSCRIPTION", AGGRE + "ETHBTC")
        assert answer(ws)["msg"].startswith("Not Subscribed successfully!")


def test_pushes_are_protobuf_and_quote_through_the_adapter(sim: sh.SimProcess) -> None:
    listing = requests.get(MexcAdapter.markets_url(f"{sim.http}/mexc"), timeout=5).json()
    markets = [m for m in MexcAdapter.parse_markets(listing) if m.symbol in ("ETH-BTC",
                                                                            "BTC-USDT")]
    adapter = MexcAdapter(markets)
    with sh.connected(sim.ws_url("mexc")) as ws:
        for frame in adapter.subscribe_messages():
            ws.send(frame)
        batch = "spot@public.bookTicker.batch.v3.api.pb@ETHBTC"
        request(ws, "SUBSCRIPTION", batch, "spot@public.aggre.bookTicker.v3.api.pb@100ms@ETHBTC")
        frames = sh.collect_texts(ws, 2.0)
    binary = [f for f in frames if type(f) is bytes]
    assert binary and len(binary) > 10 and all(f[:1] == b"\x0a" for f in binary)
    rendered = [json.loads(MexcAdapter.decode_binary(f)) for f in binary]
    assert {r["channel"] for r in rendered} == {AGGRE + "ETHBTC", AGGRE + "BTCUSDT", batch,
                                                "spot@public.aggre.bookTicker.v3.api.pb@100ms"
                                                "@ETHBTC"}
    for r in rendered:
        assert abs(r["sendTime"] - time.time() * 1000) < 10_000
        assert r["channel"].endswith("@" + r["symbol"])
        body = "publicBookTickerBatch" if r["channel"] == batch else "publicAggreBookTicker"
        assert set(r) == {"channel", "symbol", "sendTime", body}
    quotes = [e for e in feed(adapter, frames) if type(e) is Quote]
    assert quotes and {q.symbol for q in quotes} == {"ETH-BTC", "BTC-USDT"}
    assert all(q.bid < q.ask and q.ts_exchange_ns for q in quotes)
    assert not adapter.errors


def test_faults(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, MexcAdapter, "mexc", ("ETH-BTC",))
    try:
        assert answer(ws)["code"] == 0
        assert sim.control("mexc", "gap").status_code == 400  # no sequence numbers
        assert sim.control("mexc", "bad_checksum").status_code == 400  # no checksums
        assert sim.control("mexc", "garbage").ok
        frames = sh.collect_texts(ws, 1.5)
        feed(adapter, frames)
        assert adapter.errors["bad_json"] == 1 and adapter.errors["bad_binary"] == 1
        # No reconnect request in MEXC's protocol: the connection's end (24 h), a pong first.
        assert sim.control("mexc", "reconnect").json()["notified"] == 1
        closing = sh.collect_texts(ws, 3.0, until=lambda f: f == '{"id":0,"code":0,"msg":"PONG"}')
        assert closing[-1] == '{"id":0,"code":0,"msg":"PONG"}'
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            for _ in range(500):
                ws.recv()
    finally:
        ws.close()
