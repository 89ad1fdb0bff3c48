"""The Upbit-shaped twins (Upbit, and Bithumb's current public API) served by a real simulator
process: binary frames in both key sets, the one request that replaces the last, snapshots then
whole books, PING, the documented errors, the market lists, and quotes through the adapters
with each fault control."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import websocket

from core.types import Quote
from tests.support import simulator as sh
from tests.support.upbit_frames import frames_of, request
from workers.exchanges import get_adapter

pytestmark = pytest.mark.integration

WIRE_VENUES = ["upbit", "bithumb"]
SYMBOLS = "BTC-KRW,ETH-KRW,ETH-BTC,BTC-USDT,BTC-USD"


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", ",".join(WIRE_VENUES), "--symbols", SYMBOLS,
                        "--rate", "50")


@pytest.fixture(params=WIRE_VENUES)
def venue(request: pytest.FixtureRequest) -> str:
    return request.param


def test_the_market_list_is_quote_first(sim: sh.SimProcess, venue: str) -> None:
    body = requests.get(f"{sim.http}/{venue}/v1/market/all", timeout=5).json()
    natives = [row["market"] for row in body]
    cls = get_adapter(venue)
    configured = {m.native for m in cls.parse_markets(body)} & {
        "KRW-BTC", "KRW-ETH", "BTC-ETH", "USDT-BTC"}
    assert {"KRW-BTC", "KRW-ETH", "BTC-ETH"} <= configured
    assert "USD-BTC" not in natives  # neither venue trades USD
    assert all(set(row) >= {"market", "korean_name", "english_name"} for row in body)


def test_ping_and_refused_requests(sim: sh.SimProcess, venue: str) -> None:
    with sh.connected(sim.ws_url(venue)) as ws:
        assert sh.collect_texts(ws, 0.3) == []  # nothing before a request
        ws.send("PING")
        assert frames_of(ws, 2.0, 1) == [{"status": "UP"}]
        refused = [
            ("hello", "WRONG_FORMAT"),
            (request({"type": "orderbook", "codes": ["KRW-BTC"]}, ticket=None), "NO_TICKET"),
            (request(), "NO_TYPE"),
            (request({"type": "orderbook"}), "NO_CODES"),
            (request({"type": "orderbook", "codes": []}), "INVALID_PARAM"),
            (request({"type": "candle", "codes": ["KRW-BTC"]}), "INVALID_PARAM"),
            (request({"type": "orderbook", "codes": ["KRW-BTC"]}, fmt="XML"), "INVALID_PARAM"),
        ]
        for text, name in refused:
            ws.send(text)
            (error,) = frames_of(ws, 2.0, 1)
            assert error["error"]["name"] == name and error["error"]["message"], text
        # The socket stays open: a good request still works.
        ws.send(request({"type": "orderbook", "codes": ["KRW-BTC"]}))
        assert frames_of(ws, 3.0, 1)[0]["cd"] == "KRW-BTC"


def test_whole_books_in_both_key_sets(sim: sh.SimProcess, venue: str) -> None:
    with sh.connected(sim.ws_url(venue)) as simple, sh.connected(sim.ws_url(venue)) as full:
        simple.send(request({"type": "orderbook", "codes": ["KRW-BTC.5", "BTC-ETH"]}))
        books = frames_of(simple, 3.0, 12)
        assert {b["cd"] for b in books} == {"KRW-BTC", "BTC-ETH"}
        for b in books:
            assert set(b) == {"ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv"}
            assert len(b["obu"]) == (5 if b["cd"] == "KRW-BTC" else 30)
            best = b["obu"][0]
            assert 0 < best["bp"] < best["ap"]
            assert [u["bp"] for u in b["obu"]] == sorted((u["bp"] for u in b["obu"]),
                                                         reverse=True)
        assert books[0]["st"] in ("SNAPSHOT", "REALTIME") and books[-1]["st"] == "REALTIME"
        stamps = [b["tms"] for b in books if b["cd"] == "KRW-BTC"]
        assert stamps == sorted(set(stamps))
        # A later subscriber's first frame is the book as last sent: a SNAPSHOT.
        full.send(request({"type": "orderbook", "codes": ["KRW-BTC.15"]}, fmt="DEFAULT"))
        first, *rest = frames_of(full, 3.0, 4)
        assert first["stream_type"] == "SNAPSHOT" and len(first["orderbook_units"]) == 15
        assert set(first["orderbook_units"][0]) == {"ask_price", "ask_size", "bid_price",
                                                    "bid_size"}
        assert all(b["stream_type"] == "REALTIME" for b in rest)
        # A new request replaces the last: only ETH books from now on.
        simple.send(request({"type": "orderbook", "codes": ["BTC-ETH.1"]}))
        after = frames_of(simple, 2.0)
        tail = after[len(after) // 2:]
        assert tail and all(b["cd"] == "BTC-ETH" and len(b["obu"]) == 1 for b in tail)


def test_quotes_and_faults_through_the_adapter(sim: sh.SimProcess, venue: str) -> None:
    cls = get_adapter(venue)
    adapter, ws = sh.subscribed(sim, cls, venue, ("BTC-KRW", "ETH-BTC"))
    try:
        frames, out = sh.through_adapter(ws, adapter, 20)
        quotes = [e for e in out if type(e) is Quote]
        assert len(quotes) >= 20 and not adapter.errors, adapter.errors
        assert {q.symbol for q in quotes} == {"BTC-KRW", "ETH-BTC"}
        # Each quote is its frame's best levels, stamped with the frame's time.
        books = [json.loads(f) for f in frames if b'"orderbook"' in f]
        tops = {(b["cd"], b["obu"][0]["bp"], b["obu"][0]["ap"], b["tms"]) for b in books}
        for q in quotes:
            native = {m.symbol: m.native for m in adapter.markets.values()}[q.symbol]
            assert (native, q.bid, q.ask, q.ts_exchange_ns // 1_000_000) in tops
        assert sim.control(venue, "gap").status_code == 400  # no sequence numbers to break
        assert sim.control(venue, "bad_checksum").status_code == 400
        assert sim.control(venue, "garbage").ok
        assert sim.control(venue, "reconnect").json()["notified"] == 1
        _, more = sh.through_adapter(ws, adapter, 5)
        assert adapter.errors["bad_json"] == 1
        assert not [e for e in more if type(e) not in (Quote,)]  # no reconnect asked for
        assert sim.control(venue, "close").json()["closed"] == 1
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            for _ in range(1000):
                ws.recv()
    finally:
        ws.close()
