"""Gate.io spot WebSocket v4: JSON requests with channel/event/payload, book tickers, depth.

Served at `/gateio` like `wss://api.gateio.ws/ws/v4/`. Requests are
`{"time": s, "channel": ..., "event": "subscribe" | "unsubscribe", "payload": [...]}`:
- `spot.book_ticker` and `spot.trades`: payload a list of pairs (`BTC_USDT`); one book ticker
  per top-of-book change (order book id `u`, time `t` in ms), trades as they happen;
- `spot.order_book_update`: payload `[pair, "100ms" | "1000ms"]`; one diff per change here
  (the real one batches), ids `U`..`u` in the book ticker's id space, to be joined to
  `GET /spot/order_book?currency_pair=X&limit=N&with_id=true` (the book as far as the wire has
  gone, with its `id`);
- `spot.tickers` is acked and stays silent;
- `spot.ping` → `spot.pong`. An unknown pair, channel or interval is refused with code 2, a
  frame that is no request with code 1, as Gate does.
Faults: `gap` (the next diff of every pair skips an id), `garbage`, and `reconnect`, which Gate
has no message for: the server closes the socket (1012, service restart) just after a pong.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, QueryRoute
from simulator.venues.depth_diffs import DepthWire
from simulator.venues.gateio_wire import (
    EXTRA_PAIRS,
    currency_pairs,
    envelope,
    error,
    listed,
    pair_of,
    trimmed,
)

BOOK_TICKER, TRADES, DEPTH, TICKERS = ("spot.book_ticker", "spot.trades",
                                       "spot.order_book_update", "spot.tickers")
PAIR_LIST_CHANNELS = (BOOK_TICKER, TRADES, TICKERS)
INTERVALS = ("100ms", "1000ms")
LISTED_EXTRAS = frozenset(pair for pair, status in EXTRA_PAIRS if status == "tradable")
MAX_LIMIT = 100  # levels per side a snapshot may ask for (as far as this twin serves)


class GateioVenue(DepthWire):
    """Simulated Gate.io spot: subscribe acks and errors, book tickers, seeded depth, pongs."""

    name = "gateio"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:gateio")
        self._by_pair = {pair_of(s): s for s in self.symbols}
        self._ids = {s: self._rng.randrange(10**7, 10**10) for s in self.symbols}
        self._trade_ids = {s: self._rng.randrange(10**8, 10**9) for s in self.symbols}
        self.init_depth(self._rng, trimmed, "0")

    def book_id(self, symbol: str) -> int:
        """The id of the pair's latest book change (book ticker `u`, diffs' `U`..`u`)."""
        return self._ids[symbol]

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /spot/currency_pairs` as on api.gateio.ws/api/v4."""
        decimals = {s: self.price_decimals(s) for s in self.symbols}
        return {"/spot/currency_pairs": lambda: currency_pairs(self.symbols, decimals)}

    def query_routes(self) -> dict[str, QueryRoute]:
        """`GET /spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true`."""
        return {"/spot/order_book": self._order_book}

    def _order_book(self, query: Mapping[str, str]) -> object:
        """The wire's book of one pair, best first; ValueError (400) on a bad query."""
        symbol = self._by_pair.get(query.get("currency_pair", ""))
        if symbol is None:
            raise ValueError("INVALID_CURRENCY_PAIR")
        limit = int(query.get("limit", "10"))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError("INVALID_PARAM_VALUE: limit")
        book_id, bids, asks = self.wire_book(symbol, limit)
        now_ms = time.time_ns() // 1_000_000
        body: dict[str, object] = {"current": now_ms, "update": now_ms,
                                   "asks": [list(x) for x in asks],
                                   "bids": [list(x) for x in bids]}
        if query.get("with_id") == "true":
            body = {"id": book_id, **body}
        return body

    # --- protocol -----------------------------------------------------------------------

    async def on_text(self, client: Client, text: str) -> None:
        """Answer pings and (un)subscriptions; anything else is refused."""
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("channel"), str):
            self.send(client, error("", "", 1, "invalid request body format"))
            return
        channel, event = msg["channel"], msg.get("event")
        if channel == "spot.ping":
            self.send(client, envelope("spot.pong", "", result=None))
        elif event not in ("subscribe", "unsubscribe"):
            self.send(client, error(channel, str(event or ""), 2, "unknown event"))
        else:
            self._subscription(client, channel, event, msg.get("payload"))

    def _keys(self, channel: str, payload: Any) -> list[str] | str:
        """The topic keys a request names, or the reason it is refused."""
        if not isinstance(payload, list) or not payload:
            return "payload must be a non-empty list"
        if channel == DEPTH:
            if len(payload) != 2 or payload[1] not in INTERVALS:
                return f"invalid payload {payload!r}"
            pairs = payload[:1]
        elif channel in PAIR_LIST_CHANNELS:
            pairs = payload
        else:
            return f"unknown channel {channel}"
        # Listed pairs the twin does not simulate are accepted and stay silent.
        unknown = [p for p in pairs if p not in self._by_pair and p not in LISTED_EXTRAS]
        if unknown:
            return f"unknown currency pair {unknown[0]}"
        return [f"{channel}|{p}" for p in pairs]

    def _subscription(self, client: Client, channel: str, event: str, payload: Any) -> None:
        keys = self._keys(channel, payload)
        if isinstance(keys, str):
            self.send(client, error(channel, event, 2, keys))
            return
        for key in keys:
            if event == "subscribe":
                self.topics.add(key, client)
            else:
                self.topics.remove(key, client)
        self.send(client, envelope(channel, event, payload=payload,
                                   result={"status": "success"}))
        if event == "subscribe" and channel != TICKERS:
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Pairs with a book ticker or depth subscriber."""
        return [s for s in self.symbols
                if self.topics.has(f"{BOOK_TICKER}|{pair_of(s)}")
                or self.topics.has(f"{DEPTH}|{pair_of(s)}")]

    def reconnect_frame(self, client: Client) -> str:
        """Gate asks no one to reconnect: a pong goes out, then the server restarts (1012)."""
        if not self.silent:
            asyncio.get_running_loop().call_later(
                0.2, lambda: asyncio.ensure_future(self.close(client, 1012, b"restart")))
        return envelope("spot.pong", "", result=None)

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """A book ticker and a depth diff per change (for their subscribers), plus a trade."""
        symbol, top, pair = change.symbol, change.top, pair_of(change.symbol)
        if self.skip_id(symbol):
            self._ids[symbol] += 1  # an id that never goes on the wire
        first = self._ids[symbol] + 1
        # Deeper levels change too between two top changes: ids advance by more than one.
        last = self._ids[symbol] = first + self._rng.randint(0, 20)
        levels = self.move_book(symbol, top)
        ms = change.ts_us // 1000
        frames: list[Outgoing] = []
        self.offer(frames, f"{BOOK_TICKER}|{pair}", lambda: envelope(BOOK_TICKER, "update", result={
            "t": ms, "u": last, "s": pair, "b": trimmed(top.bid), "B": trimmed(top.bid_size),
            "a": trimmed(top.ask), "A": trimmed(top.ask_size)}))
        self.offer(frames, f"{DEPTH}|{pair}", lambda: envelope(DEPTH, "update", result={
            "t": ms, "e": "depthUpdate", "E": ms // 1000, "s": pair, "U": first, "u": last,
            "b": [[p, s] for side, p, s in levels if side == "buy"],
            "a": [[p, s] for side, p, s in levels if side == "sell"]}))
        trade = change.trade
        if trade is not None:
            self._trade_ids[symbol] += 1
            self.offer(frames, f"{TRADES}|{pair}", lambda: envelope(TRADES, "update", result={
                "id": self._trade_ids[symbol], "create_time": trade.ts_us // 1_000_000,
                "create_time_ms": f"{trade.ts_us / 1000:.3f}",
                "side": "sell" if trade.side == 1 else "buy", "currency_pair": pair,
                "amount": trimmed(trade.amount), "price": trimmed(trade.price)}))
        return frames
