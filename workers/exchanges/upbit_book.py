"""The Upbit-shaped quotation websocket, shared by Upbit and Bithumb's current public API.

Both speak one request frame `[{"ticket"}, {"type", "codes"}..., {"format"}]` (a new request
replaces the connection's subscriptions, so everything goes in one frame), answer with frames
in one of two key sets (`DEFAULT` spells keys out, `SIMPLE` abbreviates them), and push the
`orderbook` type as the whole top-N book on every change: no deltas, no sequence numbers, so
each frame replaces the market's book. Frames older (by `timestamp`) than the last one read for
a market are dropped. Errors are `{"error": {"name", "message"}}`; `{"status": "UP"}` answers
the text keepalive `PING`.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import int_stamp

_INF = math.inf


class Keys:
    """One key set of the wire: the names a frame of that format uses."""

    def __init__(self, type_: str, code: str, stamp: str, units: str, ask: str, ask_size: str,
                 bid: str, bid_size: str, price: str) -> None:
        self.type, self.code, self.stamp, self.units = type_, code, stamp, units
        self.ask, self.ask_size, self.bid, self.bid_size = ask, ask_size, bid, bid_size
        self.price = price  # a trade's price


SIMPLE = Keys("ty", "cd", "tms", "obu", "ap", "as", "bp", "bs", "tp")
DEFAULT = Keys("type", "code", "timestamp", "orderbook_units", "ask_price", "ask_size",
               "bid_price", "bid_size", "trade_price")


def _number(value: Any) -> float:
    """A JSON number (int or float, never bool) as a finite float ≥ 0."""
    kind = type(value)
    if kind is not float and kind is not int:
        raise TypeError(f"expected a JSON number, got {kind.__name__}")
    number = float(value)  # OverflowError for an integer past float range
    if not 0.0 <= number < _INF:
        raise ValueError(f"not a finite number ≥ 0: {value!r}")
    return number


def book_sides(units: Any, keys: Keys) -> tuple[list[tuple[float, float]],
                                                  list[tuple[float, float]]]:
    """The units' (price, size) bids and asks; a side's 0/0 pair is no level (a thin book)."""
    if type(units) is not list:
        raise TypeError("orderbook units are not a list")
    bids: list[tuple[float, float]] = []
    asks: list[tuple[float, float]] = []
    for unit in units:
        if type(unit) is not dict:
            raise TypeError("orderbook unit is not an object")
        for side, price_key, size_key in ((bids, keys.bid, keys.bid_size),
                                          (asks, keys.ask, keys.ask_size)):
            price, size = _number(unit[price_key]), _number(unit[size_key])
            if price == 0.0 and size == 0.0:
                continue
            if price == 0.0 or size == 0.0:
                # One of the pair zero is no thin book but a broken level.
                raise ValueError(f"orderbook level without price or size: {unit!r:.100}")
            side.append((price, size))
    return bids, asks


class UpbitShapedAdapter(Adapter):
    """The Upbit-shaped protocol; a venue subclass sets its name, URLs and limits."""

    # Book levels asked per market (`KRW-BTC.15`): Upbit serves 1, 5, 15 or 30.
    book_units: ClassVar[int] = 15
    # Requested key set: SIMPLE frames are about half the bytes of DEFAULT ones.
    wire_format: ClassVar[str] = "SIMPLE"

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # Per connection: each market's book and the venue time (ms) of the latest one read.
        self._books: dict[str, OrderBook] = {}
        self._stamps: dict[str, int] = {}
        self._last: dict[str, float] = {}  # latest trade price; kept across reconnects

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /v1/market/all` → its entries (a JSON list).

        [{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"},
         {"market":"BTC-ETH","korean_name":"이더리움","english_name":"Ethereum"}]
        """
        if type(payload) is not list:
            raise ValueError(f"expected a market list, got {type(payload).__name__}")
        return payload

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """`QUOTE-BASE` (quote first: `KRW-BTC` trades BTC for KRW) as its market."""
        native = entry["market"]
        if type(native) is not str:
            raise TypeError("market is not a string")
        quote, dash, base = native.partition("-")
        if not dash:
            raise ValueError(f"not a QUOTE-BASE market: {native!r}")
        return cls.market(native, base, quote)

    def subscribe_messages(self) -> list[str]:
        """One request for every market's book and trades (a second would replace the first).

        Both types start with a snapshot (the book; the latest trade, a `last` at once): the
        flag that turns it off is spelled differently by the two venues' documents.
        """
        if not self.markets:
            return []
        books = [f"{native}.{self.book_units}" for native in self.markets]
        request = [{"ticket": f"cryptotracker-{uuid.uuid4()}"},
                   {"type": "orderbook", "codes": books},
                   {"type": "trade", "codes": list(self.markets)},
                   {"format": self.wire_format}]
        return [json.dumps(request, separators=(",", ":"))]

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        return self._dispatch(msg, received_ns)

    def _dispatch(self, msg: dict[str, Any], received_ns: int) -> Events:
        """Route a frame by its type, read in the key set it is spelled in."""
        keys = SIMPLE if "ty" in msg else DEFAULT
        kind = msg.get(keys.type)
        if kind is None:
            return self._on_status(msg)
        if kind == "trade":
            return self._on_trade(msg, keys)
        if kind != "orderbook":
            return self.reject("unknown_channel")
        return self._on_orderbook(msg, keys, received_ns)

    def on_connect(self) -> None:
        """Books and their times are per connection: forget them (`last` stays)."""
        super().on_connect()
        for per_connection in (self._books, self._stamps):
            per_connection.clear()

    def _on_status(self, msg: dict[str, Any]) -> Events:
        """The keepalive answer, or an error (the connection stays open).

        {"status":"UP"}
        {"error":{"name":"NO_TICKET","message":"Ticket field must be contained."}}
        """
        if msg.get("status") == "UP":
            return []
        error = msg.get("error")
        if type(error) is dict:
            return self.venue_error(f"{error.get('name')}: {error.get('message')}")
        if error is not None:
            return self.venue_error(str(error))
        return self.reject("unknown_event")

    def _native(self, msg: dict[str, Any], keys: Keys) -> str:
        """The frame's market code (any `.count` suffix of the request dropped)."""
        code = msg[keys.code]
        if type(code) is not str:
            raise TypeError("code is not a string")
        return code if code in self.markets else code.partition(".")[0]

    def _on_orderbook(self, msg: dict[str, Any], keys: Keys, received_ns: int) -> Events:
        """A whole top-N book → a Quote (and Depth) when its top changed.

        {"ty":"orderbook","cd":"KRW-BTC","tms":1767225600123,"tas":4.2,"tbs":3.1,
         "obu":[{"ap":96021000.0,"as":0.0213,"bp":96020000.0,"bs":0.5},
                {"ap":96022000.0,"as":1.2,"bp":96019000.0,"bs":0.04}],"st":"REALTIME","lv":0}
        """
        native = self._native(msg, keys)
        if native not in self.markets:
            return self.reject("unknown_market")
        bids, asks = book_sides(msg[keys.units], keys)
        stamp = msg[keys.stamp]
        if type(stamp) is not int:
            raise TypeError("timestamp is not an integer")
        ts_ns = int_stamp(stamp, 1_000_000)
        if stamp < self._stamps.get(native, 0):
            # No sequence numbers: a frame older than the book we hold is news of the past.
            return self.reject("stale_update")
        self._stamps[native] = stamp
        book = self._books.get(native)
        if book is None:
            book = self._books[native] = OrderBook()
        book.snapshot(bids, asks)
        return self.book_quote(native, book, self._last.get(native), ts_ns, received_ns,
                               after_delta=False)

    def _on_trade(self, msg: dict[str, Any], keys: Keys) -> Events:
        """A trade → the market's `last`; no quote by itself.

        {"ty":"trade","cd":"KRW-BTC","tms":1767225600150,"td":"2026-01-01","ttm":"00:00:00",
         "ttms":1767225600100,"tp":96021000.0,"tv":0.0012,"ab":"BID","pcp":95000000.0,
         "c":"RISE","cp":1021000.0,"sid":17672256001000000,"st":"REALTIME"}
        """
        native = self._native(msg, keys)
        if native not in self.markets:
            return self.reject("unknown_market")
        price = _number(msg[keys.price])
        if price == 0.0:
            raise ValueError("trade price is zero")
        self._last[native] = price
        return []
