"""MEXC spot v3 public websocket: JSON requests and acks, protobuf book tickers in binary frames.

Served at `/mexc` (the real endpoint is wss://wbs-api.mexc.com/ws). Requests are
`{"method": "SUBSCRIPTION" | "UNSUBSCRIPTION" | "PING", "params": [...], "id": n}`. Valid
protobuf channels are acked with `{"id": n, "code": 0, "msg": "<channels, comma-joined>"}`;
others (the retired JSON channels, unknown symbols, past 30 subscriptions on a connection) are
refused with code 0 and msg "Not Subscribed successfully! [<channels>].  Reason： Blocked! ",
as MEXC answers. PING is answered with msg "PONG".

Data: `spot@public.aggre.bookTicker.v3.api.pb@(10ms|100ms)@SYM` and
`spot@public.bookTicker.batch.v3.api.pb@SYM` push one binary `PushDataV3ApiWrapper` per
top-of-book change (the real server coalesces changes per 10 or 100 ms window; here each change
is its own frame), stamped `sendTime` in ms. Nothing is sent on subscribe. MEXC never asks a
client to reconnect: it closes connections after 24 h, which `reconnect` simulates (a pong, then
a close). The texts for a bad request and for the subscription limit are made up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import WSCloseCode

from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps

# Symbols and quantities are spelled as on Bybit: BTCUSDT, decimals without trailing zeros.
from simulator.venues.bybit_listing import native_of, size_text
from simulator.venues.mexc_wire import (
    AGGRE,
    AGGRE_FIELD,
    BATCH,
    BATCH_FIELD,
    EXTRA_PAIRS,
    channel_symbol,
    exchange_info,
    length_field,
    listed,
    push,
    request_of,
    ticker,
)

MAX_SUBSCRIPTIONS = 30  # per connection
REFUSED = "Not Subscribed successfully! [{}].  Reason： Blocked! "
PONG = "PONG"
AGGRE_SPEEDS = ("10ms", "100ms")


class MexcVenue(Venue):
    """Simulated MEXC spot: acks and refusals as JSON text, book tickers as protobuf binary."""

    name = "mexc"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = [*self.symbols, *extras]
        self._listed_natives = {native_of(s) for s in self._listed}
        self._closing: set[asyncio.Task[None]] = set()

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v3/exchangeInfo` as on api.mexc.com."""
        return {"/api/v3/exchangeInfo": lambda: exchange_info(self._listed, self.price_decimals)}

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Each connection counts its own subscriptions against the limit."""
        client.state["mexc_subs"] = set()

    def _answer(self, client: Client, req_id: int, msg: str) -> None:
        self.send(client, dumps({"id": req_id, "code": 0, "msg": msg}))

    async def on_text(self, client: Client, text: str) -> None:
        """PING, SUBSCRIPTION and UNSUBSCRIPTION; an error answer for anything else."""
        msg = request_of(text)
        if msg is None:
            self._answer(client, 0, "Invalid request: not a JSON object")
            return
        raw_id = msg.get("id")
        req_id = raw_id if type(raw_id) is int and raw_id >= 0 else 0
        method, params = msg.get("method"), msg.get("params")
        if method == "PING":
            self._answer(client, req_id, PONG)
            return
        if method not in ("SUBSCRIPTION", "UNSUBSCRIPTION") or not isinstance(params, list) \
                or not params or not all(isinstance(p, str) for p in params):
            self._answer(client, req_id, f"Invalid request: {text[:200]}")
            return
        if method == "UNSUBSCRIPTION":
            for channel in params:
                client.state["mexc_subs"].discard(channel)
                self.topics.remove(channel, client)
            self._answer(client, req_id, ",".join(params))
            return
        self._subscribe(client, req_id, params)

    def _subscribe(self, client: Client, req_id: int, channels: list[str]) -> None:
        """Ack the valid channels that fit under the limit; refuse the rest in one answer."""
        subs: set[str] = client.state["mexc_subs"]
        good: list[str] = []
        bad: list[str] = []
        for channel in channels:
            symbol = channel_symbol(channel)
            fits = channel in subs or len(subs) < MAX_SUBSCRIPTIONS
            if symbol is None or symbol not in self._listed_natives or not fits:
                bad.append(channel)
                continue
            subs.add(channel)
            self.topics.add(channel, client)
            good.append(channel)
        if good:
            self._answer(client, req_id, ",".join(good))
        if bad:
            self._answer(client, req_id, REFUSED.format(",".join(bad)))
        if any(self._carries_data(channel) for channel in good):
            self.subscribed(client)

    def _carries_data(self, channel: str) -> bool:
        """True for a book ticker channel of a simulated symbol."""
        return channel.startswith((AGGRE, BATCH)) and channel_symbol(channel) in {
            native_of(s) for s in self.symbols}

    def _channels(self, symbol: str) -> list[tuple[str, int]]:
        """Every book ticker channel of `symbol` and its body field."""
        native = native_of(symbol)
        return [*((f"{AGGRE}{speed}@{native}", AGGRE_FIELD) for speed in AGGRE_SPEEDS),
                (f"{BATCH}{native}", BATCH_FIELD)]

    def active_symbols(self) -> list[str]:
        """Symbols with a book ticker subscriber."""
        return [s for s in self.symbols
                if any(self.topics.has(channel) for channel, _ in self._channels(s))]

    def reconnect_frame(self, client: Client) -> str:
        """MEXC has no reconnect request: the 24 h end of a connection, a pong then a close."""
        task = asyncio.get_running_loop().create_task(
            self.close(client, WSCloseCode.GOING_AWAY, b"connection expired"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return dumps({"id": 0, "code": 0, "msg": PONG})

    def fault(self, action: str) -> bool:
        """`garbage`: a text frame that is not JSON and a binary one that is not protobuf."""
        if action == "garbage":
            for client in list(self.clients):
                self.send(client, "\x00garbage{not json")
                self.send(client, b"\x0a\x7fgarbage")
            return True
        return False

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """One protobuf push per subscribed book ticker channel of the changed symbol."""
        symbol = change.symbol
        top = change.top
        decimals = self.market.book(self.name, symbol).decimals
        body = ticker(f"{top.bid:.{decimals}f}", size_text(top.bid_size),
                      f"{top.ask:.{decimals}f}", size_text(top.ask_size))
        send_ms = change.ts_us // 1000
        native = native_of(symbol)
        frames: list[Outgoing] = []
        for channel, field in self._channels(symbol):
            subscribers = self.topics.get(channel)
            if subscribers:  # built only for a channel someone follows
                payload = body if field == AGGRE_FIELD else length_field(1, body)
                frames.append((push(channel, native, field, payload, send_ms),
                               subscribers))
        return frames

    def oversize_frame(self, size: int) -> str:
        """A JSON answer of exactly `size` bytes that no client asked for."""
        head = '{"id":0,"code":0,"msg":"'
        return head + "x" * max(0, size - len(head) - 2) + '"}'
