"""Crypto.com Exchange v1 market data: `subscribe` replies, `book.{instrument}.{depth}`, heartbeats.

What is simulated (docs/venues/cryptocom.md):
- Requests `{"id", "method", "params", "nonce"}`; replies echo `id` and `method` with an integer
  `code` (0 success, 40001 not JSON, 40003 a bad request or channel, 40107 past the 400
  subscriptions of a connection, 42901 past 100 requests in a second). A request without an id
  is answered with id -1, and one that is no JSON object with method `ERROR`.
- `book.{instrument}.{10|50}`: on subscribe, a `book` snapshot of the simulated book (empty
  before the first change, so N changes give N quotes); with `book_subscription_type`
  `SNAPSHOT_AND_UPDATE` one `book.update` delta per change, with `u` rising by a random step and
  `pu` the previous `u`; otherwise (`SNAPSHOT`, the default) the whole book on each change.
  `trade.*` and `ticker.*` of a listed instrument are acknowledged and stay silent. The empty
  delta a quiet book sends every 5 s is not simulated.
- `public/heartbeat` with a fresh id: the first 1 s after connecting (the real server waits
  30 s; sooner here so a test sees one), then every 30 s. A connection that has not answered
  with `public/respond-heartbeat` and the same id within 5 s is closed (code 1000).
- `gap`: the next delta of every instrument skips one sequence number (`pu` is not the last
  `u` the client got). `reconnect`: there is no reconnect notice on this feed; a last heartbeat
  goes out and the socket closes with 1013 (server restarting).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair
from simulator.venues.ladder import Ladder

LISTED_QUOTES = frozenset({"USD", "USDT", "USDC", "EUR", "BTC"})  # no KRW or JPY pairs
EXTRA_PAIRS = ("CRO-USD", "ETH-BTC", "SOL-USDT")  # listed but not configured: clients filter
MAX_SUBSCRIPTIONS = 400
MAX_REQUESTS_PER_S = 100
FIRST_HEARTBEAT_S, HEARTBEAT_S, ANSWER_WITHIN_S = 1.0, 30.0, 5.0
DEPTHS = (10, 50)
CHANNEL_RE = re.compile(r"^(book|trade|ticker)\.([A-Z0-9]+_[A-Z0-9]+)(?:\.(\d+))?$")


def listed(symbol: str) -> bool:
    """Crypto.com Exchange trades spot pairs quoted in USD, stablecoins, EUR and BTC."""
    return split_pair(symbol)[1] in LISTED_QUOTES


def native_of(symbol: str) -> str:
    """`BTC-USDT` → `BTC_USDT`."""
    return symbol.replace("-", "_")


def size_text(size: float) -> str:
    """Sizes as Crypto.com writes them: fixed decimals (`0.40000000`)."""
    return f"{size:.8f}"


class CryptocomVenue(Venue):
    """Simulated Crypto.com Exchange market-data websocket and instrument list."""

    name = "cryptocom"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:cryptocom")
        self._by_native = {native_of(s): s for s in self.symbols}
        self._extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._ladders = {s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                                   3000.0 / base_usd_price(s), size_text, "0", depth=10)
                         for s in self.symbols}
        self._u = {s: self._rng.randrange(10**10, 10**11) for s in self.symbols}
        self._gap: set[str] = set()
        self._beat_id = int(time.time() * 1000)

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /public/get-instruments`, spot pairs and one perpetual (clients skip it)."""
        return {"/public/get-instruments": self._instruments}

    def _instruments(self) -> dict[str, object]:
        rows = [self._instrument(s) for s in [*self.symbols, *self._extras]]
        rows.append({"symbol": "BTCUSD-PERP", "inst_type": "PERPETUAL_SWAP",
                     "display_name": "BTCUSD Perpetual", "base_ccy": "BTC", "quote_ccy": "USD",
                     "quote_decimals": 1, "quantity_decimals": 4, "price_tick_size": "0.1",
                     "qty_tick_size": "0.0001", "max_leverage": "100", "tradable": True,
                     "expiry_timestamp_ms": 0, "underlying_symbol": "BTCUSD-INDEX"})
        return {"id": 1, "method": "public/get-instruments", "code": 0,
                "result": {"data": rows}}

    def _instrument(self, symbol: str) -> dict[str, object]:
        base, quote = split_pair(symbol)
        decimals = self.price_decimals(symbol)
        return {"symbol": native_of(symbol), "inst_type": "CCY_PAIR",
                "display_name": f"{base}/{quote}", "base_ccy": base, "quote_ccy": quote,
                "quote_decimals": decimals, "quantity_decimals": 8,
                "price_tick_size": f"{10.0**-decimals:.{decimals}f}",
                "qty_tick_size": "0.00000001", "max_leverage": "10", "tradable": True,
                "expiry_timestamp_ms": 0, "beta_product": False, "margin_buy_enabled": False,
                "margin_sell_enabled": False}

    # --- connection ---------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Nothing is said on connect; the heartbeat task starts."""
        client.state["subs"] = {}  # channel → topic key
        client.state["recent"] = deque()
        client.state["beat"] = asyncio.ensure_future(self._heartbeats(client))

    def on_close(self, client: Client) -> None:
        """Stop the heartbeats and forget the subscriptions."""
        task = client.state.get("beat")
        if task is not None:
            task.cancel()
        super().on_close(client)

    def _heartbeat(self, client: Client) -> str:
        self._beat_id += 1
        client.state["awaiting"] = self._beat_id
        return dumps({"id": self._beat_id, "method": "public/heartbeat", "code": 0})

    async def _heartbeats(self, client: Client) -> None:
        """Heartbeat, then close the connection if it has not answered within 5 s."""
        await asyncio.sleep(FIRST_HEARTBEAT_S)
        while client in self.clients:
            if not self.silent:
                beat = self._heartbeat(client)
                self.send(client, beat)
                await asyncio.sleep(ANSWER_WITHIN_S)
                if client.state.get("awaiting") is not None and not self.silent:
                    await self.close(client, 1000, b"heartbeat not answered")
                    return
                await asyncio.sleep(HEARTBEAT_S - ANSWER_WITHIN_S)
            else:
                await asyncio.sleep(1.0)

    def reconnect_frame(self, client: Client) -> str:
        """No reconnect notice exists: a heartbeat, then a close with 1013 (restarting)."""
        if not self.silent:
            loop = asyncio.get_running_loop()
            loop.call_later(0.2, lambda: asyncio.ensure_future(
                self.close(client, 1013, b"Server restarting")))
        return self._heartbeat(client)

    def fault(self, action: str) -> bool:
        """`gap`: the next delta of every instrument skips a sequence number."""
        if action == "gap":
            self._gap = set(self.symbols)
            return True
        return super().fault(action)

    # --- requests -----------------------------------------------------------------------

    def _reply(self, client: Client, req_id: Any, method: Any, code: int,
               message: str | None = None, original: str | None = None) -> None:
        body: dict[str, Any] = {"id": req_id, "method": method, "code": code}
        if message is not None:
            body["message"] = message
        if original is not None:
            body["original"] = original
        self.send(client, dumps(body))

    async def on_text(self, client: Client, text: str) -> None:
        """Subscribe/unsubscribe, heartbeat answers; coded errors for anything else."""
        over_limit = self._count_request(client)
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._reply(client, -1, "ERROR", 40001, "BAD_REQUEST", text[:200])
            return
        req_id = msg.get("id", -1)
        method = msg.get("method")
        if over_limit:
            self._reply(client, req_id, method, 42901, "TOO_MANY_REQUESTS")
            return
        if method == "public/respond-heartbeat":
            if req_id == client.state.get("awaiting"):
                client.state["awaiting"] = None
            return
        params = msg.get("params")
        channels = params.get("channels") if isinstance(params, dict) else None
        if method not in ("subscribe", "unsubscribe"):
            self._reply(client, req_id, method, 40002, "METHOD_NOT_FOUND", text[:200])
            return
        if not isinstance(channels, list) or not channels:
            self._reply(client, req_id, method, 40004, "MISSING_OR_INVALID_ARGUMENT")
            return
        kind = params.get("book_subscription_type", "SNAPSHOT")
        keys = [self._topic(c, kind) for c in channels]
        if kind not in ("SNAPSHOT", "SNAPSHOT_AND_UPDATE") or None in keys:
            self._reply(client, req_id, method, 40003, "INVALID_REQUEST", text[:200])
            return
        subs: dict[str, str] = client.state["subs"]
        if method == "unsubscribe":
            for channel in channels:
                key = subs.pop(channel, None)
                if key is not None:
                    self.topics.remove(key, client)
            self._reply(client, req_id, method, 0)
            return
        if len(subs.keys() | set(channels)) > MAX_SUBSCRIPTIONS:
            self._reply(client, req_id, method, 40107, "EXCEED_MAX_SUBSCRIPTIONS")
            return
        self._reply(client, req_id, method, 0)
        for channel, key in zip(channels, keys, strict=True):
            if subs.get(channel) is not None:
                self.topics.remove(subs[channel], client)
            subs[channel] = key  # type: ignore[assignment]
            self.topics.add(key, client)  # type: ignore[arg-type]
            match = CHANNEL_RE.match(channel)
            if match is not None and match[1] == "book":
                symbol = self._by_native.get(match[2])
                if symbol is not None:
                    self.send(client, self._full_book(symbol, channel, "book"))
        self.subscribed(client)

    @staticmethod
    def _count_request(client: Client) -> bool:
        """Note one request; True when it is past the 100 of the last second."""
        times: deque[float] = client.state["recent"]
        now = time.monotonic()
        while times and times[0] <= now - 1.0:
            times.popleft()
        times.append(now)
        return len(times) > MAX_REQUESTS_PER_S

    def _topic(self, channel: Any, kind: Any) -> str | None:
        """The topic a valid channel of a listed instrument feeds; None when it is refused."""
        match = CHANNEL_RE.match(channel) if isinstance(channel, str) else None
        if match is None:
            return None
        if match[2] not in self._by_native and match[2] not in map(native_of, self._extras):
            return None
        if match[1] != "book":
            return None if match[3] else f"quiet:{channel}"
        if match[3] is None or int(match[3]) not in DEPTHS:
            return None
        prefix = "delta" if kind == "SNAPSHOT_AND_UPDATE" else "full"
        return f"{prefix}:{match[2]}:{match[3]}"

    def active_symbols(self) -> list[str]:
        """Instruments with a book subscriber of either kind and depth."""
        return [s for s in self.symbols
                if any(self.topics.has(f"{p}:{native_of(s)}:{d}")
                       for p in ("delta", "full") for d in DEPTHS)]

    # --- frames -------------------------------------------------------------------------

    def _envelope(self, symbol: str, subscription: str, channel: str, data: dict[str, Any]
                  ) -> str:
        depth = int(subscription.rsplit(".", 1)[1])
        return dumps({"id": -1, "method": "subscribe", "code": 0, "result": {
            "instrument_name": native_of(symbol), "subscription": subscription,
            "channel": channel, "depth": depth, "data": [data]}})

    def _full_book(self, symbol: str, subscription: str, channel: str,
                   ms: int | None = None) -> str:
        ladder = self._ladders[symbol]
        ms = time.time_ns() // 1_000_000 if ms is None else ms
        data = {"asks": [[p, s, "1"] for p, s in ladder.levels("sell")],
                "bids": [[p, s, "1"] for p, s in ladder.levels("buy")],
                "tt": ms, "t": ms, "u": self._u[symbol]}
        return self._envelope(symbol, subscription, channel, data)

    def render(self, change: Change) -> list[Outgoing]:
        """One `book.update` per change for delta subscribers, the whole book for the rest."""
        symbol = change.symbol
        native = native_of(symbol)
        changes = self._ladders[symbol].apply(change.top)
        previous = self._u[symbol]
        if symbol in self._gap:
            self._gap.discard(symbol)
            previous += self._rng.randint(1, 40)  # a delta the client never gets
        self._u[symbol] = previous + self._rng.randint(1, 40)
        ms = change.ts_us // 1000
        frames: list[Outgoing] = []
        for depth in DEPTHS:
            subscription = f"book.{native}.{depth}"
            self.offer(frames, f"delta:{native}:{depth}", lambda s=subscription: self._envelope(
                symbol, s, "book.update", {
                    "update": {"asks": [[p, z, "1" if z != "0" else "0"]
                                        for side, p, z in changes if side == "sell"],
                               "bids": [[p, z, "1" if z != "0" else "0"]
                                        for side, p, z in changes if side == "buy"]},
                    "tt": ms, "t": ms, "u": self._u[symbol], "pu": previous}))
            self.offer(frames, f"full:{native}:{depth}",
                       lambda s=subscription: self._full_book(symbol, s, "book", ms))
        return frames
