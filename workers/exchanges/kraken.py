"""Kraken Spot WebSocket v2 adapter: the `ticker` channel with `event_trigger: "bbo"`.

Protocol notes (docs/protocols.md): prices and sizes are JSON numbers, times are RFC 3339
strings with µs or ns digits, acks come one per symbol, the server sends a `heartbeat` about once
a second when idle, and v2 wants ISO symbols (`BTC/USD`) where the REST listing's `wsname` still
uses v1 codes (`XBT/USD`, `XDG/USD`). The recorded session (websocket v1 `book-1000`, CRC32
checksums) is replayed through `kraken_v1book`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import json_number as _number
from workers.exchanges.fields import number_top, parse_rfc3339_ns
from workers.exchanges.kraken_v1book import KrakenV1Books, wsname_market

# Kraken publishes no per-request symbol limit; modest batches keep each frame small and the
# per-symbol acks of one request few.
_SYMBOLS_PER_FRAME = 50
class KrakenAdapter(KrakenV1Books, Adapter):
    """Kraken spot v2: ticker snapshots/updates in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "kraken"
    ws_url: ClassVar[str] = "wss://ws.kraken.com/v2"
    rest_url: ClassVar[str] = "https://api.kraken.com"
    markets_path: ClassVar[str] = "/0/public/AssetPairs"
    # Kraken sends a heartbeat every second when nothing else is sent, so 10 s of silence means
    # a dead connection; the ping keeps Kraken's own ~60 s inactivity timer from firing.
    watchdog_s: ClassVar[float] = 10.0
    ping_interval_s: ClassVar[float] = 20.0

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._req_id = 0
        # `system` from the latest status frame (`online`, `maintenance`, ...).
        self.system_status: str | None = None
        # Replay of recorded v1 `book-N` traffic: the local book per v2 symbol.
        self._v1_books = {}

    @classmethod
    def market_entries(cls, payload: Any) -> Iterable[Any]:
        """`/0/public/AssetPairs` → the pair objects of its `result`.

        {"error": [], "result": {"XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD",
         "base": "XXBT", "quote": "ZUSD", "status": "online", ...}}}
        A non-empty `error` raises ValueError (the caller retries).
        """
        if not isinstance(payload, dict):
            raise ValueError(f"expected an AssetPairs object, got {type(payload).__name__}")
        errors = payload.get("error")
        if errors:
            text = "; ".join(map(str, errors)) if isinstance(errors, list) else str(errors)
            raise ValueError(f"kraken AssetPairs error: {text}")
        result = payload.get("result")
        if not isinstance(result, dict):
            raise ValueError("kraken AssetPairs payload has no `result` object")
        return result.values()

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """An online pair keyed by its v2 symbol (`BTC/USD`, not `XBT/USD`)."""
        # `.d` dark-pool pairs have no wsname: they are not on the websocket at all.
        wsname = entry.get("wsname")
        if not wsname:
            return None
        # Newer listings carry a status; only `online` pairs take taker orders.
        if entry.get("status", "online") != "online":
            return None
        return wsname_market(wsname)

    def _next_req_id(self) -> int:
        """A fresh request id, so acks and pongs can be told apart in logs."""
        self._req_id += 1
        return self._req_id

    def subscribe_messages(self) -> list[str]:
        """`ticker` subscriptions with the bbo trigger, at most 50 symbols per frame."""
        return self.chunked_frames(list(self.markets), _SYMBOLS_PER_FRAME, lambda chunk: {
            "method": "subscribe",
            "params": {"channel": "ticker", "symbol": chunk, "event_trigger": "bbo",
                       "snapshot": True},
            "req_id": self._next_req_id(),
        })

    def on_connect(self) -> None:
        """v1 books belong to one connection: a new one sends new snapshots."""
        super().on_connect()
        self._v1_books.clear()

    def ping_message(self) -> str | None:
        """`{"method":"ping","req_id":N}`; any request resets Kraken's inactivity timer."""
        return json.dumps({"method": "ping", "req_id": self._next_req_id()}, separators=(",", ":"))

    def on_message(self, text: str, received_ns: int) -> Events:
        """Read one frame; return the events it produced. Never raises on bad input."""
        if text[:1] == "[":  # v1 channel frames (recordings) are arrays; v2 sends objects
            return self.on_v1_frame(text, received_ns)
        msg = self.decode_object(text)
        if msg is None:
            return []
        try:
            channel = msg.get("channel")
            if channel == "ticker":
                if msg["type"] not in ("snapshot", "update"):
                    return self.reject("bad_field")
                return self._on_ticker(msg["data"], received_ns)
            if channel == "heartbeat":
                return []
            if channel == "status":
                return self._on_status(msg["data"])
            if channel is not None:
                return self.reject("unknown_channel")
            if "event" in msg:
                return self.on_v1_event(msg)
            return self._on_response(msg)
        except _SHAPE_ERRORS:
            return self.reject("bad_field")

    def _on_ticker(self, entries: Any, received_ns: int) -> Events:
        """Ticker entries → Quotes for the symbols whose top of book changed.

        {"channel": "ticker", "type": "update",
         "data": [{"symbol": "BTC/USD", "bid": 64010.1, "bid_qty": 0.53211, "ask": 64010.2,
                   "ask_qty": 1.204, "last": 64010.2, "volume": 1523.4412561, "vwap": 63880.4,
                   "low": 63101.0, "high": 64550.0, "change": 712.3, "change_pct": 1.12,
                   "timestamp": "2026-01-01T00:00:01.234567Z"}]}
        """
        return self.each_entry(entries, self._ticker_entry, received_ns)

    def _ticker_entry(self, entry: Any, received_ns: int) -> Quote | None:
        """One ticker entry → a Quote, or None when unusable (counted) or unchanged."""
        symbol = entry["symbol"]
        market = self.markets.get(symbol)
        if market is None:
            self.reject("unknown_market")
            return None
        top = number_top(entry["bid"], entry["bid_qty"], entry["ask"], entry["ask_qty"])
        last = entry.get("last")
        if last is not None:
            last = _number(last)
        stamp = entry.get("timestamp")
        ts_ns = None
        if stamp is not None:
            if type(stamp) is not str:
                raise TypeError("timestamp is not a string")
            ts_ns = parse_rfc3339_ns(stamp)
        if top[0] >= top[2]:
            self.reject("crossed_book")
            return None
        if not self.top_changed(symbol, top):
            return None
        return Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                     last, ts_ns, received_ns)

    def _on_status(self, entries: Any) -> Events:
        """A status frame: anything but `online` means reconnect (maintenance, cancel_only...).

        {"channel": "status", "type": "update",
         "data": [{"api_version": "v2", "connection_id": 12345678901234567890,
                   "system": "online", "version": "2.0.10"}]}
        """
        system = entries[0]["system"]
        if type(system) is not str:
            raise TypeError("status system is not a string")
        self.system_status = system
        if system != "online":
            return self.reconnect(f"status_{system}")
        return []

    def _on_response(self, msg: dict[str, Any]) -> Events:
        """A reply to one of our requests (subscribe ack or error, pong), keyed by `method`.

        {"method": "subscribe", "success": false, "error": "Currency pair not supported FOO/USD",
         "symbol": "FOO/USD", "time_in": "2026-01-01T00:00:00.201000Z",
         "time_out": "2026-01-01T00:00:00.201040Z", "req_id": 7}
        """
        method = msg.get("method")
        success = msg.get("success")
        if method == "pong":
            return []
        if method in ("subscribe", "unsubscribe"):
            if success is not False and "error" not in msg:
                return []
            return self.venue_error(str(msg.get("error")), f"{method}_error")
        if success is False or "error" in msg:
            # A reply to a request we do not recognise, or a bare error (e.g. rate limit).
            return self.venue_error(str(msg.get("error")))
        return self.reject("unknown_event")
