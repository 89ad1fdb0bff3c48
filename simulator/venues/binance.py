"""Binance spot WebSocket streams: JSON control frames, combined-stream envelopes, bookTicker.

Served at `/binance`, which behaves like the real `/stream` endpoint with no stream list in the
URL: clients subscribe with `{"method": "SUBSCRIBE", ...}` frames and get combined events
(`{"stream": ..., "data": ...}`) unless they switch to raw ones with SET_PROPERTY. Data streams:
`<symbol>@bookTicker` (one event per top-of-book change, no time, nothing on subscribe, as on
spot) and `<symbol>@aggTrade` / `<symbol>@trade`. Other well-formed streams (depth, kline,
ticker...) and unknown symbols are acked and stay silent; the real server does not validate
symbols either. Protocol pings come from the server's websocket heartbeat; there is no app-level
heartbeat. More than 5 incoming frames in a second closes the connection (1008), as on Binance.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode

from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps
from simulator.venues.binance_listing import exchange_info, listed, native_of

MAX_STREAMS = 1024  # per connection
MAX_MESSAGES_PER_S = 5  # incoming frames per connection per second
RAW = "raw|"  # topic-key prefix for clients that asked for raw (not combined) events
DATA_KINDS = ("bookTicker", "aggTrade", "trade")
# Stream names the real server accepts; only DATA_KINDS carry data here.
STREAM_RE = re.compile(
    r"^([a-z0-9]+)@(bookTicker|aggTrade|trade|ticker|miniTicker|avgPrice|"
    r"depth(?:5|10|20)?(?:@100ms|@1000ms)?|ticker_(?:1h|4h|1d)|"
    r"kline_(?:1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M))$"
)
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
ID_TEXT_RE = re.compile(r"^[A-Za-z0-9]{1,36}$")
def _valid_id(value: Any) -> bool:
    """64-bit signed integer, alphanumeric string up to 36 characters, or null."""
    if value is None:
        return True
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and ID_TEXT_RE.match(value) is not None


class BinanceVenue(Venue):
    """Simulated Binance spot streams: SUBSCRIBE acks, combined or raw events, serverShutdown."""

    name = "binance"
    quote_currencies = frozenset({"USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB", "EUR", "TRY",
                                  "BRL"})
    timed_book_frames = False  # bookTicker carries no time

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:binance")
        self._by_native = {native_of(s): s for s in self.symbols}
        self._stream_symbol = {native_of(s).lower(): s for s in self.symbols}
        # Book update ids per symbol: they count every book change, not just the top's.
        self._update_ids = {s: self._rng.randrange(10**9, 5 * 10**10) for s in self.symbols}
        self._agg_ids = {s: self._rng.randrange(10**7, 10**9) for s in self.symbols}
        self._trade_ids = {s: self._rng.randrange(10**8, 10**10) for s in self.symbols}

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v3/exchangeInfo` as on api.binance.com."""
        return {"/api/v3/exchangeInfo": lambda: exchange_info(self.symbols, self.price_decimals)}

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Connections start in combined mode, like `/stream`, with no subscriptions."""
        client.state["combined"] = True
        client.state["streams"] = {}  # subscribed stream names, in subscription order
        client.state["recent"] = deque()  # monotonic times of recent incoming frames

    def _reply(self, client: Client, body: dict[str, Any]) -> None:
        self.send(client, dumps(body))

    def _error(self, client: Client, code: int, msg: str, req_id: Any = None,
               with_id: bool = True) -> None:
        body: dict[str, Any] = {"code": code, "msg": msg}
        if with_id:
            body["id"] = req_id
        self._reply(client, body)

    async def on_text(self, client: Client, text: str) -> None:
        """Answer the JSON control methods; errors carry Binance's small code set (0-3)."""
        recent: deque[float] = client.state["recent"]
        now = time.monotonic()
        recent.append(now)
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) > MAX_MESSAGES_PER_S:
            await client.wait_drained(1.0)  # replies already due go out before the close
            await self.close(client, WSCloseCode.POLICY_VIOLATION, b"Too many requests")
            return
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as exc:
            self._error(client, 3, f"Invalid JSON: expected value at line {exc.lineno} "
                                   f"column {exc.colno}", with_id=False)
            return
        except RecursionError:
            self._error(client, 3, "Invalid JSON: recursion limit exceeded", with_id=False)
            return
        if not isinstance(msg, dict):
            self._error(client, 2, "Invalid request: expected a JSON object", with_id=False)
            return
        req_id = msg.get("id")
        if "id" not in msg or not _valid_id(req_id):
            self._error(client, 2, "Invalid request: request ID must be an unsigned integer, "
                                   "an alphanumeric string of at most 36 characters, or null",
                        req_id if _valid_id(req_id) else None)
            return
        method = msg.get("method")
        if method not in METHODS:
            variants = ", ".join(f"`{m}`" for m in METHODS)
            self._error(client, 2, f"Invalid request: unknown variant `{method}`, "
                                   f"expected one of {variants}", req_id)
            return
        params = msg.get("params", [])
        if method == "LIST_SUBSCRIPTIONS":
            self._reply(client, {"result": list(client.state["streams"]), "id": req_id})
        elif method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            self._subscription(client, method, params, req_id)
        else:
            self._property(client, method, params, req_id)

    def _subscription(self, client: Client, method: str, params: Any, req_id: Any) -> None:
        if not isinstance(params, list) or not params:
            self._error(client, 2, "Invalid request: `params` must be a non-empty list", req_id)
            return
        for name in params:
            if not isinstance(name, str):
                self._error(client, 1, "Invalid value type: expected String", req_id)
                return
            if STREAM_RE.match(name) is None:
                self._error(client, 2, f"Invalid request: invalid stream name `{name}`", req_id)
                return
        streams: dict[str, None] = client.state["streams"]
        if method == "SUBSCRIBE":
            if len(streams.keys() | set(params)) > MAX_STREAMS:
                self._error(client, 2, f"Invalid request: at most {MAX_STREAMS} streams "
                                       "per connection", req_id)
                return
            for name in params:
                streams[name] = None
                self.topics.add(self._key(client, name), client)
        else:
            for name in params:
                streams.pop(name, None)
                self.topics.remove(self._key(client, name), client)
        self._reply(client, {"result": None, "id": req_id})
        if method == "SUBSCRIBE" and any(self._carries_data(name) for name in params):
            self.subscribed(client)

    def _property(self, client: Client, method: str, params: Any, req_id: Any) -> None:
        if not isinstance(params, list) or not params or params[0] != "combined":
            self._error(client, 0, "Unknown property", req_id)
            return
        if method == "GET_PROPERTY":
            self._reply(client, {"result": client.state["combined"], "id": req_id})
            return
        if len(params) != 2 or not isinstance(params[1], bool):
            self._error(client, 1, "Invalid value type: expected Boolean", req_id)
            return
        if params[1] != client.state["combined"]:
            # Move every subscription to the topic key of the new envelope.
            for name in client.state["streams"]:
                self.topics.remove(self._key(client, name), client)
            client.state["combined"] = params[1]
            for name in client.state["streams"]:
                self.topics.add(self._key(client, name), client)
        self._reply(client, {"result": None, "id": req_id})

    @staticmethod
    def _key(client: Client, stream: str) -> str:
        return stream if client.state["combined"] else RAW + stream

    def _carries_data(self, stream: str) -> bool:
        symbol, _, kind = stream.partition("@")
        return symbol in self._stream_symbol and kind in DATA_KINDS

    def active_symbols(self) -> list[str]:
        """Symbols whose bookTicker stream has a subscriber, combined or raw."""
        active = []
        for symbol in self.symbols:
            stream = f"{native_of(symbol).lower()}@bookTicker"
            if self.topics.has(stream) or self.topics.has(RAW + stream):
                active.append(symbol)
        return active

    def reconnect_frame(self, client: Client) -> str:
        """The `serverShutdown` event Binance sends before a planned disconnect."""
        event = f'{{"e":"serverShutdown","E":{time.time_ns() // 1_000_000}}}'
        if client.state.get("combined", True):
            return f'{{"stream":"!serverShutdown","data":{event}}}'
        return event

    # --- frames -------------------------------------------------------------------------

    def _outgoing(self, stream: str, data: str) -> list[Outgoing]:
        """The event for combined subscribers (wrapped) and raw ones (bare), when there are any."""
        frames: list[Outgoing] = []
        combined = self.topics.get(stream)
        if combined:
            frames.append((f'{{"stream":"{stream}","data":{data}}}', combined))
        raw = self.topics.get(RAW + stream)
        if raw:
            frames.append((data, raw))
        return frames

    def render(self, change: Change) -> list[Outgoing]:
        """One bookTicker event per change (plus aggTrade / trade events for a trade)."""
        symbol = change.symbol
        native = native_of(symbol)
        stream_symbol = native.lower()
        # Deeper levels change too between two top changes: ids advance by more than one.
        self._update_ids[symbol] += self._rng.randint(1, 40)
        top = change.top
        data = (
            f'{{"u":{self._update_ids[symbol]},"s":"{native}","b":"{top.bid:.8f}",'
            f'"B":"{top.bid_size:.8f}","a":"{top.ask:.8f}","A":"{top.ask_size:.8f}"}}'
        )
        frames = self._outgoing(f"{stream_symbol}@bookTicker", data)
        if change.trade is not None:
            frames += self._trade_frames(symbol, native, change.trade)
        return frames

    def _trade_frames(self, symbol: str, native: str, trade: Trade) -> list[Outgoing]:
        stream_symbol = native.lower()
        ms = trade.ts_us // 1000
        # `m`: the buyer was the maker, i.e. a sell order took the bid (side 1).
        maker = "true" if trade.side == 1 else "false"
        price = f"{trade.price:.8f}"
        amount = f"{trade.amount:.8f}"
        frames: list[Outgoing] = []
        agg_stream = f"{stream_symbol}@aggTrade"
        trade_stream = f"{stream_symbol}@trade"
        self._agg_ids[symbol] += 1
        first = self._trade_ids[symbol] + 1
        self._trade_ids[symbol] = first
        if self.topics.has(agg_stream) or self.topics.has(RAW + agg_stream):
            data = (
                f'{{"e":"aggTrade","E":{ms},"s":"{native}","a":{self._agg_ids[symbol]},'
                f'"p":"{price}","q":"{amount}","f":{first},"l":{first},"T":{ms},'
                f'"m":{maker},"M":true}}'
            )
            frames += self._outgoing(agg_stream, data)
        if self.topics.has(trade_stream) or self.topics.has(RAW + trade_stream):
            data = (
                f'{{"e":"trade","E":{ms},"s":"{native}","t":{first},"p":"{price}",'
                f'"q":"{amount}","T":{ms},"m":{maker},"M":true}}'
            )
            frames += self._outgoing(trade_stream, data)
        return frames
