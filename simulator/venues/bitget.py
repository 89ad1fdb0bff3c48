"""Bitget API v2 public websocket (spot): per-arg acks and errors, `books1`, text ping/pong.

Served at `/bitget` (the real endpoint is wss://ws.bitget.com/v2/ws/public). Requests are
`{"op": "subscribe" | "unsubscribe", "args": [{"instType": "SPOT", "channel": ..., "instId":
...}]}`, each arg acked `{"event": "subscribe", "arg": {...}}` or refused with an `error` event:
code 30001 for an instrument Bitget does not list, 30016 "Param error" for a channel or
instType it does not serve (the answer seen for a wrong channel name). Texts for a request that
is not JSON, and for passing 1,000 channels on a connection, are made up.

`books1` pushes one snapshot of the best level per top-of-book change (the real channel pushes
every 10 ms while the book moves), stamped `ts` in ms, strictly rising per instrument, with a
rising `seq`; a new subscriber first gets the last snapshot sent, as it was (no new point).
Other spot channels (`books`, `books5`, `books15`, `ticker`, `trade`, candles) are acked and
stay silent. More than 10 incoming messages in one clock second closes the connection, as on Bitget.
Bitget has no reconnect notice: connections are cut after 24 h, which `reconnect` simulates
(a pong, then a close).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode

from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair

# Symbols and sizes are spelled as on Bybit: BTCUSDT, and decimals without trailing zeros.
from simulator.venues.bybit_listing import native_of, size_text

BOOKS1 = "books1"
CHANNELS = frozenset({"books", BOOKS1, "books5", "books15", "ticker", "trade", "candle1m",
                      "candle5m", "candle15m", "candle30m", "candle1H", "candle4H", "candle1D"})
MAX_CHANNELS = 1000  # per connection
MAX_MESSAGES_PER_S = 10  # incoming, `ping` included
EXTRA_PAIRS = ("BGB-USDT", "SOL-USDT", "BTC-USDC")  # listed but not configured


def listed(symbol: str) -> bool:
    """Bitget spot quotes in USDT, USDC and crypto; no USD, KRW or JPY (EUR unconfirmed: out)."""
    return split_pair(symbol)[1] not in ("USD", "EUR", "KRW", "JPY")


class BitgetVenue(Venue):
    """Simulated Bitget v2 public websocket (spot) and its symbol list."""

    name = "bitget"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = [*self.symbols, *extras]
        self._listed_natives = {native_of(s) for s in self._listed}
        self._by_native = {native_of(s): s for s in self.symbols}
        rng = random.Random(f"{seed}:bitget")
        self._seq = {s: rng.randrange(10**9, 9 * 10**9) for s in self.symbols}
        self._ms: dict[str, int] = {}
        self._sent: dict[str, str] = {}  # the last books1 frame on the wire, per symbol
        self._last_rendered = ""
        self._closing: set[asyncio.Task[None]] = set()

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v2/spot/public/symbols` as on api.bitget.com."""
        return {"/api/v2/spot/public/symbols": self._symbols_body}

    def _symbols_body(self) -> dict[str, object]:
        rows = []
        for symbol in self._listed:
            base, quote = split_pair(symbol)
            rows.append({
                "symbol": base + quote, "baseCoin": base, "quoteCoin": quote,
                "minTradeAmount": "0", "maxTradeAmount": "900000000000000000000",
                "takerFeeRate": "0.001", "makerFeeRate": "0.001",
                "pricePrecision": str(self.price_decimals(symbol)), "quantityPrecision": "6",
                "quotePrecision": "8", "status": "online", "minTradeUSDT": "1",
                "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05",
                "areaSymbol": "no", "orderQuantity": "200", "openTime": "1532454360000",
                "offTime": ""})
        return {"code": "00000", "msg": "success", "requestTime": time.time_ns() // 1_000_000,
                "data": rows}

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Each connection counts its channels and its incoming messages."""
        client.state["bitget_subs"] = set()
        client.state["bitget_in"] = [0, 0]  # (second, messages in it)

    def _error(self, client: Client, code: int, msg: str, arg: Any = None,
               op: str | None = None) -> None:
        body: dict[str, Any] = {"event": "error"}
        if arg is not None:
            body["arg"] = arg
        body.update({"code": code, "msg": msg})
        if op is not None:
            body["op"] = op
        self.send(client, dumps(body))

    async def on_text(self, client: Client, text: str) -> None:
        """`ping` → `pong`; subscribe/unsubscribe with an ack (or error) per arg."""
        window: list[int] = client.state["bitget_in"]
        second = int(time.monotonic())
        window[:] = [second, window[1] + 1 if window[0] == second else 1]
        if window[1] > MAX_MESSAGES_PER_S:  # counted per clock second
            await self.close(client, WSCloseCode.POLICY_VIOLATION, b"too many messages")
            return
        if text == "ping":
            self.send(client, "pong")
            return
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            self._error(client, 30016, "Param error: not a JSON request")
            return
        op = msg.get("op") if isinstance(msg, dict) else None
        args = msg.get("args") if isinstance(msg, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            self._error(client, 30016, "Param error")
            return
        for arg in args:
            self._one(client, op, arg)

    def _one(self, client: Client, op: str, arg: Any) -> None:
        """One arg: ack it, or the error Bitget gives for it."""
        fields = arg if isinstance(arg, dict) else {}
        inst_type, channel, inst = (fields.get(k) for k in ("instType", "channel", "instId"))
        if inst_type != "SPOT" or channel not in CHANNELS:
            self._error(client, 30016, "Param error", arg, op)
            return
        if inst not in self._listed_natives:
            self._error(client, 30001,
                        f"instType:SPOT,channel:{channel},instId:{inst} doesn't exist", arg, op)
            return
        key = f"{channel}:{inst}"
        subs: set[str] = client.state["bitget_subs"]
        if op == "unsubscribe":
            subs.discard(key)
            self.topics.remove(key, client)
        elif key not in subs and len(subs) >= MAX_CHANNELS:
            self._error(client, 30016, f"Param error: more than {MAX_CHANNELS} channels", arg, op)
            return
        else:
            subs.add(key)
            self.topics.add(key, client)
        self.send(client, dumps({"event": op, "arg": {"instType": "SPOT", "channel": channel,
                                                      "instId": inst}}))
        if op == "subscribe" and channel == BOOKS1 and inst in self._by_native:
            last = self._sent.get(self._by_native[inst])
            if last is not None:
                self.send(client, last)
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Symbols with a `books1` subscriber."""
        return [s for s in self.symbols if self.topics.has(f"{BOOKS1}:{native_of(s)}")]

    def reconnect_frame(self, client: Client) -> str:
        """No reconnect notice on Bitget: the 24 h cut of a connection, a pong then a close."""
        task = asyncio.get_running_loop().create_task(
            self.close(client, WSCloseCode.GOING_AWAY, b"24h"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return "pong"

    # --- frames -------------------------------------------------------------------------

    def wire_mark(self, symbol: str) -> object:
        """The books1 frame just rendered."""
        return self._last_rendered

    def on_sent(self, symbol: str, mark: object) -> None:
        """Late subscribers get this frame from now on."""
        if isinstance(mark, str) and mark:
            self._sent[symbol] = mark

    def render(self, change: Change) -> list[Outgoing]:
        """One `books1` snapshot of the changed instrument."""
        symbol, top = change.symbol, change.top
        true_ms = (change.ts_us - change.skew_us) // 1000
        # Strictly rising per instrument on true time; a requested skew goes on top of it.
        ms = self._ms[symbol] = max(true_ms, self._ms.get(symbol, 0) + 1)
        ms += change.skew_us // 1000
        self._seq[symbol] += 1
        decimals = self.market.book(self.name, symbol).decimals
        native = native_of(symbol)
        text = (f'{{"action":"snapshot","arg":{{"instType":"SPOT","channel":"{BOOKS1}",'
                f'"instId":"{native}"}},"data":[{{"asks":[["{top.ask:.{decimals}f}",'
                f'"{size_text(top.ask_size)}"]],"bids":[["{top.bid:.{decimals}f}",'
                f'"{size_text(top.bid_size)}"]],"checksum":0,"seq":{self._seq[symbol]},'
                f'"ts":"{ms}"}}],"ts":{ms}}}')
        self._last_rendered = text
        return [(text, self.topics.get(f"{BOOKS1}:{native}"))]
