"""Coinbase Exchange feed: `level2_batch` snapshot + `l2update`, `ticker`, `matches`, `heartbeat`.

What is simulated (docs/protocols.md and the 2021 recording):
- `subscribe` / `unsubscribe` with root `product_ids` and channels given as names or as
  `{"name", "product_ids"}` objects; the ack is `subscriptions` with the client's full current
  list; an unknown product gets `{"type": "error", "message": "Failed to subscribe", "reason":
  "FOO-USD is not a valid product"}` and the rest is still subscribed; `level2`, `level3` and
  `full` are refused as needing authentication. A connection that has not subscribed within
  5 s is closed. Error texts other than these two are not documented and are made up.
- `level2_batch`: on subscribe, a `snapshot` of the whole simulated book (asks first, as
  recorded), then one `l2update` per emitted change, with absolute sizes, deletes as zero
  sizes, and the change's time (strictly rising per product).
- `ticker`: one per simulated trade, in today's shape (with `best_bid_size`/`best_ask_size`);
  on subscribe the latest trade's ticker is pushed at once, as the recording shows.
- `matches`: `last_match` on subscribe, then one `match` per trade (`side` is the maker's).
- `heartbeat`: once a second per subscribed product, with the product's sequence.
- Sequences: one counter per product that moves by several numbers per change (the real one
  counts every full-channel event), so tickers and heartbeats skip numbers as on the real feed.
  The `gap` fault moves every product's counter back, the one sequence fault a client can see
  on this feed (level2_batch carries no sequence; skips are normal): the next heartbeat or
  ticker of each product arrives with a lower sequence than the previous one.
- No reconnect request exists on this feed; `reconnect` sends the error Coinbase sends before
  it drops a client (`ErrSlowConsume`) and then closes the socket.

Exact counts: a snapshot carries no time, so a quote built from it would be stamped on receipt
and become a new point downstream. The simulated book of a product does not exist before its
first emitted change (emission starts with the first subscriber), so the snapshot a fresh
connection gets is empty, the adapter quotes nothing for it, and N emitted changes give exactly
N quotes. A client that subscribes later gets the full current book, as on the real venue, and
its quote from that snapshot is a legitimate extra observation of an unchanged top.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price, start_price
from simulator.changes import Change, Top, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Stamper, Venue, dumps, rfc3339_us
from simulator.venues.coinbase_shapes import (
    MonthStats,
    fixed_size,
    match_body,
    parse_requests,
    product_rows,
    ticker_body,
)
from simulator.venues.ladder import Ladder

CHANNELS = ("level2_batch", "ticker", "heartbeat", "matches")
# Real public channels that are acknowledged but carry nothing here.
QUIET_CHANNELS = ("ticker_batch",)
AUTH_CHANNELS = ("level2", "level3", "full")
AUTH_REASON = "level2, level3, and full channels now require authentication."
SUBSCRIBE_WITHIN_S = 5.0
HEARTBEAT_US = 1_000_000
GAP_REWIND = 100_000  # how far the `gap` fault moves every product's sequence back


class CoinbaseVenue(Venue):
    """Simulated Coinbase Exchange feed: a level2_batch book per product, tickers, heartbeats."""

    name = "coinbase"
    quote_currencies = frozenset({"USD", "EUR", "GBP", "USDT", "USDC", "BTC", "ETH"})

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._rng = random.Random(f"{seed}:coinbase")
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                      3000.0 / base_usd_price(s), fixed_size, fixed_size(0.0))
            for s in self.symbols
        }
        self._sequence = {s: self._rng.randrange(10**8, 10**9) for s in self.symbols}
        # The sequence of the last change on the wire: idle heartbeats carry this one, so a
        # change rendered ahead of time cannot make a heartbeat outrun the frames before it.
        self._sent_sequence = dict(self._sequence)
        self._trade_id = {s: self._rng.randrange(10**5, 10**8) for s in self.symbols}
        self._stats = {s: MonthStats(self._rng, start_price(s)) for s in self.symbols}
        # Latest trade per product as (ticker fields, match fields), for subscribe-time pushes.
        self._last_trade: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._next_heartbeat_us = 0
        self._stamp = Stamper()

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /products` as on api.exchange.coinbase.com."""
        return {"/products": lambda: product_rows(self.symbols, self.price_decimals)}

    # --- connection ---------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Start the 5 s subscribe deadline; the feed says nothing until subscribed."""
        client.state["subs"] = {}
        loop = asyncio.get_running_loop()
        client.state["deadline"] = loop.call_later(SUBSCRIBE_WITHIN_S, self._expire, client)

    def _expire(self, client: Client) -> None:
        if client in self.clients and not client.has_subscribed:
            asyncio.ensure_future(self.close(client, 1000, b"no subscription within 5 seconds"))

    def on_close(self, client: Client) -> None:
        """Cancel the subscribe deadline and forget the subscriptions."""
        handle = client.state.get("deadline")
        if handle is not None:
            handle.cancel()
        super().on_close(client)

    def reconnect_frame(self, client: Client) -> str:
        """Coinbase has no reconnect request: the slow-consumer error, then the socket closes."""
        if not self.silent:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1000, b"ErrSlowConsume")))
        return dumps({"type": "error", "message": "ErrSlowConsume"})

    def fault(self, action: str) -> bool:
        """`gap`: every product's sequence moves back (see the module docstring)."""
        if action == "gap":
            for symbol in self.symbols:
                self._sequence[symbol] = max(1, self._sequence[symbol] - GAP_REWIND)
                self._sent_sequence[symbol] = max(1, self._sent_sequence[symbol] - GAP_REWIND)
                # The numbering moved back as a whole: the latest trade (pushed to the next
                # subscriber) is renumbered too, so a new connection sees a consistent feed.
                for fields in self._last_trade.get(symbol, ()):
                    fields["sequence"] = max(1, fields["sequence"] - GAP_REWIND)
            return True
        return super().fault(action)

    # --- requests -----------------------------------------------------------------------

    def _error(self, client: Client, message: str, reason: str | None = None) -> None:
        body = {"type": "error", "message": message}
        if reason is not None:
            body["reason"] = reason
        self.send(client, dumps(body))

    async def on_text(self, client: Client, text: str) -> None:
        """Handle `subscribe` / `unsubscribe`; errors for anything else."""
        try:
            msg = json.loads(text)
        except ValueError:
            self._error(client, "Failed to subscribe", "malformed JSON")
            return
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind not in ("subscribe", "unsubscribe"):
            self._error(client, "Failed to subscribe",
                        "type has to be either subscribe or unsubscribe")
            return
        requests = parse_requests(msg)
        if requests is None:
            self._error(client, "Failed to subscribe", "malformed subscription request")
            return
        if kind == "unsubscribe":
            for channel, products in requests:
                for product in products:
                    self.topics.remove(f"{channel}:{product}", client)
                    subs = client.state["subs"].get(channel, [])
                    if product in subs:
                        subs.remove(product)
            self._ack(client)
            return
        self._subscribe(client, requests)

    def _subscribe(self, client: Client, requests: list[tuple[str, list[str]]]) -> None:
        subs: dict[str, list[str]] = client.state["subs"]
        bad_products: list[str] = []
        added: list[tuple[str, str]] = []
        refused = False
        for channel, products in requests:
            if channel in AUTH_CHANNELS:
                self._error(client, "Failed to subscribe", AUTH_REASON)
                refused = True
                continue
            if channel not in CHANNELS and channel not in QUIET_CHANNELS:
                self._error(client, "Failed to subscribe", f"{channel} is not a valid channel")
                refused = True
                continue
            if not products:
                self._error(client, "Failed to subscribe",
                            f"No product ids provided for channel {channel}")
                refused = True
                continue
            for product in products:
                if product not in self._ladders:
                    if product not in bad_products:
                        bad_products.append(product)
                    continue
                listed = subs.setdefault(channel, [])
                if product not in listed:
                    listed.append(product)
                    added.append((channel, product))
                    self.topics.add(f"{channel}:{product}", client)
        for product in bad_products:
            self._error(client, "Failed to subscribe", f"{product} is not a valid product")
        if not added and (refused or bad_products):
            return
        self._ack(client)
        for channel, product in added:
            first = self._first_frame(channel, product)
            if first is not None:
                self.send(client, first)
        self.subscribed(client)

    def _ack(self, client: Client) -> None:
        subs: dict[str, list[str]] = client.state["subs"]
        channels = [{"name": c, "product_ids": list(p)} for c, p in subs.items() if p]
        self.send(client, dumps({"type": "subscriptions", "channels": channels}))

    def _first_frame(self, channel: str, product: str) -> str | None:
        """What a channel pushes right after subscribing: the book, or the latest trade."""
        if channel == "level2_batch":
            ladder = self._ladders[product]
            return dumps({"type": "snapshot", "product_id": product,
                          "asks": [list(level) for level in ladder.levels("sell")],
                          "bids": [list(level) for level in ladder.levels("buy")]})
        last = self._last_trade.get(product)
        if last is None:
            return None
        if channel == "ticker":
            return dumps(last[0])
        if channel == "matches":
            return dumps({"type": "last_match", **last[1]})
        return None

    def active_symbols(self) -> list[str]:
        """Products with a level2_batch subscriber: only those get book changes."""
        return [s for s in self.symbols if self.topics.has(f"level2_batch:{s}")]

    # --- frames -------------------------------------------------------------------------

    def _heartbeat(self, product: str, stamp: str, sequence: int) -> str:
        return dumps({"type": "heartbeat", "last_trade_id": self._trade_id[product],
                      "product_id": product, "sequence": sequence, "time": stamp})

    def wire_mark(self, symbol: str) -> object:
        """The product's sequence after this change."""
        return self._sequence[symbol]

    def on_sent(self, symbol: str, mark: object) -> None:
        """Idle heartbeats of `symbol` carry the sequence of its last change sent."""
        self._sent_sequence[symbol] = mark  # type: ignore[assignment]

    def idle_frame(self, client: Client) -> str | None:
        """Heartbeats of the client's products when it got nothing for a second."""
        products = client.state.get("subs", {}).get("heartbeat", [])
        if not products:
            return None
        stamp = rfc3339_us(time.time_ns() // 1000)
        frames = [self._heartbeat(p, stamp, self._sent_sequence[p]) for p in products]
        for frame in frames[:-1]:
            self.send(client, frame)
        return frames[-1]

    def render(self, change: Change) -> list[Outgoing]:
        """An l2update for the change; a ticker and a match when it traded; due heartbeats."""
        symbol = change.symbol
        self._sequence[symbol] += self._rng.randint(1, 6)  # orders opened, changed, done
        changes = self._ladders[symbol].apply(change.top)
        text = dumps({"type": "l2update", "product_id": symbol,
                      "changes": [list(c) for c in changes], "time": self._stamp(change.ts_us)})
        frames: list[Outgoing] = [(text, self.topics.get(f"level2_batch:{symbol}"))]
        if change.trade is not None:
            frames.extend(self._trade_frames(symbol, change.top, change.trade))
        true_us = change.ts_us - change.skew_us  # heartbeats keep time even while skewed
        if true_us >= self._next_heartbeat_us:
            self._next_heartbeat_us = true_us + HEARTBEAT_US
            stamp = self._stamp(change.ts_us)
            for product in self.symbols:
                subscribers = self.topics.get(f"heartbeat:{product}")
                if subscribers:
                    frames.append((self._heartbeat(product, stamp, self._sequence[product]),
                                   subscribers))
        return frames

    def _trade_frames(self, symbol: str, top: Top, trade: Trade) -> list[Outgoing]:
        self._sequence[symbol] += 1
        self._trade_id[symbol] += 1
        self._stats[symbol].trade(trade.price, trade.amount)
        ladder = self._ladders[symbol]
        price = ladder.price_text(round(trade.price * ladder.scale))
        stamp = self._stamp(trade.ts_us)
        ticker = ticker_body(symbol, top, trade, self._stats[symbol], decimals=ladder.decimals,
                             price=price, stamp=stamp, sequence=self._sequence[symbol],
                             trade_id=self._trade_id[symbol])
        match = match_body(ticker, self._rng, fixed_size(trade.amount))
        self._last_trade[symbol] = (ticker, match)
        return [(dumps(ticker), self.topics.get(f"ticker:{symbol}")),
                (dumps({"type": "match", **match}), self.topics.get(f"matches:{symbol}"))]
