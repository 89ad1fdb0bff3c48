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
from core.types import Level, Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.bitstamp_diff import BitstampDiffReplay
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import int_stamp, json_number


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
class BitstampAdapter(BitstampDiffReplay, Adapter):
    """Bitstamp spot: full-book snapshots in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "bitstamp"
    ws_url: ClassVar[str] = "wss://ws.bitstamp.net"
    rest_url: ClassVar[str] = "https://www.bitstamp.net"
    markets_path: ClassVar[str] = "/api/v2/trading-pairs-info/"
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
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/api/v2/trading-pairs-info/`: a list of pair objects.

        [{"name": "BTC/USD", "url_symbol": "btcusd", "trading": "Enabled", ...}, ...]
        """
        return cls.listed(payload)

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """An enabled spot pair (the newer listing's perpetuals are not spot)."""
        if entry["trading"] != "Enabled":
            return None
        # The newer `/api/v2/markets/` listing also lists perpetuals; keep spot only.
        if entry.get("market_type", "SPOT") != "SPOT":
            return None
        native = entry.get("url_symbol") or entry["market_symbol"]
        raw_base, raw_quote = entry["name"].split("/")
        market = cls.market(native, raw_base, raw_quote)
        # Channel names must be lower-case alphanumerics ("Invalid channel provided"
        # otherwise), and a short name keeps each subscribe frame far below 512 bytes.
        if not (isinstance(native, str) and native.isascii() and native.isalnum()
                and native.islower() and len(native) <= 32):
            return None
        return market

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

    def on_connect(self) -> None:
        """Diff books belong to one connection: a new one needs a new snapshot."""
        super().on_connect()
        self._diff_books.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
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
            return self.reconnect("request_reconnect")
        if event == "bts:error":
            data = msg.get("data")
            message = data.get("message") if isinstance(data, dict) else None
            return self.venue_error(
                str(message) if message is not None else json.dumps(data))
        return self.reject("unknown_event")

    def _on_book(self, native: str, data: Any, received_ns: int) -> Events:
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
        changed = None if depth is None else self.note_depth(native, depth[0], depth[1],
                                                             received_ns)
        if not self.top_changed(native, top):
            return [] if changed is None else [changed]
        quote = Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), ts_ns, received_ns)
        return [quote] if changed is None else [changed, quote]

    def _on_trade(self, native: str, data: Any) -> Events:
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
