"""Bitvavo WebSocket API v2: `subscribe` confirmations, `ticker` and `book` events, REST books.

What is simulated (docs/venues/bitvavo.md):
- `{"action": "subscribe"|"unsubscribe", "channels": [{"name", "markets"}]}`, answered by
  `{"event": "subscribed"|"unsubscribed", "subscriptions": {channel: [markets]}}` with
  everything the connection follows; a request that is not JSON gets errorCode 102, an unknown
  action or channel 203, a market not listed 205 (`{"event": "error", "action", "errorCode",
  "error"}`; the texts are made up, the codes are Bitvavo's).
- `ticker`: one event per change of a market's best bid or ask, with both sides and sizes, and
  `lastPrice` once the market has traded. Nothing is sent on subscribe.
- `book`: one event per change with the changed levels (absolute sizes, "0" deletes) and the
  book's `nonce`, which rises by one per event. `GET /{market}/book?depth=N` (N ≤ 1000) gives the
  book as the clients have been sent it, with its nonce.
- `gap`: the next book event of every market skips a nonce. `reconnect`: Bitvavo has no
  reconnect notice; an error event (errorCode 400, made up here) goes out and the socket closes
  (1012, service restart). No app-level heartbeat: the server's websocket pings only.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair
from simulator.venues.ladder import Ladder

EXTRA_PAIRS = ("XRP-EUR", "ADA-EUR", "SOL-EUR")  # listed but not configured: clients filter
CHANNELS = ("ticker", "book")
QUIET_CHANNELS = ("ticker24h", "trades", "candles")  # acknowledged, silent here
MAX_DEPTH = 1000


def listed(symbol: str) -> bool:
    """Bitvavo lists markets quoted in EUR."""
    return split_pair(symbol)[1] == "EUR"


def size_text(size: float) -> str:
    """Sizes without trailing zeros, as Bitvavo writes them (`0.1286605`)."""
    text = f"{size:.8f}".rstrip("0").rstrip(".")
    return text or "0"


class BitvavoVenue(Venue):
    """Simulated Bitvavo websocket (ticker, book) and its `/markets` and book REST routes."""

    name = "bitvavo"
    timed_book_frames = False  # ticker events carry no time; book times are not read

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:bitvavo")
        self._extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._ladders = {s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                                   3000.0 / base_usd_price(s), size_text, "0")
                         for s in self.symbols}
        self._nonce = {s: self._rng.randrange(10**6, 10**8) for s in self.symbols}
        # Per market, the book as its subscribers have been sent it: (nonce, bids, asks).
        self._wire: dict[str, tuple[int, list[list[str]], list[list[str]]]] = {
            s: (n, [], []) for s, n in self._nonce.items()}
        self._last: dict[str, str] = {}
        self._gap: set[str] = set()

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /markets`: the configured EUR markets, two others, one halted market."""
        return {"/markets": self._markets}

    def _markets(self) -> list[dict[str, object]]:
        rows = [self._market_row(s, "trading") for s in [*self.symbols, *self._extras]]
        rows.append(self._market_row("LUNA-EUR", "halted"))
        return rows

    def _market_row(self, symbol: str, status: str) -> dict[str, object]:
        base, quote = split_pair(symbol)
        decimals = self.price_decimals(symbol) if symbol in self._ladders else 4
        return {"market": symbol, "status": status, "base": base, "quote": quote,
                "pricePrecision": None, "tickSize": f"{10.0**-decimals:.{decimals}f}",
                "minOrderInBaseAsset": "0.0001", "minOrderInQuoteAsset": "5",
                "maxOrderInBaseAsset": "1000000000", "maxOrderInQuoteAsset": "1000000000",
                "quantityDecimals": 8, "notionalDecimals": 2, "maxOpenOrders": 100,
                "feeCategory": "A", "orderTypes": ["market", "limit", "stopLoss",
                                                   "stopLossLimit", "takeProfit",
                                                   "takeProfitLimit"]}

    def query_routes(self) -> dict[str, Callable[[Mapping[str, str]], object]]:
        """`GET /{market}/book?depth=N` for every simulated market."""
        return {f"/{s}/book": (lambda query, s=s: self._book_snapshot(s, query))
                for s in self.symbols}

    def _book_snapshot(self, symbol: str, query: Mapping[str, str]) -> object:
        """The book as sent so far, best first; ValueError (400) on a bad depth."""
        depth_text = query.get("depth", str(MAX_DEPTH))
        if not depth_text.isdigit() or not 1 <= int(depth_text) <= MAX_DEPTH:
            raise ValueError("depth parameter is invalid.")
        depth = int(depth_text)
        nonce, bids, asks = self._wire[symbol]
        return {"market": symbol, "nonce": nonce, "bids": bids[:depth], "asks": asks[:depth],
                "timestamp": 0}

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Nothing is sent on connect."""
        client.state["subs"] = {c: [] for c in (*CHANNELS, *QUIET_CHANNELS)}

    def _error(self, client: Client, action: Any, code: int, text: str) -> None:
        self.send(client, dumps({"event": "error", "action": action, "errorCode": code,
                                 "error": text}))

    async def on_text(self, client: Client, text: str) -> None:
        """(Un)subscribe requests; errors with Bitvavo's codes for anything else."""
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            self._error(client, None, 102, "The JSON object you sent is invalid.")
            return
        action, channels = msg.get("action"), msg.get("channels")
        if action not in ("subscribe", "unsubscribe") or not isinstance(channels, list):
            self._error(client, action, 203, "action and channels parameters are required.")
            return
        requested: list[tuple[str, list[str]]] = []
        known = set(self.symbols) | set(self._extras)
        for channel in channels:
            name = channel.get("name") if isinstance(channel, dict) else None
            markets = channel.get("markets") if isinstance(channel, dict) else None
            if name not in CHANNELS and name not in QUIET_CHANNELS:
                self._error(client, action, 203, f"{name} is not a valid channel.")
                return
            if not isinstance(markets, list) or not markets:
                self._error(client, action, 203, "markets parameter is required.")
                return
            for market in markets:
                if market not in known:
                    self._error(client, action, 205, f"Invalid parameter value: {market}.")
                    return
            requested.append((name, markets))
        subs: dict[str, list[str]] = client.state["subs"]
        for name, markets in requested:
            for market in markets:
                key = f"{name}:{market}"
                if action == "subscribe" and market not in subs[name]:
                    subs[name].append(market)
                    self.topics.add(key, client)
                elif action == "unsubscribe" and market in subs[name]:
                    subs[name].remove(market)
                    self.topics.remove(key, client)
        event = "subscribed" if action == "subscribe" else "unsubscribed"
        self.send(client, dumps({"event": event,
                                 "subscriptions": {c: list(m) for c, m in subs.items() if m}}))
        if action == "subscribe":
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Markets with a ticker or book subscriber."""
        return [s for s in self.symbols
                if self.topics.has(f"ticker:{s}") or self.topics.has(f"book:{s}")]

    def reconnect_frame(self, client: Client) -> str:
        """No reconnect notice exists: an error event, then a close (1012)."""
        if not self.silent:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1012, b"Service restart")))
        return dumps({"event": "error", "errorCode": 400, "error": "Unknown server error."})

    def fault(self, action: str) -> bool:
        """`gap`: the next book event of every market skips a nonce."""
        if action == "gap":
            self._gap = set(self.symbols)
            return True
        return super().fault(action)

    # --- frames -------------------------------------------------------------------------

    def wire_mark(self, symbol: str) -> object:
        """The book (nonce and levels) once this change is on the wire."""
        ladder = self._ladders[symbol]
        return (self._nonce[symbol], [list(level) for level in ladder.levels("buy")],
                [list(level) for level in ladder.levels("sell")])

    def on_sent(self, symbol: str, mark: object) -> None:
        """Snapshots from now on show the book as just sent."""
        self._wire[symbol] = mark  # type: ignore[assignment]

    def render(self, change: Change) -> list[Outgoing]:
        """A ticker and a book event for the change (each only for its subscribers)."""
        symbol = change.symbol
        changes = self._ladders[symbol].apply(change.top)
        if symbol in self._gap:
            self._gap.discard(symbol)
            self._nonce[symbol] += 1  # an event no client gets
        self._nonce[symbol] += 1
        ladder = self._ladders[symbol]
        if change.trade is not None:
            self._last[symbol] = ladder.price_text(round(change.trade.price * ladder.scale))
        top = change.top
        ticker: dict[str, Any] = {
            "event": "ticker", "market": symbol,
            "bestBid": ladder.price_text(round(top.bid * ladder.scale)),
            "bestBidSize": size_text(top.bid_size),
            "bestAsk": ladder.price_text(round(top.ask * ladder.scale)),
            "bestAskSize": size_text(top.ask_size)}
        if symbol in self._last:
            ticker["lastPrice"] = self._last[symbol]
        book = {"event": "book", "market": symbol, "nonce": self._nonce[symbol],
                "bids": [[p, z] for side, p, z in changes if side == "buy"],
                "asks": [[p, z] for side, p, z in changes if side == "sell"],
                "timestamp": change.ts_us * 1000}
        frames: list[Outgoing] = []
        self.offer(frames, f"ticker:{symbol}", lambda: dumps(ticker))
        self.offer(frames, f"book:{symbol}", lambda: dumps(book))
        return frames
