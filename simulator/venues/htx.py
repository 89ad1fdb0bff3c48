"""HTX (Huobi) spot public WebSocket (`/ws`): every server frame gzip binary, pings, bbo.

Served at `/htx`. The server pings every 5 s (`{"ping": ms}`) and closes a connection that left
two pings unanswered; a client's `{"pong": ms}` answers them (a client's own `{"ping": ms}` gets
a pong). One topic per request: `{"sub": "market.btcusdt.bbo", "id": "1"}` is answered
`{"id": "1", "status": "ok", "subbed": ..., "ts": ms}`, `unsub` likewise with `unsubbed`, and a
topic that names no listed symbol or kind gets `{"status": "error", "err-code": "bad-request",
"err-msg": "invalid topic ..."}`. Data topics: `bbo` (best bid and ask with sizes, numbers, one
push per change, `seqId` rising), `depth.step0` (the whole book, up to 20 levels here, every
change) and `trade.detail`; other well-formed topics (kline, ticker, mbp) are acked and silent.

Faults: `garbage` sends a text frame that is not JSON and a binary one that is not gzip;
`reconnect` (HTX has no request to reconnect) sends a last ping and closes the socket (1001).
HTX books are snapshots with no sequence to break, so `gap` and `bad_checksum` are refused.
Error texts other than the invalid-topic one are made up.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue
from simulator.venues.htx_wire import (
    EXTRA_PAIRS,
    TOPIC_RE,
    gz,
    json_object,
    listed,
    native_of,
    now_ms,
    symbol_rows,
)
from simulator.venues.ladder import Ladder

PING_S = 5.0
MISSED_PINGS = 2  # unanswered pings after which the server closes the connection
DATA_KINDS = ("bbo", "trade.detail", "depth.step0")


class HtxVenue(Venue):
    """Simulated HTX spot: gzip frames, server pings, sub/unsub acks, bbo/depth/trade pushes."""

    name = "htx"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:htx")
        self._seq = {s: self._rng.randrange(10**10, 10**11) for s in self.symbols}
        self._ladders = {s: self._ladder(s) for s in self.symbols}
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = {native_of(s): s for s in [*self.symbols, *extras]}
        self._trade_ids = self._rng.randrange(10**11, 10**12)

    def _ladder(self, symbol: str) -> Ladder:
        """The book behind `symbol`'s top (sizes to 8 decimals, about $3,000 a level)."""
        decimals = self.market.book(self.name, symbol).decimals
        return Ladder(decimals, self._rng, 3000.0 / base_usd_price(symbol),
                      lambda size: f"{size:.8f}", "0")

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v2/settings/common/symbols` as on api.huobi.pro."""
        return {"/v2/settings/common/symbols":
                lambda: symbol_rows(list(self._listed.values()), self.price_decimals)}

    # --- connection ---------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Pings start at once, whatever the client subscribes."""
        client.state["htx_unanswered"] = 0
        asyncio.get_running_loop().call_later(PING_S, self._ping, client)

    def _ping(self, client: Client) -> None:
        """Ping `client` every PING_S; close it once MISSED_PINGS went unanswered."""
        if client not in self.clients:
            return
        if client.state["htx_unanswered"] >= MISSED_PINGS:
            asyncio.ensure_future(self.close(client, 1000, b"no pong"))
            return
        if not self.silent:
            client.state["htx_unanswered"] += 1
        self.send(client, gz({"ping": now_ms()}))
        asyncio.get_running_loop().call_later(PING_S, self._ping, client)

    def reconnect_frame(self, client: Client) -> bytes:  # type: ignore[override]
        """No reconnect request exists: a last ping, then the socket closes (1001)."""
        if not self.silent:
            asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1001, b"going away")))
        return gz({"ping": now_ms()})

    def fault(self, action: str) -> bool:
        """`garbage`: a text frame that is not JSON and a binary one that is not gzip."""
        if action != "garbage":
            return False  # books are snapshots: no sequence or checksum to break
        for client in list(self.clients):
            for junk in ("\x00garbage{not json", b"\x1f\x8bnot gzip"):
                self.send(client, junk)
        return True

    def _error(self, client: Client, req_id: Any, message: str) -> None:
        body: dict[str, Any] = {"status": "error", "ts": now_ms()}
        if req_id is not None:
            body["id"] = req_id
        body.update({"err-code": "bad-request", "err-msg": message})
        self.send(client, gz(body))

    async def on_text(self, client: Client, text: str) -> None:
        """Pongs are counted, pings answered, sub/unsub acked or refused."""
        msg = json_object(text)
        if msg is None:
            self._error(client, None, "invalid request")
        elif "pong" in msg:
            client.state["htx_unanswered"] = 0
        elif "ping" in msg:
            self.send(client, gz({"pong": msg["ping"]}))
        elif "sub" in msg or "unsub" in msg:
            self._subscription(client, msg)
        else:
            self._error(client, msg.get("id"), "invalid request")

    def _subscription(self, client: Client, msg: dict[str, Any]) -> None:
        unsub = "unsub" in msg
        topic, req_id = msg["unsub" if unsub else "sub"], msg.get("id")
        match = TOPIC_RE.match(topic) if isinstance(topic, str) else None
        if match is None or match[1] not in self._listed:
            self._error(client, req_id, f"invalid topic {topic}")
            return
        if unsub:
            self.topics.remove(topic, client)
        else:
            self.topics.add(topic, client)
        ack: dict[str, Any] = {} if req_id is None else {"id": req_id}
        ack.update({"status": "ok", "unsubbed" if unsub else "subbed": topic, "ts": now_ms()})
        self.send(client, gz(ack))
        if not unsub and match[2] in ("bbo", "depth.step0"):
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Symbols with a bbo or depth subscriber."""
        return [s for s in self.symbols
                if any(self.topics.has(f"market.{native_of(s)}.{kind}")
                       for kind in ("bbo", "depth.step0"))]

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """A bbo push and a depth snapshot per change, and a trade push for a trade."""
        symbol, top = change.symbol, change.top
        native = native_of(symbol)
        ladder = self._ladders[symbol]
        ladder.apply(top)  # the book moves whoever listens, so every snapshot is current
        self._seq[symbol] += self._rng.randint(1, 20)
        seq, ms = self._seq[symbol], change.ts_us // 1000
        frames: list[Outgoing] = []
        self.offer(frames, f"market.{native}.bbo", lambda: gz({
            "ch": f"market.{native}.bbo", "ts": ms + 1, "tick": {
                "seqId": seq, "ask": top.ask, "askSize": top.ask_size, "bid": top.bid,
                "bidSize": top.bid_size, "quoteTime": ms, "symbol": native}}))
        self.offer(frames, f"market.{native}.depth.step0", lambda: gz({
            "ch": f"market.{native}.depth.step0", "ts": ms + 1, "tick": {
                "bids": [[float(p), float(s)] for p, s in ladder.levels("buy")],
                "asks": [[float(p), float(s)] for p, s in ladder.levels("sell")],
                "version": seq, "ts": ms}}))
        trade = change.trade
        if trade is not None:
            self.offer(frames, f"market.{native}.trade.detail",
                       lambda: self._trade(native, trade))
        return frames

    def _trade(self, native: str, trade: Trade) -> bytes:
        self._trade_ids += 1
        ms = trade.ts_us // 1000
        return gz({"ch": f"market.{native}.trade.detail", "ts": ms + 1, "tick": {
            "id": self._trade_ids, "ts": ms, "data": [{
                "id": self._trade_ids * 10**15 + self._rng.randrange(10**15), "ts": ms,
                "tradeId": self._trade_ids, "amount": trade.amount, "price": trade.price,
                "direction": "buy" if trade.side == 0 else "sell"}]}})
