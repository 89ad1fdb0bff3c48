"""Kraken Spot WebSocket v2: status on connect, per-symbol acks, `ticker` frames, heartbeats."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from simulator.prices import (
    Change,
    Market,
    Top,
    base_usd_price,
    default_price_decimals,
    start_price,
)
from simulator.venues.base import (
    Client,
    Outgoing,
    Venue,
    dumps,
    now_rfc3339,
    split_pair,
)

API_VERSION = "v2"
SERVER_VERSION = "2.0.10"
HEARTBEAT = '{"channel":"heartbeat"}'
TRIGGERS = ("bbo", "trades")

# REST (v1) naming: Kraken still lists BTC as XBT and DOGE as XDG; v2 websocket names use ISO codes.
V1_NAMES = {"BTC": "XBT", "DOGE": "XDG"}
ASSET_IDS = {
    "BTC": "XXBT",
    "ETH": "XETH",
    "LTC": "XLTC",
    "XRP": "XXRP",
    "XLM": "XXLM",
    "XMR": "XXMR",
    "ETC": "XETC",
    "ZEC": "XZEC",
    "DOGE": "XXDG",
    "USD": "ZUSD",
    "EUR": "ZEUR",
    "GBP": "ZGBP",
    "CAD": "ZCAD",
    "JPY": "ZJPY",
    "AUD": "ZAUD",
}
LEGACY_BASES = ("BTC", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC")  # keys like XXBTZUSD
# Fee tiers as AssetPairs lists them: [30-day USD volume, percent]; 0.40 % taker at the base.
VOLUME_TIERS = (0, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
                10_000_000)  # fmt: skip
TAKER_FEES = [list(t) for t in zip(VOLUME_TIERS, (0.4, 0.35, 0.24, 0.22, 0.2, 0.18, 0.16, 0.14,
                                                  0.12, 0.1), strict=True)]  # fmt: skip
MAKER_FEES = [list(t) for t in zip(VOLUME_TIERS, (0.25, 0.2, 0.14, 0.12, 0.1, 0.08, 0.06, 0.04,
                                                  0.02, 0.0), strict=True)]  # fmt: skip
# Listed but not configured, so clients must filter; DOGE shows the XDG spelling.
EXTRA_PAIRS = ("DOGE-USD", "BTC-EUR", "ETH-EUR")


def ws_name(symbol: str) -> str:
    """`BTC-USD` → `BTC/USD` (v2 websocket symbol)."""
    base, quote = split_pair(symbol)
    return f"{base}/{quote}"


def asset_pair(symbol: str) -> tuple[str, dict[str, Any]]:
    """The AssetPairs key and entry for a normalized symbol, in Kraken's v1 spelling."""
    base, quote = split_pair(symbol)
    v1_base, v1_quote = V1_NAMES.get(base, base), V1_NAMES.get(quote, quote)
    altname = v1_base + v1_quote
    base_id, quote_id = ASSET_IDS.get(base, base), ASSET_IDS.get(quote, quote)
    key = base_id + quote_id if base in LEGACY_BASES and quote in ASSET_IDS else altname
    price = start_price(symbol)
    decimals = kraken_price_decimals(price)
    ordermin = 10.0 / base_usd_price(symbol)  # sizes are base units: USD value, not price
    ordermin = round(ordermin, -int(math.floor(math.log10(ordermin))))
    return key, {
        "altname": altname,
        "wsname": f"{v1_base}/{v1_quote}",
        "aclass_base": "currency",
        "base": base_id,
        "aclass_quote": "currency",
        "quote": quote_id,
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": decimals,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [2, 3] if base in LEGACY_BASES else [],
        "leverage_sell": [2, 3] if base in LEGACY_BASES else [],
        "fees": TAKER_FEES,
        "fees_maker": MAKER_FEES,
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": f"{ordermin:.10f}".rstrip("0").rstrip("."),
        "costmin": "0.5",
        "tick_size": f"{10.0**-decimals:.{decimals}f}",
        "status": "online",
    }


def kraken_price_decimals(price: float) -> int:
    """Kraken quotes high-priced pairs one decimal coarser (BTC/USD ticks by 0.1)."""
    return 1 if price >= 10_000 else default_price_decimals(price)


class _DayStats:
    """24 h statistics carried in every ticker frame, moved by simulated trades."""

    def __init__(self, rng: random.Random, price: float) -> None:
        self.open = price * (1.0 + rng.uniform(-0.03, 0.03))
        self.low = min(self.open, price) * (1.0 - rng.uniform(0.002, 0.02))
        self.high = max(self.open, price) * (1.0 + rng.uniform(0.002, 0.02))
        self.volume = rng.uniform(50e6, 150e6) / price
        self.notional = self.volume * rng.uniform(self.low, self.high)
        self.last: float | None = None

    def trade(self, price: float, amount: float) -> None:
        """Account for one trade."""
        self.last = price
        self.volume += amount
        self.notional += price * amount
        self.low = min(self.low, price)
        self.high = max(self.high, price)


class KrakenVenue(Venue):
    """Simulated Kraken v2: JSON-number tickers, snapshot-on-subscribe, idle heartbeats."""

    name = "kraken"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._by_ws_name = {ws_name(s): s for s in self.symbols}
        self._rng = random.Random(f"{seed}:kraken")
        self._stats = {s: _DayStats(self._rng, start_price(s)) for s in self.symbols}
        self._last_data: dict[str, str] = {}  # data object of the last emitted change, per symbol
        self._stamp_second = -1
        self._stamp_prefix = ""

    def price_decimals(self, symbol: str) -> int:
        """BTC/USD ticks by 0.1 on Kraken."""
        return kraken_price_decimals(start_price(symbol))

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /0/public/AssetPairs` as on api.kraken.com."""
        return {"/0/public/AssetPairs": self._asset_pairs}

    def _asset_pairs(self) -> dict[str, object]:
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        result = dict(asset_pair(s) for s in sorted([*self.symbols, *extras]))
        return {"error": [], "result": result}

    # --- protocol -----------------------------------------------------------------------

    def _status(self, client: Client, system: str) -> str:
        data = {
            "api_version": API_VERSION,
            "connection_id": client.state["connection_id"],
            "system": system,
            "version": SERVER_VERSION,
        }
        return dumps({"channel": "status", "type": "update", "data": [data]})

    async def on_open(self, client: Client) -> None:
        """Greet with a status message, as the real v2 endpoint does."""
        client.state["connection_id"] = self._rng.getrandbits(64)
        self.send(client, self._status(client, "online"))

    def reconnect_frame(self, client: Client) -> str:
        """Status `maintenance`: Kraken's way of telling clients to go away for a while."""
        return self._status(client, "maintenance")

    @staticmethod
    def _reply(body: dict[str, Any], time_in: str, req_id: Any) -> str:
        body["time_in"] = time_in
        body["time_out"] = now_rfc3339()
        if req_id is not None:
            body["req_id"] = req_id
        return dumps(body)

    def _fail(
        self, client: Client, method: Any, error: str, time_in: str, req_id: Any, **extra: Any
    ) -> None:
        body: dict[str, Any] = {"error": error, "method": method, "success": False, **extra}
        self.send(client, self._reply(body, time_in, req_id))

    async def on_text(self, client: Client, text: str) -> None:
        """Answer ping, subscribe and unsubscribe; error frames for everything else."""
        time_in = now_rfc3339()
        try:
            msg = json.loads(text)
        except ValueError:
            self._fail(client, None, "EGeneral:Invalid arguments", time_in, None)
            return
        if not isinstance(msg, dict):
            self._fail(client, None, "EGeneral:Invalid arguments", time_in, None)
            return
        method = msg.get("method")
        req_id = msg.get("req_id") if isinstance(msg.get("req_id"), int) else None
        if method == "ping":
            self.send(client, self._reply({"method": "pong"}, time_in, req_id))
            return
        if method not in ("subscribe", "unsubscribe"):
            self._fail(client, method, "Method not found", time_in, req_id)
            return
        params = msg.get("params")
        if not isinstance(params, dict):
            self._fail(client, method, "EGeneral:Invalid arguments", time_in, req_id)
            return
        if params.get("channel") != "ticker":
            # Only the ticker channel is simulated; other real channels are refused the same way.
            error = "EGeneral:Invalid arguments:params.channel"
            self._fail(client, method, error, time_in, req_id)
            return
        symbols = params.get("symbol")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) for s in symbols)
        ):
            error = "EGeneral:Invalid arguments:params.symbol"
            self._fail(client, method, error, time_in, req_id)
            return
        trigger = params.get("event_trigger", "trades")
        snapshot = params.get("snapshot", True)
        if trigger not in TRIGGERS or not isinstance(snapshot, bool):
            self._fail(client, method, "EGeneral:Invalid arguments", time_in, req_id)
            return
        for name in symbols:
            if method == "subscribe":
                self._subscribe(client, name, trigger, snapshot, time_in, req_id)
            else:
                self._unsubscribe(client, name, time_in, req_id)

    def _subscribe(
        self, client: Client, name: str, trigger: str, snapshot: bool, time_in: str, req_id: Any
    ) -> None:
        symbol = self._by_ws_name.get(name)
        if symbol is None:
            # v1 names such as XBT/USD land here too: v2 rejects them.
            error = f"Currency pair not supported {name}"
            self._fail(client, "subscribe", error, time_in, req_id, symbol=name)
            return
        for other in TRIGGERS:
            self.topics.remove(f"{other}:{symbol}", client)
        self.topics.add(f"{trigger}:{symbol}", client)
        result = {
            "channel": "ticker",
            "event_trigger": trigger,
            "snapshot": snapshot,
            "symbol": name,
        }
        ack = {"method": "subscribe", "result": result, "success": True}
        self.send(client, self._reply(ack, time_in, req_id))
        last = self._last_data.get(symbol)
        if snapshot and last is not None:
            # Exactly the last emitted change (same values and timestamp): nothing new to store.
            self.send(client, f'{{"channel":"ticker","type":"snapshot","data":[{last}]}}')
        self.subscribed(client)

    def _unsubscribe(self, client: Client, name: str, time_in: str, req_id: Any) -> None:
        symbol = self._by_ws_name.get(name)
        trigger = None
        if symbol is not None:
            for candidate in TRIGGERS:
                if self.topics.remove(f"{candidate}:{symbol}", client):
                    trigger = candidate
        if trigger is None:
            self._fail(
                client, "unsubscribe", "Subscription Not Found", time_in, req_id, symbol=name
            )
            return
        result = {"channel": "ticker", "event_trigger": trigger, "symbol": name}
        ack = {"method": "unsubscribe", "result": result, "success": True}
        self.send(client, self._reply(ack, time_in, req_id))

    def active_symbols(self) -> list[str]:
        """Symbols with a `bbo` subscriber: only those get top-of-book updates."""
        return [s for s in self.symbols if self.topics.has(f"bbo:{s}")]

    def idle_frame(self, client: Client) -> str | None:
        """`{"channel":"heartbeat"}` once a second of silence, after a first subscription."""
        return HEARTBEAT if client.has_subscribed else None

    # --- frames -------------------------------------------------------------------------

    def _stamp(self, ts_us: int) -> str:
        """RFC 3339 with µs; the date part is cached per second because formatting it is slow."""
        second, micros = divmod(ts_us, 1_000_000)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._stamp_prefix}.{micros:06d}Z"

    def _data(self, symbol: str, top: Top, ts_us: int) -> str:
        stats = self._stats[symbol]
        if stats.last is None:
            stats.last = top.ask
        decimals = self.market.book(self.name, symbol).decimals
        last = round(stats.last, decimals)
        change = round(last - stats.open, decimals)
        change_pct = round(100.0 * (last / stats.open - 1.0), 2)
        vwap = round(stats.notional / stats.volume, decimals)
        return (
            f'{{"symbol":"{ws_name(symbol)}","bid":{top.bid!r},"bid_qty":{top.bid_size!r},'
            f'"ask":{top.ask!r},"ask_qty":{top.ask_size!r},"last":{last!r},'
            f'"volume":{round(stats.volume, 8)!r},"vwap":{vwap!r},'
            f'"low":{round(stats.low, decimals)!r},"high":{round(stats.high, decimals)!r},'
            f'"change":{change!r},"change_pct":{change_pct!r},"timestamp":"{self._stamp(ts_us)}"}}'
        )

    def render(self, change: Change) -> list[Outgoing]:
        """A ticker `update` for bbo subscribers; trade-triggered subscribers get trades only."""
        symbol = change.symbol
        data = self._data(symbol, change.top, change.ts_us)
        self._last_data[symbol] = data
        frames: list[Outgoing] = [
            (
                f'{{"channel":"ticker","type":"update","data":[{data}]}}',
                self.topics.get(f"bbo:{symbol}"),
            )
        ]
        trade = change.trade
        if trade is not None:
            self._stats[symbol].trade(trade.price, trade.amount)
            subscribers = self.topics.get(f"trades:{symbol}")
            if subscribers:
                trade_data = self._data(symbol, change.top, trade.ts_us)
                text = f'{{"channel":"ticker","type":"update","data":[{trade_data}]}}'
                frames.append((text, subscribers))
        return frames
