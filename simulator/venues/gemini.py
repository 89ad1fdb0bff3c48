"""Gemini market data v2: the `l2` subscription (full book, then deltas, and trades), heartbeats.

What is simulated (docs/protocols.md and the 2021 recording):
- `{"type": "subscribe", "subscriptions": [{"name": "l2", "symbols": ["BTCUSD"]}]}`; symbols
  are upper case only; there is no ack. When no symbol of a request is valid the answer is
  `{"result": "error", "reason": "NoValidTradingPairs"}`; unknown symbols next to valid ones
  are dropped silently (assumed). Other error reasons are not documented and are made up.
  `unsubscribe` takes the same shape and is not answered either.
- Per newly subscribed symbol, one `l2_updates` with the whole book (bids best first, then
  asks), the last 50 trades newest first, and `auction_events: []`; then one `l2_updates` per
  emitted change (absolute sizes, `"0"` deletes) and a `trade` frame per simulated trade.
- A `heartbeat` with a ms `timestamp` every 5 s per subscribed connection.
- v2 has no sequence numbers or checksums (`gap` and `bad_checksum` are not simulated) and no
  reconnect request: `reconnect` closes the socket (code 1012, service restart).

Exact counts, and why the adapter quotes the full book: `l2_updates` carry no time, so each
quote is stamped on receipt and every quote is a new point downstream, the one from the
initial full book included. The adapter stays faithful to the venue (a full book is a real top
of book and is quoted). What keeps "N emitted changes ⇒ N quotes" on a fresh connection is that
a symbol's simulated book does not exist before its first emitted change (emission starts with
the first subscriber), so the full book a fresh connection gets is empty and yields no quote;
each of the N changes then moves the top once. A client that subscribes after changes were
emitted gets the real current book and one legitimate extra quote of an unchanged top.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair
from simulator.venues.ladder import Ladder

HEARTBEAT_MS = 5_000
HEARTBEAT_CHECK_US = 1_000_000  # how often render looks for connections due a heartbeat
RECENT_TRADES = 50
EXTRA_PAIRS = ("BTC-GUSD", "ETH-BTC", "LTC-USD")  # listed but not configured: clients filter


def trimmed(size: float) -> str:
    """Gemini's size spelling: no trailing zeros (`0.25`, `2.445529`)."""
    text = f"{size:.8f}".rstrip("0").rstrip(".")
    return text or "0"


def v2_symbol(symbol: str) -> str:
    """`BTC-USD` → `BTCUSD` (v2 websocket spelling)."""
    base, quote = split_pair(symbol)
    return base + quote


class GeminiVenue(Venue):
    """Simulated Gemini v2 market data: l2 books per symbol, trades, 5 s heartbeats."""

    name = "gemini"
    quote_currencies = frozenset({"USD", "EUR", "GBP", "SGD", "USDT", "GUSD", "BTC", "ETH"})
    timed_book_frames = False  # l2_updates carry no time

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._rng = random.Random(f"{seed}:gemini")
        self._by_v2 = {v2_symbol(s): s for s in self.symbols}
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                      3000.0 / base_usd_price(s), trimmed, "0")
            for s in self.symbols
        }
        self._trades: dict[str, deque[dict[str, Any]]] = {
            s: deque(maxlen=RECENT_TRADES) for s in self.symbols
        }
        self._event_id = self._rng.randrange(40_000_000_000, 50_000_000_000)
        self._next_check_us = 0

    # --- REST ---------------------------------------------------------------------------

    def _listed(self) -> list[str]:
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        return [*self.symbols, *extras]

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v1/symbols` and `GET /v1/symbols/details/<symbol>` as on api.gemini.com."""
        routes: dict[str, Callable[[], object]] = {
            "/v1/symbols": lambda: [v2_symbol(s).lower() for s in self._listed()]
        }
        for symbol in self._listed():
            routes[f"/v1/symbols/details/{v2_symbol(symbol).lower()}"] = (
                lambda symbol=symbol: self._details(symbol)
            )
        return routes

    def _details(self, symbol: str) -> dict[str, object]:
        base, quote = split_pair(symbol)
        decimals = self.price_decimals(symbol)
        return {"symbol": v2_symbol(symbol), "base_currency": base, "quote_currency": quote,
                "tick_size": 1e-08, "quote_increment": 10.0**-decimals,
                "min_order_size": "0.00001", "status": "open"}

    # --- protocol -----------------------------------------------------------------------

    def _error(self, client: Client, reason: str) -> None:
        self.send(client, dumps({"result": "error", "reason": reason}))

    async def on_text(self, client: Client, text: str) -> None:
        """Handle `subscribe` / `unsubscribe` to `l2`; error replies for anything else."""
        try:
            msg = json.loads(text)
        except ValueError:
            self._error(client, "InvalidJson")
            return
        kind = msg.get("type") if isinstance(msg, dict) else None
        subscriptions = msg.get("subscriptions") if isinstance(msg, dict) else None
        if kind not in ("subscribe", "unsubscribe") or not isinstance(subscriptions, list):
            self._error(client, "InvalidRequest")
            return
        wanted: list[str] = []
        for item in subscriptions:
            if not isinstance(item, dict) or item.get("name") != "l2":
                self._error(client, "InvalidSubscription")
                return
            names = item.get("symbols")
            if not isinstance(names, list):
                self._error(client, "InvalidSubscription")
                return
            wanted += [self._by_v2[n] for n in names if isinstance(n, str) and n in self._by_v2]
        if not wanted:
            self._error(client, "NoValidTradingPairs")
            return
        if kind == "unsubscribe":
            for symbol in wanted:
                self.topics.remove(f"l2:{symbol}", client)
            return
        for symbol in dict.fromkeys(wanted):
            key = f"l2:{symbol}"
            if client in self.topics.get(key):
                continue
            self.topics.add(key, client)
            self.send(client, self._full_book(symbol))
        client.state.setdefault("heartbeat_ms", time.time_ns() // 1_000_000)
        self.subscribed(client)

    def _full_book(self, symbol: str) -> str:
        ladder = self._ladders[symbol]
        changes = [["buy", p, s] for p, s in ladder.levels("buy")]
        changes += [["sell", p, s] for p, s in ladder.levels("sell")]
        return dumps({"type": "l2_updates", "symbol": v2_symbol(symbol), "changes": changes,
                      "trades": list(self._trades[symbol]), "auction_events": []})

    def active_symbols(self) -> list[str]:
        """Symbols with an l2 subscriber."""
        return [s for s in self.symbols if self.topics.has(f"l2:{s}")]

    def reconnect_frame(self, client: Client) -> str:
        """v2 has no reconnect request: a last heartbeat, then the socket closes (1012)."""
        if not self.silent:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1012, b"service restart")))
        return self._heartbeat(time.time_ns() // 1_000_000)

    @staticmethod
    def _heartbeat(ms: int) -> str:
        return f'{{"type":"heartbeat","timestamp":{ms}}}'

    def idle_frame(self, client: Client) -> str | None:
        """A heartbeat when 5 s passed since this connection's last one."""
        last = client.state.get("heartbeat_ms")
        now_ms = time.time_ns() // 1_000_000
        if last is None or now_ms - last < HEARTBEAT_MS:
            return None
        client.state["heartbeat_ms"] = now_ms
        return self._heartbeat(now_ms)

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """An l2_updates delta for the change, a trade frame when it traded, due heartbeats."""
        symbol = change.symbol
        subscribers = self.topics.get(f"l2:{symbol}")
        changes = self._ladders[symbol].apply(change.top)
        self._event_id += self._rng.randint(1, 8)
        text = dumps({"type": "l2_updates", "symbol": v2_symbol(symbol),
                      "changes": [list(c) for c in changes]})
        frames: list[Outgoing] = [(text, subscribers)]
        if change.trade is not None:
            frames.append((self._trade_frame(symbol, change.trade), subscribers))
        if change.ts_us >= self._next_check_us:
            self._next_check_us = change.ts_us + HEARTBEAT_CHECK_US
            now_ms = change.ts_us // 1000
            for client in self.clients:
                last = client.state.get("heartbeat_ms")
                if last is not None and now_ms - last >= HEARTBEAT_MS:
                    client.state["heartbeat_ms"] = now_ms
                    frames.append((self._heartbeat(now_ms), (client,)))
        return frames

    def _trade_frame(self, symbol: str, trade: Trade) -> str:
        self._event_id += 1
        ladder = self._ladders[symbol]
        body = {"type": "trade", "symbol": v2_symbol(symbol), "event_id": self._event_id,
                "timestamp": trade.ts_us // 1000,
                "price": ladder.price_text(round(trade.price * ladder.scale)),
                "quantity": trimmed(trade.amount), "side": "buy" if trade.side == 0 else "sell"}
        self._trades[symbol].appendleft(body)  # the full book lists the newest first
        return dumps(body)
