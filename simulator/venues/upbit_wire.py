"""The Upbit-shaped quotation websocket, served by the Upbit and Bithumb twins.

One request frame `[{"ticket"}, {"type", "codes"}..., {"format"}]` replaces whatever the
connection followed; no ack. Each `orderbook` code may carry a unit count (`KRW-BTC.15`; the
counts served are the venue's `UNIT_COUNTS`, any other gives 30). A new book subscriber gets the
book as last sent (`SNAPSHOT`), then every change as the whole book (`REALTIME`); trades go out
as they happen. Every frame is binary UTF-8 JSON in the client's key set (`DEFAULT` or
`SIMPLE`). The text `PING` is answered with `{"status":"UP"}`; a bad request with
`{"error":{"name","message"}}`, the socket kept open.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from simulator.assets import base_usd_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps, split_pair
from simulator.venues.ladder import Ladder

MAX_UNITS = 30
TYPES = ("orderbook", "trade", "ticker")
FORMATS = ("DEFAULT", "SIMPLE")
# (DEFAULT key, SIMPLE key) of every field sent.
_KEYS = {
    "type": "ty", "code": "cd", "timestamp": "tms", "total_ask_size": "tas",
    "total_bid_size": "tbs", "orderbook_units": "obu", "ask_price": "ap", "ask_size": "as",
    "bid_price": "bp", "bid_size": "bs", "stream_type": "st", "level": "lv",
    "trade_date": "td", "trade_time": "ttm", "trade_timestamp": "ttms", "trade_price": "tp",
    "trade_volume": "tv", "ask_bid": "ab", "sequential_id": "sid",
}
Levels = list[tuple[float, float]]
Sent = tuple[Levels, Levels, int]  # bids, asks (best first) and the book's ms time


def native_of(symbol: str) -> str:
    """`BTC-KRW` → `KRW-BTC`: quote first."""
    base, quote = split_pair(symbol)
    return f"{quote}-{base}"


def keyed(fields: dict[str, Any], simple: bool) -> dict[str, Any]:
    """`fields` (DEFAULT names) under the SIMPLE names when `simple`; nested units too."""
    if not simple:
        return fields
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if type(value) is list:
            value = [keyed(unit, True) for unit in value]
        out[_KEYS[key]] = value
    return out


def request_error(name: str, message: str) -> bytes:
    """The error frame for a refused request."""
    return dumps({"error": {"name": name, "message": message}}).encode()


class UpbitShapedVenue(Venue):
    """The protocol; a venue subclass sets `name`, `QUOTES` (listed quotes) and `LEVEL`."""

    QUOTES: ClassVar[tuple[str, ...]] = ()
    EXTRA_MARKETS: ClassVar[tuple[str, ...]] = ()  # listed, never simulated: clients filter
    LEVEL: ClassVar[float] = 0  # the `level` (grouping unit) a book frame reports
    UNIT_COUNTS: ClassVar[tuple[int, ...]] = (1, 5, 15, 30)  # `code.N` served; others: 30

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if self.listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:{self.name}")
        self._ladders = {s: Ladder(self.price_decimals(s), self._rng, 5000.0 / base_usd_price(s),
                                   lambda size: f"{size:.8f}", "0", MAX_UNITS)
                         for s in self.symbols}
        self._by_native = {native_of(s): s for s in self.symbols}
        self._ms: dict[str, int] = {}
        self._rendered: dict[str, Sent] = {}
        self._sent: dict[str, Sent] = {}  # the book as last put on the wire, for snapshots
        self._trade_ids = self._rng.randrange(10**15, 9 * 10**15)

    @classmethod
    def listed(cls, symbol: str) -> bool:
        """The venue lists markets quoted in `QUOTES` only."""
        return split_pair(symbol)[1] in cls.QUOTES

    def price_decimals(self, symbol: str) -> int:
        """KRW prices of anything above 10 are whole won."""
        decimals = super().price_decimals(symbol)
        return 0 if split_pair(symbol)[1] == "KRW" and decimals <= 2 else decimals

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v1/market/all`."""
        return {"/v1/market/all": self._market_list}

    def _market_list(self) -> list[dict[str, Any]]:
        extras = [m for m in self.EXTRA_MARKETS if m not in self._by_native][:2]
        return [self.market_entry(native) for native in [*self._by_native, *extras]]

    def market_entry(self, native: str) -> dict[str, Any]:
        """One listing entry."""
        base = native.partition("-")[2]
        return {"market": native, "korean_name": base, "english_name": base}

    # --- protocol -----------------------------------------------------------------------

    def reconnect_frame(self, client: Client) -> str:
        """Neither venue asks clients to reconnect: the harmless status frame stands in."""
        return '{"status":"UP"}'

    def active_symbols(self) -> list[str]:
        """Symbols with a book subscriber."""
        return [s for s in self.symbols if self.topics.has(f"orderbook:{s}")]

    async def on_text(self, client: Client, text: str) -> None:
        """`PING`, or one request replacing the connection's subscriptions."""
        if text == "PING":
            self.send_bytes(client, b'{"status":"UP"}')
            return
        try:
            request = json.loads(text)
        except (ValueError, RecursionError):
            request = None
        if type(request) is not list or not all(type(part) is dict for part in request):
            self.send_bytes(client, request_error("WRONG_FORMAT", "Requested using wrong format"))
            return
        tickets = [p["ticket"] for p in request if "ticket" in p]
        if not tickets or type(tickets[0]) is not str or not tickets[0]:
            self.send_bytes(client, request_error("NO_TICKET", "Ticket field must be contained."))
            return
        formats = [p["format"] for p in request if "format" in p] or ["DEFAULT"]
        if formats[0] not in FORMATS:
            self.send_bytes(client, request_error("INVALID_PARAM",
                                            f"format {formats[0]} is not supported."))
            return
        types = [p for p in request if "type" in p]
        problem = self._types_problem(types)
        if problem is not None:
            self.send_bytes(client, request_error(*problem))
            return
        self._subscribe(client, types, formats[0] == "SIMPLE")

    def _types_problem(self, types: list[dict[str, Any]]) -> tuple[str, str] | None:
        """The error Upbit gives for these type fields, or None when they are usable."""
        if not types:
            return "NO_TYPE", "type field not exists."
        for part in types:
            if part["type"] not in TYPES:
                return "INVALID_PARAM", f"type {part['type']} is not supported."
            if "codes" not in part:
                return "NO_CODES", "codes field not exists."
            codes = part["codes"]
            if type(codes) is not list or not all(type(c) is str for c in codes):
                return "WRONG_FORMAT", "Requested using wrong format"
            if not codes:
                return "INVALID_PARAM", "codes field is empty."
        return None

    def _subscribe(self, client: Client, types: list[dict[str, Any]], simple: bool) -> None:
        """Replace the client's subscriptions; send each new book subscriber its snapshot."""
        self.topics.drop(client)
        units: dict[str, int] = {}
        client.state["upbit_simple"] = simple
        client.state["upbit_units"] = units
        for part in types:
            realtime = part.get("is_only_snapshot", part.get("isOnlySnapshot")) is not True
            snapshot = part.get("is_only_realtime", part.get("isOnlyRealtime")) is not True
            for code in part["codes"]:
                native, _, count = code.partition(".")
                symbol = self._by_native.get(native)
                if symbol is None or part["type"] == "ticker":
                    continue  # unknown codes (and tickers, not simulated) send nothing
                if part["type"] == "orderbook":
                    asked = int(count) if count.isdecimal() else 0
                    units[symbol] = asked if asked in self.UNIT_COUNTS else MAX_UNITS
                    if snapshot and symbol in self._sent:
                        self.send_bytes(client, self._book_frame(symbol, self._sent[symbol],
                                                           units[symbol], simple, "SNAPSHOT"))
                if realtime:
                    self.topics.add(f"{part['type']}:{symbol}", client)
        if any(self.topics.has(f"orderbook:{s}") for s in units):
            self.subscribed(client)

    # --- frames -------------------------------------------------------------------------

    def send_bytes(self, client: Client, data: bytes) -> None:
        """Queue a binary frame, as every server frame of these venues is (unless silenced)."""
        if not self.silent:
            client.push(data)  # type: ignore[arg-type]  # push takes bytes as binary frames

    def _book_frame(self, symbol: str, sent: Sent, count: int, simple: bool,
                    stream: str) -> bytes:
        bids, asks, ms = sent
        units = []
        for i in range(count):
            bid = bids[i] if i < len(bids) else (0.0, 0.0)
            ask = asks[i] if i < len(asks) else (0.0, 0.0)
            units.append({"ask_price": ask[0], "bid_price": bid[0], "ask_size": ask[1],
                          "bid_size": bid[1]})
        fields = {"type": "orderbook", "code": native_of(symbol), "timestamp": ms,
                  "total_ask_size": round(sum(a[1] for a in asks[:count]), 8),
                  "total_bid_size": round(sum(b[1] for b in bids[:count]), 8),
                  "orderbook_units": units, "stream_type": stream, "level": self.LEVEL}
        return dumps(keyed(fields, simple)).encode()

    def _trade_frame(self, symbol: str, trade: Trade, simple: bool) -> bytes:
        ms = trade.ts_us // 1000
        stamp = datetime.fromtimestamp(ms / 1000, UTC)
        fields = {"type": "trade", "code": native_of(symbol), "timestamp": ms + 1,
                  "trade_date": stamp.strftime("%Y-%m-%d"),
                  "trade_time": stamp.strftime("%H:%M:%S"),
                  "trade_timestamp": ms, "trade_price": trade.price,
                  "trade_volume": trade.amount, "ask_bid": "BID" if trade.side == 0 else "ASK",
                  "sequential_id": self._trade_ids, "stream_type": "REALTIME"}
        return dumps(keyed(fields, simple)).encode()

    def wire_mark(self, symbol: str) -> object:
        """The book of the change just rendered."""
        return self._rendered.get(symbol)

    def on_sent(self, symbol: str, mark: object) -> None:
        """Late subscribers' snapshots show the book once it is on the wire."""
        if mark is not None:
            self._sent[symbol] = mark  # type: ignore[assignment]

    def render(self, change: Change) -> list[Outgoing]:
        """The whole book to each book subscriber (per key set and count), and any trade."""
        symbol = change.symbol
        ladder = self._ladders[symbol]
        ladder.apply(change.top)
        # ms per book, strictly rising in true time, the requested skew on top.
        true_ms = max((change.ts_us - change.skew_us) // 1000, self._ms.get(symbol, 0) + 1)
        self._ms[symbol] = true_ms
        sent: Sent = ([(float(p), float(s)) for p, s in ladder.levels("buy")],
                      [(float(p), float(s)) for p, s in ladder.levels("sell")],
                      true_ms + change.skew_us // 1000)
        self._rendered[symbol] = sent
        groups: dict[tuple[bool, int], list[Client]] = {}
        for client in self.topics.get(f"orderbook:{symbol}"):
            key = (client.state["upbit_simple"], client.state["upbit_units"][symbol])
            groups.setdefault(key, []).append(client)
        # Outgoing frames are bytes here: the server sends bytes as binary frames.
        frames: list[Any] = [
            (self._book_frame(symbol, sent, count, simple, "REALTIME"), tuple(clients))
            for (simple, count), clients in groups.items()]
        trade = change.trade
        if trade is not None:
            self._trade_ids += 1
            traders = self.topics.get(f"trade:{symbol}")
            for simple in (False, True):
                clients = tuple(c for c in traders if c.state["upbit_simple"] is simple)
                if clients:
                    frames.append((self._trade_frame(symbol, trade, simple), clients))
        return frames
