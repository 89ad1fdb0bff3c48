"""OKX API v5 public WebSocket: per-arg acks, `tickers` and `trades`, text ping/pong, notices.

Every value on the wire is a string, `ts` in Unix ms. A new `tickers` subscriber gets the latest
ticker at once (the 2022 recording shows a ticker stamped before the subscription arriving right
after the ack); it repeats the last emitted change, timestamp included, so it is no new point.
Timestamps are ms, so each instrument keeps a ms clock of its own that moves at least 1 ms per
change: strictly rising even when several changes fall in one ms (at more than 1,000 changes per
second per instrument it runs ahead of the wall clock; the real channel pushes at most every
100 ms).

Only non-USD-quoted spot pairs of the configured symbols are listed (USDT, USDC, EUR...): whether
any OKX stack lists BTC-USD is unconfirmed (docs/protocols.md).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price, start_price
from simulator.changes import Change, Top, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair

TICKERS = "tickers"
TRADES = "trades"
SIMULATED_CHANNELS = (TICKERS, TRADES)
EXTRA_PAIRS = ("OKB-USDT", "BTC-USDC", "ETH-USDT")
NOTICE_RECONNECT = "64008"
ERR_INVALID = "60012"
ERR_NO_CHANNEL = "60018"


def listed(symbol: str) -> bool:
    """OKX's global stack lists spot pairs quoted in USDT, USDC, crypto or EUR, not USD."""
    return split_pair(symbol)[1] != "USD"


def trim(value: float, decimals: int) -> str:
    """A decimal string without trailing zeros, as OKX writes them (`30236`, `30228.7`)."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class _DayStats:
    """24 h figures carried in every ticker, moved by simulated trades."""

    def __init__(self, rng: random.Random, price: float) -> None:
        self.open = price * (1.0 + rng.uniform(-0.03, 0.03))
        self.sod_utc0 = price * (1.0 + rng.uniform(-0.02, 0.02))
        self.sod_utc8 = price * (1.0 + rng.uniform(-0.02, 0.02))
        self.low = min(self.open, price) * (1.0 - rng.uniform(0.002, 0.02))
        self.high = max(self.open, price) * (1.0 + rng.uniform(0.002, 0.02))
        self.volume = rng.uniform(5e6, 15e6) / price
        self.notional = self.volume * price
        self.last: float | None = None
        self.last_size = 0.0

    def trade(self, price: float, amount: float) -> None:
        self.last, self.last_size = price, amount
        self.volume += amount
        self.notional += price * amount
        self.low = min(self.low, price)
        self.high = max(self.high, price)


class OkxVenue(Venue):
    """Simulated OKX v5 public websocket and spot instrument list."""

    name = "okx"
    quote_currencies = frozenset({"USDT", "USDC", "BTC", "ETH", "EUR"})

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._instruments = [s for s in self.symbols if listed(s)]
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = set(self._instruments) | set(extras)
        self._extras = extras
        self._rng = random.Random(f"{seed}:okx")
        self._stats = {s: _DayStats(self._rng, start_price(s)) for s in self._instruments}
        self._ms: dict[str, int] = {}  # last ticker ms per instrument
        self._last_ticker: dict[str, str] = {}  # frame of the last emitted change
        self._trade_ids = self._rng.randrange(300_000_000, 400_000_000)

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v5/public/instruments` (the query `instType=SPOT` is implied)."""
        return {"/api/v5/public/instruments": self._instruments_body}

    def _instruments_body(self) -> dict[str, object]:
        data = [self._instrument(s) for s in sorted([*self._instruments, *self._extras])]
        return {"code": "0", "msg": "", "data": data}

    def _instrument(self, symbol: str) -> dict[str, str]:
        base, quote = split_pair(symbol)
        decimals = self.price_decimals(symbol)
        min_size = 10.0 / base_usd_price(symbol)
        return {
            "alias": "", "baseCcy": base, "category": "1", "ctMult": "", "ctType": "",
            "ctVal": "", "ctValCcy": "", "expTime": "", "instId": symbol, "instType": "SPOT",
            "lever": "10", "listTime": "1548133413000", "lotSz": "0.00000001",
            "maxIcebergSz": "9999999999", "maxLmtSz": "9999999999", "maxMktSz": "1000000",
            "maxStopSz": "1000000", "maxTriggerSz": "9999999999", "maxTwapSz": "9999999999",
            "minSz": trim(min_size, 8), "optType": "", "quoteCcy": quote, "settleCcy": "",
            "state": "live", "stk": "", "tickSz": trim(10.0**-decimals, decimals), "uly": "",
        }

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """OKX greets nobody; the connection id shows up in acks and errors."""
        client.state["okx_conn_id"] = f"{self._rng.getrandbits(32):08x}"

    def reconnect_frame(self, client: Client) -> str:
        """Notice 64008: the connection will soon be closed for an upgrade."""
        return dumps({"event": "notice", "code": NOTICE_RECONNECT,
                      "msg": "The connection will soon be closed for a service upgrade. "
                             "Please reconnect.",
                      "connId": client.state.get("okx_conn_id", "")})

    def _error(self, client: Client, code: str, message: str, req_id: Any = None) -> None:
        body: dict[str, Any] = {}
        if req_id is not None:
            body["id"] = req_id
        body.update({"event": "error", "code": code, "msg": message,
                     "connId": client.state.get("okx_conn_id", "")})
        self.send(client, dumps(body))

    async def on_text(self, client: Client, text: str) -> None:
        """Text `ping` → `pong`; subscribe/unsubscribe with one ack (or error) per arg."""
        if text == "ping":
            self.send(client, "pong")
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._error(client, ERR_INVALID, f"Invalid request: {text[:200]}")
            return
        req_id = msg.get("id") if isinstance(msg.get("id"), str) else None
        op, args = msg.get("op"), msg.get("args")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            self._error(client, ERR_INVALID, f"Invalid request: {text[:200]}", req_id)
            return
        for arg in args:
            self._one(client, op, arg, req_id)

    def _one(self, client: Client, op: str, arg: Any, req_id: Any) -> None:
        """One subscribe/unsubscribe arg: ack it, or the error OKX gives for a wrong one."""
        channel = arg.get("channel") if isinstance(arg, dict) else None
        inst = arg.get("instId") if isinstance(arg, dict) else None
        if channel not in SIMULATED_CHANNELS or inst not in self._listed:
            message = (f"Wrong URL or channel:{channel},instId:{inst} doesn't exist. Please use "
                       "the correct URL, channel and parameters referring to API document.")
            self._error(client, ERR_NO_CHANNEL, message, req_id)
            return
        key = f"{channel}:{inst}"
        ack: dict[str, Any] = {}
        if req_id is not None:
            ack["id"] = req_id
        ack.update({"event": op, "arg": {"channel": channel, "instId": inst},
                    "connId": client.state.get("okx_conn_id", "")})
        if op == "unsubscribe":
            self.topics.remove(key, client)
            self.send(client, dumps(ack))
            return
        self.send(client, dumps(ack))
        if inst not in self._stats:
            return  # a listed extra pair: acked, but it never changes here
        self.topics.add(key, client)
        if channel == TICKERS:
            last = self._last_ticker.get(inst)
            if last is not None:
                self.send(client, last)
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Instruments with a `tickers` subscriber."""
        return [s for s in self._instruments if self.topics.has(f"{TICKERS}:{s}")]

    # --- frames -------------------------------------------------------------------------

    def _next_ms(self, symbol: str, ts_us: int) -> int:
        """The change's time in ms, at least 1 ms after the instrument's previous one."""
        ms = max(ts_us // 1000, self._ms.get(symbol, 0) + 1)
        self._ms[symbol] = ms
        return ms

    def _ticker(self, symbol: str, top: Top, ms: int) -> str:
        stats = self._stats[symbol]
        decimals = self.market.book(self.name, symbol).decimals
        last = stats.last if stats.last is not None else top.ask
        last_size = stats.last_size or top.ask_size / 10.0
        fields = (
            ("instType", "SPOT"), ("instId", symbol), ("last", trim(last, decimals)),
            ("lastSz", trim(last_size, 8)), ("askPx", trim(top.ask, decimals)),
            ("askSz", trim(top.ask_size, 8)), ("bidPx", trim(top.bid, decimals)),
            ("bidSz", trim(top.bid_size, 8)), ("open24h", trim(stats.open, decimals)),
            ("high24h", trim(stats.high, decimals)), ("low24h", trim(stats.low, decimals)),
            ("sodUtc0", trim(stats.sod_utc0, decimals)),
            ("sodUtc8", trim(stats.sod_utc8, decimals)),
            ("volCcy24h", trim(stats.notional, 8)), ("vol24h", trim(stats.volume, 8)),
            ("ts", str(ms)),
        )
        data = ",".join(f'"{key}":"{value}"' for key, value in fields)
        return f'{{"arg":{{"channel":"tickers","instId":"{symbol}"}},"data":[{{{data}}}]}}'

    def _trade(self, symbol: str, trade: Trade, decimals: int) -> str:
        self._trade_ids += 1
        side = "buy" if trade.side == 0 else "sell"
        return (f'{{"arg":{{"channel":"trades","instId":"{symbol}"}},"data":[{{'
                f'"instId":"{symbol}","tradeId":"{self._trade_ids}",'
                f'"px":"{trim(trade.price, decimals)}","sz":"{trim(trade.amount, 8)}",'
                f'"side":"{side}","ts":"{trade.ts_us // 1000}"}}]}}')

    def render(self, change: Change) -> list[Outgoing]:
        """A `tickers` push for the change, and a `trades` push when a trade happened."""
        symbol = change.symbol
        # The instrument's ms clock runs on true time; a requested skew goes on top of it only.
        ms = self._next_ms(symbol, change.ts_us - change.skew_us) + change.skew_us // 1000
        text = self._ticker(symbol, change.top, ms)
        self._last_ticker[symbol] = text
        frames: list[Outgoing] = [(text, self.topics.get(f"{TICKERS}:{symbol}"))]
        trade = change.trade
        if trade is not None:
            self._stats[symbol].trade(trade.price, trade.amount)
            self.offer(frames, f"{TRADES}:{symbol}", lambda: self._trade(
                symbol, trade, self.market.book(self.name, symbol).decimals))
        return frames
