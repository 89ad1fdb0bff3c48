"""KuCoin spot public WebSocket: bullet token, welcome/ack/pong, level1, level2, match.

Served at `/kucoin`; `POST /kucoin/api/v1/bullet-public` hands out a token and this endpoint
(pingInterval 18 s), as the real `bullet-public` does. A connection is greeted with `welcome`;
`{"type": "subscribe", "topic": ..., "response": true}` is answered with `ack` or an `error`
(404 for an unknown topic or symbol, 509 past 100 topics on a connection, where each symbol of a
topic counts as one; at most 100 symbols a topic); `{"type": "ping"}` gets a `pong` with its id.

Topics: `/spotMarket/level1:{symbols}` (best bid and ask with sizes, one push per change),
`/market/level2:{symbols}` (increments numbered by `sequenceStart`..`sequenceEnd`, seeded by
`GET /api/v1/market/orderbook/level2_100?symbol=`), `/market/match:{symbols}` (trades).
`/market/ticker` and `/market/candles` are acked and stay silent.

Faults: `gap` makes each symbol's next level2 increment skip a sequence number; `reconnect`
(KuCoin has no request to reconnect) sends a last pong and closes the socket (1001).
Error texts other than the two above are made up.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, PostRoute, QueryRoute, Venue, dumps
from simulator.venues.htx_wire import json_object
from simulator.venues.kucoin_listing import (
    EXTRA_PAIRS,
    OK,
    bullet,
    listed,
    size_text,
    symbol_rows,
    trim,
)
from simulator.venues.ladder import Ladder

LEVEL1, LEVEL2, MATCH = "/spotMarket/level1", "/market/level2", "/market/match"
SILENT = frozenset({"/market/ticker", "/market/candles"})
MAX_TOPICS = 100  # per connection, one per symbol of a topic
MAX_SYMBOLS_PER_TOPIC = 100


class KucoinVenue(Venue):
    """Simulated KuCoin spot: token bootstrap, acks and errors, level1/level2/match pushes."""

    name = "kucoin"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:kucoin")
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = [*self.symbols, *extras]
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                      3000.0 / base_usd_price(s), size_text, "0")
            for s in self.symbols
        }
        self._seq = {s: self._rng.randrange(10**9, 10**12) for s in self.symbols}
        self._skip: set[str] = set()  # symbols whose next increment loses a sequence (`gap`)
        self._ms: dict[str, int] = {}  # last push time per symbol (ms, never falling)
        self._trade_seq = self._rng.randrange(10**9, 10**10)

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v2/symbols` as on api.kucoin.com."""
        return {"/api/v2/symbols": lambda: symbol_rows(self._listed, self.price_decimals)}

    def post_routes(self) -> dict[str, PostRoute]:
        """`POST /api/v1/bullet-public`: a token and the websocket endpoint to use it on."""
        return {"/api/v1/bullet-public": lambda query, ws_url: bullet(ws_url)}

    def query_routes(self) -> dict[str, QueryRoute]:
        """`GET /api/v1/market/orderbook/level2_100?symbol=`: the book and its sequence."""
        return {"/api/v1/market/orderbook/level2_100": self._snapshot}

    def _snapshot(self, query: Mapping[str, str]) -> object:
        symbol = query.get("symbol", "")
        ladder = self._ladders.get(symbol)
        if ladder is None:
            raise ValueError(f"symbol {symbol!r} not exists")
        return {"code": OK, "data": {
            "time": time.time_ns() // 1_000_000, "sequence": str(self._seq[symbol]),
            "bids": [list(level) for level in ladder.levels("buy")],
            "asks": [list(level) for level in ladder.levels("sell")]}}

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Every connection is greeted; its topics are counted against the limit."""
        client.state["kucoin_topics"] = set()
        self.send(client, dumps({"id": self._hex(10), "type": "welcome"}))

    def reconnect_frame(self, client: Client) -> str:
        """No reconnect request exists: a last pong, then the socket closes (1001)."""
        if not self.silent:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1001, b"going away")))
        return dumps({"id": str(time.time_ns() // 1_000_000), "type": "pong"})

    def fault(self, action: str) -> bool:
        """`gap`: every symbol's next level2 increment skips one sequence number."""
        if action == "gap":
            self._skip.update(self.symbols)
            return True
        return super().fault(action)

    def _hex(self, digits: int) -> str:
        """A made-up id (connection, order, trade), drawn from the venue's seeded generator."""
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def _error(self, client: Client, req_id: Any, code: int, message: str) -> None:
        self.send(client, dumps({"id": str(req_id), "type": "error", "code": code,
                                 "data": message}))

    async def on_text(self, client: Client, text: str) -> None:
        """Pings are ponged; subscribe/unsubscribe are acked or refused."""
        msg = json_object(text)
        if msg is None:
            self._error(client, "", 400, "malformed request")
            return
        req_id, kind = msg.get("id", ""), msg.get("type")
        if kind == "ping":
            self.send(client, dumps({"id": str(req_id), "type": "pong"}))
        elif kind in ("subscribe", "unsubscribe"):
            self._subscription(client, req_id, kind, msg.get("topic"), msg.get("response"))
        else:
            self._error(client, req_id, 400, f"unknown type {kind!r}")

    def _subscription(self, client: Client, req_id: Any, kind: str, topic: Any,
                      response: Any) -> None:
        prefix, _, names = topic.partition(":") if isinstance(topic, str) else ("", "", "")
        symbols = names.split(",") if names else []
        known = prefix in (LEVEL1, LEVEL2, MATCH) or prefix in SILENT
        if not known or not symbols or any(s.split("_")[0] not in self._listed for s in symbols):
            self._error(client, req_id, 404, f"topic {topic} is not found")
            return
        if len(symbols) > MAX_SYMBOLS_PER_TOPIC:
            self._error(client, req_id, 400, "at most 100 symbols a topic")
            return
        held: set[str] = client.state["kucoin_topics"]
        keys = {f"{prefix}:{s}" for s in symbols}
        if kind == "subscribe":
            if len(held | keys) > MAX_TOPICS:
                self._error(client, req_id, 509, "exceed max subscription count limitation "
                                                 f"of {MAX_TOPICS} per session")
                return
            held |= keys
            for key in keys:
                self.topics.add(key, client)
        else:
            held -= keys
            for key in keys:
                self.topics.remove(key, client)
        if response is True:
            self.send(client, dumps({"id": str(req_id), "type": "ack"}))
        if kind == "subscribe" and prefix in (LEVEL1, LEVEL2):
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Symbols with a level1 or level2 subscriber."""
        return [s for s in self.symbols
                if self.topics.has(f"{LEVEL1}:{s}") or self.topics.has(f"{LEVEL2}:{s}")]

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """A level1 push and a level2 increment per change, and a match for a trade."""
        symbol, top = change.symbol, change.top
        decimals = self.market.book(self.name, symbol).decimals
        # The book moves whoever listens, so a later snapshot matches the increments.
        changes = self._ladders[symbol].apply(top)
        first = self._seq[symbol] + 1 + (1 if symbol in self._skip else 0)
        self._skip.discard(symbol)
        last = first + len(changes) - 1
        self._seq[symbol] = max(last, first - 1)
        ms = max(change.ts_us // 1000, self._ms.get(symbol, 0))
        self._ms[symbol] = ms
        frames: list[Outgoing] = []
        self.offer(frames, f"{LEVEL1}:{symbol}", lambda: (
            f'{{"type":"message","topic":"{LEVEL1}:{symbol}","subject":"level1","data":{{'
            f'"asks":["{trim(top.ask, decimals)}","{size_text(top.ask_size)}"],'
            f'"bids":["{trim(top.bid, decimals)}","{size_text(top.bid_size)}"],'
            f'"timestamp":{ms}}}}}'))
        if changes:
            self.offer(frames, f"{LEVEL2}:{symbol}",
                       lambda: self._increment(symbol, changes, first, last, ms))
        trade = change.trade
        if trade is not None:
            self.offer(frames, f"{MATCH}:{symbol}", lambda: self._match(symbol, trade, decimals))
        return frames

    @staticmethod
    def _increment(symbol: str, changes: list[tuple[str, str, str]], first: int, last: int,
                   ms: int) -> str:
        sides: dict[str, list[list[str]]] = {"asks": [], "bids": []}
        for offset, (side, price, size) in enumerate(changes):
            sides["bids" if side == "buy" else "asks"].append([price, size, str(first + offset)])
        return dumps({"topic": f"{LEVEL2}:{symbol}", "type": "message",
                      "subject": "trade.l2update", "data": {
                          "changes": sides, "sequenceEnd": last, "sequenceStart": first,
                          "symbol": symbol, "time": ms}})

    def _match(self, symbol: str, trade: Trade, decimals: int) -> str:
        self._trade_seq += 1
        return dumps({"topic": f"{MATCH}:{symbol}", "type": "message",
                      "subject": "trade.l3match", "data": {
                          "makerOrderId": self._hex(24), "price": trim(trade.price,
                                                                               decimals),
                          "sequence": str(self._trade_seq),
                          "side": "buy" if trade.side == 0 else "sell",
                          "size": size_text(trade.amount), "symbol": symbol,
                          "takerOrderId": self._hex(24),
                          "time": str(trade.ts_us * 1000), "tradeId": self._hex(24),
                          "type": "match"}})
