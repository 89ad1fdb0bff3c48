"""Bitstamp WebSocket API v2 adapter: `order_book_*` for top of book, `live_trades_*` for last.

Protocol notes (docs/protocols.md): one channel per subscribe frame, frames under 512
bytes, at most 1,024 channels per connection (two per market here), every `order_book_*` frame
is a full top-100 snapshot with string prices and a µs `microtimestamp`, and there is no
snapshot on subscribe: a quiet book stays silent until it changes.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.symbols import make_symbol, split_symbol
from core.types import Level, Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import int_stamp, json_number, non_negative


def _micros_to_ns(value: Any) -> int:
    """Bitstamp's µs timestamp (a digit string) as integer ns."""
    return int_stamp(value, 1_000)



_BOOK_PREFIX = "order_book_"
_TRADES_PREFIX = "live_trades_"
_DIFF_PREFIX = "diff_order_book_"
# Events that carry nothing for us but are expected traffic, not errors.
_QUIET_EVENTS = frozenset(
    {"bts:subscription_succeeded", "bts:unsubscription_succeeded", "bts:heartbeat"}
)
class BitstampAdapter(Adapter):
    """Bitstamp spot: full-book snapshots in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "bitstamp"
    ws_url: ClassVar[str] = "wss://ws.bitstamp.net"
    rest_url: ClassVar[str] = "https://www.bitstamp.net"
    markets_path: ClassVar[str] = "/api/v2/trading-pairs-info/"
    taker_fee: ClassVar[float] = 0.0040
    # The loop sends `bts:heartbeat` every 10 s and Bitstamp answers it, so even a connection
    # whose books are all quiet yields a frame every 10 s; 30 s of silence is three missed
    # replies, which means the connection is dead rather than idle.
    ping_interval_s: ClassVar[float] = 10.0
    watchdog_s: ClassVar[float] = 30.0
    # 1,024 channels per connection (a 1,025th silently closes it), two channels per market.
    max_markets_per_connection: ClassVar[int | None] = 512

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # Latest trade price per native pair; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Replay of recorded `diff_order_book_*` traffic: per native pair, the book seeded from
        # a REST snapshot and that snapshot's µs time (older diffs are already in it).
        self._diff_books: dict[str, tuple[OrderBook, int]] = {}

    @classmethod
    def parse_markets(cls, payload: Any) -> list[Market]:
        """`/api/v2/trading-pairs-info/` (a list of pair objects) → enabled spot markets.

        Entry shape: {"name": "BTC/USD", "url_symbol": "btcusd", "trading": "Enabled", ...}.
        Malformed entries are skipped, not fatal: one odd listing must not stop the feed.
        """
        if not isinstance(payload, list):
            raise ValueError(f"expected a list of pairs, got {type(payload).__name__}")
        markets: list[Market] = []
        seen: set[str] = set()
        for entry in payload:
            try:
                if entry["trading"] != "Enabled":
                    continue
                # The newer `/api/v2/markets/` listing also lists perpetuals; keep spot only.
                if entry.get("market_type", "SPOT") != "SPOT":
                    continue
                native = entry.get("url_symbol") or entry["market_symbol"]
                raw_base, raw_quote = entry["name"].split("/")
                # split_symbol raises unless the result is a clean BASE-QUOTE.
                base, quote = split_symbol(make_symbol(raw_base, raw_quote))
            except _SHAPE_ERRORS:
                continue
            # Channel names must be lower-case alphanumerics ("Invalid channel provided"
            # otherwise), and a short name keeps each subscribe frame far below 512 bytes.
            if not (isinstance(native, str) and native.isascii() and native.isalnum()
                    and native.islower() and len(native) <= 32) or native in seen:
                continue
            seen.add(native)
            markets.append(Market(symbol=f"{base}-{quote}", native=native, base=base, quote=quote))
        return markets

    def subscribe_messages(self) -> list[str]:
        """One `bts:subscribe` per channel: the book and the trades of every market."""
        frames: list[str] = []
        for native in self.markets:
            for prefix in (_BOOK_PREFIX, _TRADES_PREFIX):
                frame = {"event": "bts:subscribe", "data": {"channel": prefix + native}}
                frames.append(json.dumps(frame, separators=(",", ":")))
        return frames

    def ping_message(self) -> str | None:
        """The app-level heartbeat; Bitstamp answers it, which feeds the watchdog."""
        return '{"event":"bts:heartbeat"}'

    def on_message(self, text: str, received_ns: int) -> list[Quote]:
        """Read one frame; return the quotes it carries. Never raises on bad input."""
        msg = self.decode_object(text)
        if msg is None:
            return []
        try:
            event = msg.get("event")
            if event == "data":
                channel = msg["channel"]
                if channel.startswith(_BOOK_PREFIX):
                    return self._on_book(channel[len(_BOOK_PREFIX):], msg["data"], received_ns)
                if channel.startswith(_DIFF_PREFIX):
                    return self._on_diff(channel[len(_DIFF_PREFIX):], msg["data"], received_ns)
                # detail_order_book_* (per order) is not followed.
                return self.reject("unknown_channel")
            if event == "trade":
                channel = msg["channel"]
                if channel.startswith(_TRADES_PREFIX):
                    return self._on_trade(channel[len(_TRADES_PREFIX):], msg["data"])
                return self.reject("unknown_channel")
            if event in _QUIET_EVENTS:
                return []
            if event == "bts:request_reconnect":
                # `data` is null, {} or "" depending on the source; only the event matters.
                self.request_reconnect("request_reconnect")
                return []
            if event == "bts:error":
                data = msg.get("data")
                message = data.get("message") if isinstance(data, dict) else None
                self.last_error = str(message) if message is not None else json.dumps(data)
                return self.reject("venue_error")
            return self.reject("unknown_event")
        except _SHAPE_ERRORS:
            return self.reject("bad_field")

    def _on_book(self, native: str, data: Any, received_ns: int) -> list[Quote]:
        """A full-book snapshot → one Quote when its top differs from the last one sent.

        {"data": {"timestamp": "1767225600", "microtimestamp": "1767225600482913",
                  "bids": [["64010.15", "0.25000000"], ["64009.00", "1.10000000"]],
                  "asks": [["64012.40", "0.05000000"], ["64015.00", "0.80000000"]]},
         "channel": "order_book_btcusd", "event": "data"}
        """
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        bids = data["bids"]
        asks = data["asks"]
        if not bids or not asks:
            return self.reject("empty_book")
        best_bid = bids[0]
        best_ask = asks[0]
        # A level must be a [price, size] list: unpacking a 2-char string would "work".
        if type(best_bid) is not list or type(best_ask) is not list:
            raise TypeError("book level is not a list")
        top = (_price(best_bid[0]), _price(best_bid[1]), _price(best_ask[0]), _price(best_ask[1]))
        micros = data.get("microtimestamp")
        ts_ns = _micros_to_ns(micros) if micros is not None else None
        n = self.depth_levels
        # Read before anything is recorded, so an unreadable level drops the whole frame.
        depth = (_best_levels(bids, n, descending=True),
                 _best_levels(asks, n, descending=False)) if n > 0 else None
        if top[0] >= top[2]:
            # Documented transient artifact of the snapshot; the next frame corrects it.
            return self.reject("crossed_book")
        if depth is not None:
            self.note_depth(native, depth[0], depth[1], received_ns)
        if not self.top_changed(native, top):
            return []
        return [
            Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                  self._last.get(native), ts_ns, received_ns)
        ]

    def _on_trade(self, native: str, data: Any) -> list[Quote]:
        """A trade → remember its price as the market's `last`; emits nothing by itself.

        {"data": {"id": 216000477, "timestamp": "1641343699", "amount": 0.0792,
                  "amount_str": "0.07920000", "price": 3805.44, "price_str": "3805.44", "type": 0,
                  "microtimestamp": "1641343699596000", "buy_order_id": 1443875737346049,
                  "sell_order_id": 1443875731320832},
         "channel": "live_trades_ethusd", "event": "trade"}
        """
        if native not in self.markets:
            return self.reject("unknown_market")
        price_str = data.get("price_str")
        if price_str is not None:
            price = _price(price_str)
        else:
            # Older frames carry only the JSON number.
            price = json_number(data["price"])
        self._last[native] = price
        return []

    # --- diff book replay --------------------------------------------------------------------
    # The live feed follows `order_book_*` (a full snapshot each frame). Recorded sessions hold
    # `diff_order_book_*` instead, which only mean something on top of a REST snapshot: seed
    # with `seed_diff_book`, then feed the diffs to `on_message` as usual.

    def on_connect(self) -> None:
        """Diff books belong to one connection: a new one needs a new snapshot."""
        super().on_connect()
        self._diff_books.clear()

    def seed_diff_book(self, native: str, snapshot: Any, received_ns: int) -> list[Quote]:
        """Seed a market's diff book from `GET /api/v2/order_book/{pair}/` (decoded JSON).

        {"timestamp": "1641343695", "microtimestamp": "1641343695681418",
         "bids": [["3802.90", "0.60000000"], ["3802.89", "3.23948640"], ...],
         "asks": [["3805.47", "8.26964788"], ["3805.83", "13.07397578"], ...]}
        Returns the snapshot's top as a Quote (when it differs from the last one sent); a
        snapshot that cannot be read is counted as `bad_snapshot` and leaves no book behind.
        """
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        self._diff_books.pop(native, None)
        try:
            micros = int_stamp(snapshot["microtimestamp"], 1)
            bids = _diff_levels(snapshot["bids"], allow_zero=False)
            asks = _diff_levels(snapshot["asks"], allow_zero=False)
        except _SHAPE_ERRORS:
            return self.reject("bad_snapshot")
        book = OrderBook()
        book.snapshot(bids, asks)
        self._diff_books[native] = (book, micros)
        return self._diff_top(native, market, book, micros, received_ns)

    def _on_diff(self, native: str, data: Any, received_ns: int) -> list[Quote]:
        """Changed levels (size 0 deletes) → a Quote when the seeded book's top changes.

        {"data": {"timestamp": "1641343691", "microtimestamp": "1641343691310202", "bids": [],
                  "asks": [["1.17438", "853.01809477"], ["1.17484", "0.00000000"]]},
         "channel": "diff_order_book_adaeur", "event": "data"}
        """
        seeded = self._diff_books.get(native)
        if seeded is None:
            # No snapshot for this market: the live feed never subscribes to diffs, and an
            # unseeded diff cannot say what the top is.
            return self.reject("unknown_channel")
        book, snapshot_micros = seeded
        micros = int_stamp(data["microtimestamp"], 1)
        # Read every level before touching the book, so a bad frame changes nothing.
        bids = _diff_levels(data["bids"], allow_zero=True)
        asks = _diff_levels(data["asks"], allow_zero=True)
        if micros < snapshot_micros:
            # Already part of the snapshot (diffs are buffered while it is fetched).
            return self.reject("stale_diff")
        for price, size in bids:
            book.bids.set(price, size)
        for price, size in asks:
            book.asks.set(price, size)
        return self._diff_top(native, self.markets[native], book, micros, received_ns)

    def _diff_top(self, native: str, market: Market, book: OrderBook, micros: int,
                  received_ns: int) -> list[Quote]:
        """The seeded book's top as a Quote, when it is usable and new."""
        top = book.top()
        if top is None:
            return self.reject("empty_book")
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        self.book_depth(native, book, received_ns)
        if not self.top_changed(native, top):
            return []
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), micros * 1_000, received_ns)]


def _best_levels(rows: list[Any], n: int, descending: bool) -> tuple[Level, ...]:
    """The first `n` levels of a full-book side (best first, as Bitstamp sends them).

    Only these are read: the rest of the 100 levels is never published. They must be strictly
    ordered, since a walker trusts Depth to be best first. Parsed inline (the rules of
    `decimal_str`: strings of finite positive numbers) because this runs on every frame.
    """
    levels: list[Level] = []
    previous = math.inf if descending else 0.0
    for row in rows[:n]:
        if type(row) is not list or len(row) != 2:
            raise TypeError("book level is not a [price, size] pair")
        price_text, size_text = row
        if type(price_text) is not str or type(size_text) is not str:
            raise TypeError("book level is not two decimal strings")
        price, size = float(price_text), float(size_text)
        if not (0.0 < size < math.inf and 0.0 < price < math.inf):
            raise ValueError(f"not a usable level: {row!r}")
        if not (price < previous if descending else price > previous):
            raise ValueError("book levels are not in order")
        levels.append((price, size))
        previous = price
    return tuple(levels)


def _diff_levels(levels: Any, allow_zero: bool) -> list[tuple[float, float]]:
    """`[["1.17438", "853.01809477"], ...]` → (price, size) pairs; size 0 only in diffs."""
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed: list[tuple[float, float]] = []
    for level in levels:
        # A level must be a [price, size] list: unpacking a 2-char string would "work".
        if type(level) is not list or len(level) != 2:
            raise TypeError("book level is not a [price, size] pair")
        size_text = level[1]
        if type(size_text) is not str:
            raise TypeError("book size is not a string")
        size = non_negative(float(size_text)) if allow_zero else _price(size_text)
        parsed.append((_price(level[0]), size))
    return parsed
