"""Kraken Spot WebSocket v2: status on connect, per-symbol acks, `ticker` frames, heartbeats."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from simulator.assets import start_price
from simulator.changes import Change, Top
from simulator.prices import Market
from simulator.venues.base import (
    Client,
    Outgoing,
    Stamper,
    Venue,
    dumps,
    now_rfc3339,
    split_pair,
)
from simulator.venues.daystats import DayStats
from simulator.venues.kraken_pairs import asset_pairs, kraken_price_decimals

API_VERSION = "v2"
SERVER_VERSION = "2.0.10"
HEARTBEAT = '{"channel":"heartbeat"}'
TRIGGERS = ("bbo", "trades")

def ws_name(symbol: str) -> str:
    """`BTC-USD` → `BTC/USD` (v2 websocket symbol)."""
    base, quote = split_pair(symbol)
    return f"{base}/{quote}"


class _Stats(DayStats):
    """The day's figures, with a notional drawn inside the day's range (Kraken sends a VWAP)."""

    def __init__(self, rng: random.Random, price: float) -> None:
        super().__init__(rng, price, (50e6, 150e6))
        self.notional = self.volume * rng.uniform(self.low, self.high)


class KrakenVenue(Venue):
    """Simulated Kraken v2: JSON-number tickers, snapshot-on-subscribe, idle heartbeats."""

    name = "kraken"
    quote_currencies = frozenset({"USD", "EUR", "GBP", "JPY", "CAD", "CHF", "AUD", "USDT", "USDC",
                                  "BTC", "ETH"})

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._by_ws_name = {ws_name(s): s for s in self.symbols}
        self._rng = random.Random(f"{seed}:kraken")
        self._stats = {s: _Stats(self._rng, start_price(s)) for s in self.symbols}
        self._last_data: dict[str, str] = {}  # data object of the last emitted change, per symbol
        self._stamp = Stamper()

    def price_decimals(self, symbol: str) -> int:
        """BTC/USD ticks by 0.1 on Kraken."""
        return kraken_price_decimals(start_price(symbol))

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /0/public/AssetPairs` as on api.kraken.com."""
        return {"/0/public/AssetPairs": self._asset_pairs}

    def _asset_pairs(self) -> dict[str, object]:
        return asset_pairs(self.symbols)

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
