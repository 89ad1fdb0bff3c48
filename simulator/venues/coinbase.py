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
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from simulator.prices import Change, Market, Top, Trade, base_usd_price, start_price
from simulator.venues.base import (
    BOOK_LEVELS,
    Client,
    Outgoing,
    Venue,
    dumps,
    level_gap,
    level_size,
    rfc3339_us,
    split_pair,
)

CHANNELS = ("level2_batch", "ticker", "heartbeat", "matches")
# Real public channels that are acknowledged but carry nothing here.
QUIET_CHANNELS = ("ticker_batch",)
AUTH_CHANNELS = ("level2", "level3", "full")
AUTH_REASON = "level2, level3, and full channels now require authentication."
SUBSCRIBE_WITHIN_S = 5.0
HEARTBEAT_US = 1_000_000
GAP_REWIND = 100_000  # how far the `gap` fault moves every product's sequence back
DEPTH = BOOK_LEVELS  # levels per side in the simulated book
EXTRA_PAIRS = ("BTC-EUR", "ETH-BTC", "SOL-USD")  # listed but not configured: clients filter
SIZE_DECIMALS = 8


def fixed_size(size: float) -> str:
    """Coinbase's size spelling: always eight decimals (`0.41230000`)."""
    return f"{size:.{SIZE_DECIMALS}f}"


class Ladder:
    """A simulated delta book: the walk's top of book plus deeper levels that follow it.

    Prices are integer ticks, so texts are exact; `apply` moves the book to a new top and
    returns the level changes (side, price text, size text, zero size = delete) that do it.
    Levels added behind the book sit further apart the deeper they are, with larger sizes
    (`level_gap`, `level_size`); deeper levels never touch the top, so every change the
    ladder makes beyond the walk's own top is invisible to a top-of-book reader.
    """

    def __init__(self, decimals: int, rng: random.Random, unit: float,
                 size_text: Callable[[float], str], zero: str, depth: int = DEPTH) -> None:
        self.decimals = decimals
        self.scale = 10**decimals
        self._rng = rng
        self._unit = unit
        self._size_text = size_text
        self._zero = zero
        self._depth = depth
        # Per side: key → size text, where key = ticks for asks and -ticks for bids, so the
        # best level of either side has the smallest key.
        self._sides: dict[str, dict[int, str]] = {"buy": {}, "sell": {}}

    def price_text(self, ticks: int) -> str:
        """Ticks as a decimal string with the product's number of decimals."""
        if self.decimals == 0:
            return str(ticks)
        whole, frac = divmod(ticks, self.scale)
        return f"{whole}.{frac:0{self.decimals}d}"

    def _ticks(self, side: str, key: int) -> int:
        return -key if side == "buy" else key

    def _deep_size(self, position: int) -> str:
        size = round(level_size(self._rng, self._unit, position), SIZE_DECIMALS)
        return self._size_text(max(size, 10.0**-SIZE_DECIMALS))

    def apply(self, top: Top) -> list[tuple[str, str, str]]:
        """Move the book to `top`; the changes that do it (one frame's worth)."""
        out: list[tuple[str, str, str]] = []
        for side, price, size in (("buy", top.bid, top.bid_size), ("sell", top.ask, top.ask_size)):
            ticks = round(price * self.scale)
            self._set_top(side, -ticks if side == "buy" else ticks, self._size_text(size), out)
        # Deeper levels change too in a live book; the top is untouched by this.
        side = self._rng.choice(("buy", "sell"))
        levels = self._sides[side]
        deeper = sorted(levels)[1:]
        if deeper and self._rng.random() < 0.5:
            position = self._rng.randrange(len(deeper))
            key = deeper[position]
            levels[key] = self._deep_size(position + 1)
            out.append((side, self.price_text(self._ticks(side, key)), levels[key]))
        return out

    def _set_top(self, side: str, best: int, size: str, out: list[tuple[str, str, str]]) -> None:
        levels = self._sides[side]
        for key in sorted(k for k in levels if k < best):  # better than the new best: gone
            del levels[key]
            out.append((side, self.price_text(self._ticks(side, key)), self._zero))
        if levels.get(best) != size:
            levels[best] = size
            out.append((side, self.price_text(self._ticks(side, best)), size))
        while len(levels) > self._depth:
            worst = max(levels)
            del levels[worst]
            out.append((side, self.price_text(self._ticks(side, worst)), self._zero))
        while len(levels) < self._depth:
            worst = max(levels)
            key = worst + level_gap(self._rng, worst, len(levels))
            if self._ticks(side, key) <= 0:
                break  # a bid ladder of a very cheap asset reached zero
            levels[key] = self._deep_size(len(levels))
            out.append((side, self.price_text(self._ticks(side, key)), levels[key]))

    def levels(self, side: str) -> list[tuple[str, str]]:
        """(price text, size text) of one side, best first ("buy" or "sell")."""
        levels = self._sides[side]
        return [(self.price_text(self._ticks(side, k)), levels[k]) for k in sorted(levels)]


class _DayStats:
    """24 h / 30 d figures carried by every ticker, moved by simulated trades."""

    def __init__(self, rng: random.Random, price: float) -> None:
        self.open = price * (1.0 + rng.uniform(-0.03, 0.03))
        self.low = min(self.open, price) * (1.0 - rng.uniform(0.002, 0.02))
        self.high = max(self.open, price) * (1.0 + rng.uniform(0.002, 0.02))
        self.volume = rng.uniform(5e6, 50e6) / price
        self.volume_30d = self.volume * rng.uniform(20.0, 40.0)

    def trade(self, price: float, amount: float) -> None:
        self.volume += amount
        self.volume_30d += amount
        self.low = min(self.low, price)
        self.high = max(self.high, price)


class CoinbaseVenue(Venue):
    """Simulated Coinbase Exchange feed: a level2_batch book per product, tickers, heartbeats."""

    name = "coinbase"

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
        self._stats = {s: _DayStats(self._rng, start_price(s)) for s in self.symbols}
        # Latest trade per product as (ticker fields, match fields), for subscribe-time pushes.
        self._last_trade: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._next_heartbeat_us = 0
        self._stamp_second = -1
        self._stamp_prefix = ""

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /products` as on api.exchange.coinbase.com."""
        return {"/products": self._products}

    def _products(self) -> list[dict[str, object]]:
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        rows: list[dict[str, object]] = []
        for symbol in [*self.symbols, *extras]:
            base, quote = split_pair(symbol)
            decimals = self.price_decimals(symbol)
            rows.append({
                "id": symbol, "base_currency": base, "quote_currency": quote,
                "base_min_size": f"{10.0 / base_usd_price(symbol):.8f}".rstrip("0").rstrip("."),
                "base_max_size": f"{2_000_000.0 / base_usd_price(symbol):.0f}",
                "quote_increment": f"{10.0**-decimals:.{decimals}f}",
                "base_increment": "0.00000001", "display_name": f"{base}/{quote}",
                "min_market_funds": "1", "max_market_funds": "1000000",
                "margin_enabled": False, "post_only": False, "limit_only": False,
                "cancel_only": False, "trading_disabled": False, "status": "online",
                "status_message": "", "auction_mode": False,
            })
        return rows

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
        requests = self._requests(msg)
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

    @staticmethod
    def _requests(msg: dict[str, Any]) -> list[tuple[str, list[str]]] | None:
        """(channel, product ids) pairs of a request, or None when it is malformed."""
        root = msg.get("product_ids", [])
        channels = msg.get("channels")
        if not isinstance(root, list) or not all(isinstance(p, str) for p in root):
            return None
        if not isinstance(channels, list) or not channels:
            return None
        out: list[tuple[str, list[str]]] = []
        for item in channels:
            if isinstance(item, str):
                out.append((item, list(root)))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                own = item.get("product_ids", root)
                if not isinstance(own, list) or not all(isinstance(p, str) for p in own):
                    return None
                out.append((item["name"], list(own)))
            else:
                return None
        return out

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

    def _stamp(self, ts_us: int) -> str:
        """ISO 8601 with µs; the date part is cached per second because formatting is slow."""
        second, micros = divmod(ts_us, 1_000_000)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._stamp_prefix}.{micros:06d}Z"

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
        stats = self._stats[symbol]
        decimals = ladder.decimals
        taker = "buy" if trade.side == 0 else "sell"
        ticker = {
            "type": "ticker", "sequence": self._sequence[symbol], "product_id": symbol,
            "price": price, "open_24h": f"{stats.open:.{decimals}f}",
            "volume_24h": f"{stats.volume:.8f}", "low_24h": f"{stats.low:.{decimals}f}",
            "high_24h": f"{stats.high:.{decimals}f}", "volume_30d": f"{stats.volume_30d:.8f}",
            "best_bid": f"{top.bid:.{decimals}f}", "best_bid_size": fixed_size(top.bid_size),
            "best_ask": f"{top.ask:.{decimals}f}", "best_ask_size": fixed_size(top.ask_size),
            "side": taker, "time": stamp, "trade_id": self._trade_id[symbol],
            "last_size": fixed_size(trade.amount),
        }
        match = {
            "trade_id": self._trade_id[symbol],
            "maker_order_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "taker_order_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            # The maker's side: a buying taker lifted a resting sell order.
            "side": "sell" if taker == "buy" else "buy",
            "size": fixed_size(trade.amount), "price": price, "product_id": symbol,
            "sequence": self._sequence[symbol], "time": stamp,
        }
        self._last_trade[symbol] = (ticker, match)
        return [(dumps(ticker), self.topics.get(f"ticker:{symbol}")),
                (dumps({"type": "match", **match}), self.topics.get(f"matches:{symbol}"))]
