"""The simulator speaks Bitfinex v2 as docs/protocols.md describes it: greeting, conf flags, acks
by chanId, errors, ping/pong, heartbeats, sequence numbers, P0 books with checksums, trades,
tickers, the pair list, and exactly one top-of-book change per emitted change."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from tests.support import simulator as sh
from workers.exchanges.bitfinex import BitfinexAdapter

pytestmark = pytest.mark.integration

SYMBOLS = "BTC-USD,ETH-USD,BTC-USDT,DOGE-USD,SOL-USD,XRP-USD,ADA-USD,DOT-USD,LINK-USD"
FLAGS = 65536 | 131072


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bitfinex", "--symbols", SYMBOLS, "--rate", "50")


def is_event(name: str) -> Any:
    return lambda f: isinstance(f, dict) and f.get("event") == name


def subscribe(ws: websocket.WebSocket, channel: str, symbol: str, **extra: Any) -> None:
    ws.send(json.dumps({"event": "subscribe", "channel": channel, "symbol": symbol, **extra}))


def signed_crc(text: str) -> int:
    crc = zlib.crc32(text.encode())
    return crc - 2**32 if crc >= 2**31 else crc


def js(value: float) -> str:
    """The test's own JavaScript-style spelling, for the values the simulator produces."""
    text = repr(float(value))
    if text.endswith(".0"):
        return text[:-2]
    if "e-" in text:
        mantissa, exponent = text.split("e-")
        digits = mantissa.replace(".", "")
        return "0." + "0" * (int(exponent) - 1) + digits
    return text


class Book:
    """The test's own one-market book from the simulator's frames."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def apply(self, body: list[Any]) -> None:
        levels = body if not body or isinstance(body[0], list) else [body]
        if levels is body:
            self.bids, self.asks = {}, {}
        for price, count, amount in levels:
            side = self.bids if amount > 0 else self.asks
            if count == 0:
                del side[price]  # the simulator only deletes levels it has sent
            else:
                side[price] = amount

    def top(self) -> tuple[float, float, float, float] | None:
        if not self.bids or not self.asks:
            return None
        bid, ask = max(self.bids), min(self.asks)
        return bid, self.bids[bid], ask, -self.asks[ask]

    def checksum(self) -> int:
        bids = sorted(self.bids.items(), reverse=True)[:25]
        asks = sorted(self.asks.items())[:25]
        parts: list[str] = []
        for i in range(25):
            if i < len(bids):
                parts += [js(bids[i][0]), js(bids[i][1])]
            if i < len(asks):
                parts += [js(asks[i][0]), js(asks[i][1])]
        return signed_crc(":".join(parts))


def open_session(sim: sh.SimProcess, flags: int = FLAGS) -> websocket.WebSocket:
    ws = sh.connect(sim.ws_url("bitfinex"))
    greeting = json.loads(ws.recv())
    assert greeting["event"] == "info" and greeting["version"] == 2
    assert greeting["platform"] == {"status": 1} and len(greeting["serverId"]) == 36
    ws.send(json.dumps({"event": "conf", "flags": flags}))
    assert sh.wait_frame(ws, is_event("conf")) == {"event": "conf", "status": "OK", "flags": flags}
    return ws


# --- protocol ------------------------------------------------------------------------------


def test_book_ack_snapshot_sequence_and_checksums(sim: sh.SimProcess) -> None:
    ws = open_session(sim)
    try:
        subscribe(ws, "book", "tBTCUSD", prec="P0", freq="F0", len="1")
        ack = sh.wait_frame(ws, is_event("subscribed"))
        chan = ack["chanId"]
        assert ack == {"event": "subscribed", "channel": "book", "chanId": chan,
                       "symbol": "tBTCUSD", "prec": "P0", "freq": "F0", "len": "1",
                       "pair": "BTCUSD"}
        frames = sh.collect(ws, 1.5)
        assert all(isinstance(f, list) and f[0] == chan for f in frames)
        # Every array frame carries the next sequence number, from 1.
        assert [f[-1] for f in frames] == list(range(1, len(frames) + 1))
        snapshot = frames[0]
        assert len(snapshot) == 3 and isinstance(snapshot[1], list)
        book = Book()
        checked = 0
        tops = []
        for f in frames:
            if f[1] == "cs":
                # A change's deltas end with its checksum: the book is whole again here.
                assert len(f) == 4 and f[2] == book.checksum()
                checked += 1
                tops.append(book.top())
            elif f[1] != "hb":
                book.apply(f[1])
                for level in f[1] if not f[1] or isinstance(f[1][0], list) else [f[1]]:
                    price, count, amount = level
                    assert isinstance(price, int | float) and isinstance(amount, int | float)
                    assert isinstance(count, int) and count >= 0
        assert checked >= 30  # one cs per change at 50 changes/s over the venue's symbols
        for top in tops[1:]:
            assert top is not None and top[0] < top[2] and 40_000 < top[0] < 90_000
    finally:
        ws.close()


def test_errors_keep_the_socket_open(sim: sh.SimProcess) -> None:
    ws = open_session(sim)
    try:
        ws.send("this is not json")
        assert sh.wait_frame(ws, is_event("error")) == {"event": "error", "msg": "Unknown event",
                                                 "code": 10000}
        ws.send(json.dumps({"event": "frobnicate"}))
        assert sh.wait_frame(ws, is_event("error"))["code"] == 10000
        subscribe(ws, "book", "tFOOUSD", prec="P0", len="1")
        assert sh.wait_frame(ws, is_event("error")) == {
            "event": "error", "msg": "symbol: invalid", "code": 10300, "channel": "book",
            "symbol": "tFOOUSD", "pair": "FOOUSD"}
        subscribe(ws, "book", "tBTCUSD", prec="P0", len="7")
        assert sh.wait_frame(ws, is_event("error"))["code"] == 10300
        subscribe(ws, "book", "tBTCUSD", prec="X9", len="1")
        assert sh.wait_frame(ws, is_event("error"))["msg"] == "prec: invalid"
        subscribe(ws, "candles", "tBTCUSD")
        assert sh.wait_frame(ws, is_event("error"))["code"] == 10300
        subscribe(ws, "book", "tETHUSD", prec="P0", len="1")
        chan = sh.wait_frame(ws, is_event("subscribed"))["chanId"]
        subscribe(ws, "book", "tETHUSD", prec="P0", len="1")
        dup = sh.wait_frame(ws, is_event("error"))
        assert (dup["code"], dup["msg"], dup["chanId"]) == (10301, "subscribe: dup", chan)
        ws.send(json.dumps({"event": "ping", "cid": 4242}))
        pong = sh.wait_frame(ws, is_event("pong"))
        assert pong["cid"] == 4242 and abs(pong["ts"] - time.time() * 1000) < 5000
        ws.send(json.dumps({"event": "conf", "flags": "all"}))
        assert sh.wait_frame(ws, is_event("error"))["code"] == 10000
    finally:
        ws.close()


def test_subscription_limit_is_25_channels(sim: sh.SimProcess) -> None:
    ws = open_session(sim)
    try:
        pairs = requests.get(f"{sim.http}/bitfinex/v2/conf/pub:list:pair:exchange",
                             timeout=5).json()[0]
        wanted = [(c, "t" + p) for p in pairs for c in ("book", "trades", "ticker")][:26]
        assert len(wanted) == 26
        for channel, symbol in wanted:
            subscribe(ws, channel, symbol, **({"prec": "P0", "len": "1"}
                                              if channel == "book" else {}))
        answered: list[Any] = []

        def all_answered(frame: Any) -> bool:
            if isinstance(frame, dict) and frame.get("event") in ("subscribed", "error"):
                answered.append(frame)
            return len(answered) == len(wanted)

        frames = sh.collect(ws, 15.0, until=all_answered)
        acks = [f for f in frames if isinstance(f, dict) and f.get("event") == "subscribed"]
        errors = [f for f in frames if isinstance(f, dict) and f.get("event") == "error"]
        assert len(acks) == 25 and len({a["chanId"] for a in acks}) == 25
        assert [(e["code"], e["msg"]) for e in errors] == [(10305, "subscribe: limit")]
    finally:
        ws.close()


def test_trades_ticker_heartbeats_and_unsubscribe(sim: sh.SimProcess) -> None:
    ws = open_session(sim, flags=65536)  # sequence numbers, no checksums
    try:
        subscribe(ws, "trades", "tETHUSD")
        trades = sh.wait_frame(ws, is_event("subscribed"))["chanId"]
        snapshot = sh.wait_frame(ws, lambda f: isinstance(f, list) and f[0] == trades)
        assert isinstance(snapshot[1], list)
        # A book subscription drives emission; trades then come as `te` followed by `tu`.
        subscribe(ws, "book", "tETHUSD", prec="P0", len="1")
        book = sh.wait_frame(ws, is_event("subscribed"))["chanId"]
        subscribe(ws, "ticker", "tETHUSD")
        ticker = sh.wait_frame(ws, is_event("subscribed"))["chanId"]
        # Its snapshot once the pair has a top (else the first update): never a bare heartbeat.
        first = sh.wait_frame(
            ws, lambda f: isinstance(f, list) and f[0] == ticker and f[1] != "hb", 5)
        values = first[1]
        assert len(values) == 10 and all(isinstance(v, int | float) for v in values)
        bid, bid_size, ask, ask_size = values[:4]
        assert bid < ask and bid_size > 0 and ask_size > 0
        te = sh.wait_frame(ws, lambda f: isinstance(f, list) and f[1] == "te", 10)
        tu = sh.wait_frame(ws, lambda f: isinstance(f, list) and f[1] == "tu")
        assert te[0] == tu[0] == trades and te[2] == tu[2] and tu[3] == te[3] + 1
        trade_id, mts, amount, price = te[2]
        assert isinstance(trade_id, int) and abs(mts - time.time() * 1000) < 5000
        assert amount != 0 and 1000 < price < 10_000
        # No cs frames without the OB_CHECKSUM flag.
        frames = sh.collect(ws, 0.5)
        assert not [f for f in frames if isinstance(f, list) and f[1] == "cs"]
        for chan in (book, trades, ticker):
            ws.send(json.dumps({"event": "unsubscribe", "chanId": chan}))
            assert sh.wait_frame(ws, is_event("unsubscribed")) == {
                "event": "unsubscribed", "status": "OK", "chanId": chan}
        ws.send(json.dumps({"event": "unsubscribe", "chanId": 1}))
        assert sh.wait_frame(ws, is_event("error"))["code"] == 10400
        assert sh.collect_texts(ws, 1.5) == []  # no channel left: no data, no heartbeat
        # A quiet listed pair that is not simulated: acked, empty book, then heartbeats.
        subscribe(ws, "book", "tBTCEUR", prec="P0", len="1")
        quiet = sh.wait_frame(ws, is_event("subscribed"))["chanId"]
        beats_seen: list[Any] = []

        def two_beats(frame: Any) -> bool:
            if isinstance(frame, list) and frame[1:2] == ["hb"]:
                beats_seen.append(frame)
            return len(beats_seen) == 2

        # The snapshot, then a heartbeat each idle second; the tick's phase is the server's,
        # so wait for two rather than for a fixed window.
        frames = sh.collect(ws, 6.0, until=two_beats)
        assert frames[0][:2] == [quiet, []]
        beats = [f for f in frames[1:] if f[1] == "hb"]
        assert len(beats) >= 2 and len(beats) == len(frames) - 1
        assert all(len(f) == 3 and f[0] == quiet for f in beats)
        seqs = [f[-1] for f in frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    finally:
        ws.close()


def test_faults_and_reconnect_request(sim: sh.SimProcess) -> None:
    ws = open_session(sim)
    try:
        subscribe(ws, "book", "tSOLUSD", prec="P0", len="1")
        sh.wait_frame(ws, is_event("subscribed"))
        frames = sh.collect(ws, 10.0, until=lambda f: isinstance(f, list))  # the snapshot
        last_seq = frames[-1][-1]
        assert sim.control("bitfinex", "gap").ok
        seen = [last_seq]

        def skipped_then_steady(frame: Any) -> bool:
            # Stop on a checksum after the skip: every change read whole, book and checksum.
            seen.append(frame[-1])
            skipped = any(b - a == 2 for a, b in zip(seen, seen[1:], strict=False))
            return skipped and seen[-1] - seen[-2] == 1 and frame[1] == "cs"

        after = sh.collect(ws, 10.0, until=skipped_then_steady)
        seqs = [last_seq] + [f[-1] for f in after]
        steps = [b - a for a, b in zip(seqs, seqs[1:], strict=False)]
        assert steps.count(2) == 1 and set(steps) == {1, 2}
        book = Book()
        for f in frames + after:
            if f[1] not in ("cs", "hb"):
                book.apply(f[1])
        assert sim.control("bitfinex", "bad_checksum").ok
        checks = []

        def checked(f: Any) -> bool:
            if f[1] == "cs":
                checks.append(f[2] == book.checksum())
            elif f[1] != "hb":
                book.apply(f[1])
            return len(checks) > 3

        sh.collect(ws, 10.0, until=checked)
        assert checks[0] is False and all(checks[1:]) and len(checks) > 3
        assert sim.control("bitfinex", "reconnect").json()["notified"] == 1
        notice = sh.wait_frame(ws, is_event("info"))
        assert notice["code"] == 20051 and isinstance(notice["msg"], str)
    finally:
        ws.close()


def test_pair_list(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/bitfinex/v2/conf/pub:list:pair:exchange", timeout=5).json()
    assert isinstance(body, list) and len(body) == 1
    pairs = body[0]
    assert {"BTCUSD", "ETHUSD", "BTCUST", "DOGE:USD", "SOLUSD", "LINK:USD"} <= set(pairs)
    extras = set(pairs) - {"BTCUSD", "ETHUSD", "BTCUST", "DOGE:USD", "SOLUSD", "XRPUSD",
                           "ADAUSD", "DOTUSD", "LINK:USD"}
    assert 1 <= len(extras) <= 2
    markets = {m.symbol: m.native for m in BitfinexAdapter.parse_markets(body)}
    assert markets["BTC-USDT"] == "tBTCUST" and markets["DOGE-USD"] == "tDOGE:USD"


# --- emission ------------------------------------------------------------------------------
