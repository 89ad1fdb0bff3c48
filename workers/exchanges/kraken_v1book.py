"""Kraken websocket v1 `book` channel, read only when replaying recorded traffic.

The live feed speaks v2 (`ticker` with the bbo trigger). Recorded sessions are v1: channel frames
are arrays, a `book-N` subscription sends a snapshot (`as`/`bs`) then updates (`a`/`b`) whose
`c` is a CRC32 over the best 10 levels of each side, spelled as the venue sent them. Kraken only
keeps N levels a side, so the local book is cut to N after every update.
"""

from __future__ import annotations

import heapq
import math
import re
import zlib
from typing import TYPE_CHECKING, Any

from core.orderbook import BookSide, OrderBook
from core.types import Market
from workers.exchanges.base import Adapter, loads
from workers.exchanges.events import Events
from workers.exchanges.fields import MAX_NS, SHAPE_ERRORS

CHECKSUM_LEVELS = 10
# Plain ASCII decimals only: float() also reads "1_0", " 1.0" and other scripts' digits, none
# of which the checksum (over the text) could agree with.
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_INF = math.inf
TextLevel = tuple[float, float, str, str]  # price, volume, price text, volume text


def wsname_market(wsname: str) -> Market:
    """A listing's v1 `wsname` (`XBT/USD`) as the market keyed by its v2 symbol (`BTC/USD`)."""
    raw_base, raw_quote = wsname.split("/")
    # market() drops names that are not clean BASE-QUOTE (`ETH2.S/ETH`) and maps XBT → BTC.
    market = Adapter.market("", raw_base, raw_quote)
    return market._replace(native=f"{market.base}/{market.quote}")


def _digits(text: str) -> str:
    """A decimal as the checksum spells it: the point removed, then the leading zeros."""
    return text.replace(".", "").lstrip("0")


def book_checksum(book: OrderBook) -> int:
    """CRC32 (unsigned) of the best 10 asks, best first, then the best 10 bids, as received."""
    parts = [_digits(px) + _digits(sz)
             for side in (book.asks, book.bids) for px, sz in side.level_texts(CHECKSUM_LEVELS)]
    return zlib.crc32("".join(parts).encode("ascii"))


def _stamp_ns(text: Any) -> int:
    """A level's time (`"1618678123.481570"`, seconds) as exact integer ns."""
    if type(text) is not str or _DECIMAL.fullmatch(text) is None:
        raise ValueError(f"bad level time: {text!r}")
    seconds, _, fraction = text.partition(".")
    nanos = int(seconds) * 1_000_000_000 + int(fraction[:9].ljust(9, "0"))
    if not 0 < nanos <= MAX_NS:
        raise ValueError(f"level time out of range: {text!r}")
    return nanos


def _levels(levels: Any, allow_zero: bool) -> tuple[list[TextLevel], int]:
    """`[[price, volume, time(, "r")], ...]` → text levels and the newest time (ns, 0: none)."""
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed: list[TextLevel] = []
    newest = 0
    for level in levels:
        # A 4th element "r" marks a level republished as it came back into the subscribed depth.
        if type(level) is not list or not 3 <= len(level) <= 4 or level[3:] not in ([], ["r"]):
            raise TypeError("book level is not [price, volume, time] (+ 'r')")
        px, sz = level[0], level[1]
        if type(px) is not str or type(sz) is not str:
            raise TypeError("book level price or volume is not a string")
        if _DECIMAL.fullmatch(px) is None or _DECIMAL.fullmatch(sz) is None:
            raise ValueError(f"book level is not plain decimals: {level!r}")
        price, size = float(px), float(sz)
        if not (0.0 < price < _INF and 0.0 <= size < _INF) or (size == 0.0 and not allow_zero):
            raise ValueError(f"book level out of range: {level!r}")
        newest = max(newest, _stamp_ns(level[2]))
        parsed.append((price, size, px, sz))
    return parsed, newest


def _cut(side: BookSide, depth: int) -> None:
    """Drop the levels past `depth`: Kraken sends no more updates for them."""
    extra = len(side) - depth
    if extra > 0:
        pick = heapq.nsmallest if side.descending else heapq.nlargest
        for price in pick(extra, side.sizes):
            side.set(price, 0.0)


def _decoded(text: str) -> Any:
    """The frame's JSON, or None when it is not JSON (an array frame never decodes to null)."""
    try:
        return loads(text)
    except (ValueError, TypeError, RecursionError):  # RecursionError: "[[[[..." too deep
        return None


def _depth(name: str) -> int:
    """`book-1000` → 1000."""
    digits = name[5:]
    if not (digits.isascii() and digits.isdigit()) or int(digits) <= 0:
        raise ValueError(f"bad book channel name: {name!r}")
    return int(digits)


class KrakenV1Books:
    """The v1 half of the Kraken adapter (mixed into `KrakenAdapter`), for replay."""

    markets: dict[str, Market]
    system_status: str | None
    # Per v2 native symbol: the local book of a v1 `book-N` subscription.
    _v1_books: dict[str, OrderBook]

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def reject(self, reason: str) -> Events: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

        def venue_error(self, text: str, counted: str = "venue_error") -> Events: ...

        def book_quote(self, native: str, book: OrderBook, last: float | None,
                       ts_ns: int | None, received_ns: int, after_delta: bool) -> Events: ...

    def on_v1_event(self, msg: dict[str, Any]) -> Events:
        """A v1 event object: heartbeat, system status, subscription status, error.

        {"connectionID": 17843232920108168701, "event": "systemStatus", "status": "online",
         "version": "1.8.3"}
        {"channelID": 1664, "channelName": "book-1000", "event": "subscriptionStatus",
         "pair": "WAVES/EUR", "status": "subscribed", "subscription": {"depth": 1000,
         "name": "book"}}
        """
        event = msg["event"]
        if event in ("heartbeat", "pong"):
            return []
        if event == "systemStatus":
            status = msg["status"]
            if type(status) is not str:
                raise TypeError("systemStatus status is not a string")
            self.system_status = status
            return [] if status == "online" else self.reconnect(f"status_{status}")
        if event == "subscriptionStatus":
            status = msg["status"]
            if status in ("subscribed", "unsubscribed"):
                return []
            if status == "error":
                return self.venue_error(str(msg.get("errorMessage")), "subscribe_error")
            return self.reject("bad_field")
        if event == "error":
            return self.venue_error(str(msg.get("errorMessage")))
        return self.reject("unknown_event")

    def on_v1_frame(self, text: str, received_ns: int) -> Events:
        """A v1 channel frame (a JSON array); only `book-N` channels are read."""
        msg = _decoded(text)
        if msg is None:
            return self.reject("bad_json")
        try:
            return self._on_v1_channel(msg, received_ns)
        except SHAPE_ERRORS:
            return self.reject("bad_field")

    def _on_v1_channel(self, msg: Any, received_ns: int) -> Events:
        """`[channelID, {...}(, {...}), channelName, pair]` → the book it belongs to."""
        if type(msg) is not list or len(msg) not in (4, 5) or type(msg[0]) is not int:
            raise TypeError("not a v1 channel frame")
        name, pair = msg[-2], msg[-1]
        if type(name) is not str or type(pair) is not str:
            raise TypeError("v1 channel name or pair is not a string")
        if not name.startswith("book-"):
            return self.reject("unknown_channel")  # ticker, spread, trade: not followed
        depth = _depth(name)
        try:
            native = wsname_market(pair).native
        except ValueError:
            return self.reject("unknown_market")
        if native not in self.markets:
            return self.reject("unknown_market")
        parts = msg[1:-2]
        if not all(type(part) is dict for part in parts):
            raise TypeError("v1 book payload is not an object")
        if len(parts) == 1 and parts[0].keys() == {"as", "bs"}:
            return self._v1_snapshot(native, parts[0], depth, received_ns)
        return self._v1_update(native, parts, depth, received_ns)

    def _v1_snapshot(self, native: str, part: dict[str, Any], depth: int,
                     received_ns: int) -> Events:
        """A whole book → a fresh local book and its top.

        [1360, {"as": [["0.000022900", "13355.87450757", "1618678123.481570"], ...],
                "bs": [["0.000022890", "3489.08640523", "1618678132.112394"], ...]},
         "book-1000", "ADA/XBT"]
        """
        asks, asks_ns = _levels(part["as"], allow_zero=False)
        bids, bids_ns = _levels(part["bs"], allow_zero=False)
        book = self._v1_books[native] = OrderBook()
        book.asks.update(asks)
        book.bids.update(bids)
        _cut(book.asks, depth)
        _cut(book.bids, depth)
        return self.book_quote(native, book, None, max(asks_ns, bids_ns) or None, received_ns,
                               after_delta=False)

    def _v1_update(self, native: str, parts: list[dict[str, Any]], depth: int,
                   received_ns: int) -> Events:
        """Changed levels (volume 0 deletes), checksum verified → a Quote if the top moved.

        [1360, {"b": [["0.000022890", "0.00000000", "1618678133.733214"],
                      ["0.000022760", "2206.54720000", "1618678129.207384", "r"]],
                "c": "3587424914"}, "book-1000", "ADA/XBT"]
        An update may hold both sides as two objects: [1360, {"a": [...]}, {"b": [...],
        "c": "..."}, "book-1000", "ADA/XBT"].
        """
        asks: list[TextLevel] = []
        bids: list[TextLevel] = []
        checksum: int | None = None
        newest = 0
        # Read every level before touching the book, so a bad frame changes nothing.
        for part in parts:
            for key, value in part.items():
                if key == "c":
                    if type(value) is not str or not (value.isascii() and value.isdigit()):
                        raise ValueError(f"bad checksum: {value!r}")
                    checksum = int(value)
                elif key in ("a", "b"):
                    levels, stamp = _levels(value, allow_zero=True)
                    (asks if key == "a" else bids).extend(levels)
                    newest = max(newest, stamp)
                else:
                    raise ValueError(f"unknown v1 book key: {key!r}")
        if checksum is None:
            raise KeyError("v1 book update without a checksum")
        book = self._v1_books.get(native)
        if book is None:
            return self.reject("no_snapshot")  # its snapshot never came on this connection
        book.asks.update(asks)
        book.bids.update(bids)
        _cut(book.asks, depth)
        _cut(book.bids, depth)
        if book_checksum(book) != checksum:
            del self._v1_books[native]  # no more quotes from it until the resync's snapshot
            return self.reconnect("checksum_mismatch", counted="checksum_mismatch")
        return self.book_quote(native, book, None, newest or None, received_ns,
                               after_delta=True)
