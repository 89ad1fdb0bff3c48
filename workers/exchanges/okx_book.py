"""OKX order books, read only when replaying recorded traffic: the live feed subscribes to
`tickers` alone. Kept in their own module so the live path stays small.

A `books` channel sends a snapshot, then updates whose `checksum` is a CRC32 over the best 25
levels of each side, interleaved, in the exact strings received.
"""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING, Any

from core.orderbook import OrderBook
from core.types import Depth, Market, Quote
from workers.exchanges.events import Events
from workers.exchanges.fields import int_stamp

# Books sent as a snapshot then updates (the checksummed ones), and books sent whole each push.
_DELTA_BOOKS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})
_WHOLE_BOOKS = frozenset({"bbo-tbt", "books5"})
CHECKSUM_DEPTH = 25
_INF = math.inf


def _ms_to_ns(value: Any) -> int:
    """OKX's ms timestamp (a digit string: OKX sends every value as a string) as integer ns."""
    if type(value) is not str:
        raise TypeError(f"expected a ms timestamp string, got {type(value).__name__}")
    return int_stamp(value, 1_000_000)


def book_checksum(book: OrderBook) -> int:
    """CRC32 (signed) of `bidPx:bidSz:askPx:askSz:...` over the best 25 levels, as received."""
    bids = book.bids.level_texts(CHECKSUM_DEPTH)
    asks = book.asks.level_texts(CHECKSUM_DEPTH)
    # Pairs interleaved while both sides have one, then the longer side's rest.
    parts: list[str] = []
    for bid, ask in zip(bids, asks, strict=False):
        parts += bid
        parts += ask
    n = min(len(bids), len(asks))
    for rest in bids[n:] or asks[n:]:
        parts += rest
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _levels(levels: Any, ascii_text: bool = False) -> list[tuple[float, float, str, str]]:
    """[[px, sz, "0", count], ...] → (price, size, px text, sz text); size "0" deletes.

    `ascii_text`: the frame's text is ASCII without `\\u` escapes, so every string decoded
    from it is ASCII and the per-level check can be skipped.
    """
    # decimal_str and non_negative inlined (a snapshot has 400 levels a side); same checks.
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed = []
    append = parsed.append
    for level in levels:
        if type(level) is not list or len(level) < 2:
            raise TypeError("book level is not [px, sz, ...]")
        px, sz = level[0], level[1]
        if type(sz) is not str or type(px) is not str:
            raise TypeError("book level is not two strings")
        if not ascii_text and not (px.isascii() and sz.isascii()):
            # float() reads other scripts' digits ("５.1"), but the checksum is over ASCII
            # text: such a level would make every later checksum of the book fail to compute.
            raise ValueError(f"book level is not ASCII: {level!r}")
        price = float(px)
        size = float(sz)
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise ValueError(f"book level out of range: {level!r}")
        append((price, size, px, sz))
    return parsed


def _side(levels: list[tuple[float, float, str, str]]) -> tuple[dict[float, float],
                                                                 dict[float, tuple[str, str]]]:
    """A snapshot side's levels as a fresh book side's sizes and texts (size 0 deleting)."""
    sizes: dict[float, float] = {}
    texts: dict[float, tuple[str, str]] = {}
    for price, size, px, sz in levels:
        if size <= 0.0:
            if sizes.pop(price, None) is not None:
                del texts[price]
        else:
            sizes[price] = size
            texts[price] = (px, sz)
    return sizes, texts


class OkxReplayBooks:
    """The book channels of the OKX adapter (mixed into `OkxAdapter`), for replay."""

    name: str
    markets: dict[str, Market]
    books: dict[str, OrderBook]
    _book_seq: dict[str, int]
    _last: dict[str, float]

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def reject(self, reason: str) -> Events: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

        def top_changed(self, native: str, top: tuple[float, float, float, float]) -> bool: ...

        def book_depth(self, native: str, book: OrderBook, received_ns: int) -> Depth | None: ...

    def _on_book(self, msg: dict[str, Any], channel: str, received_ns: int,
                 ascii_text: bool = False) -> Events:
        """A book snapshot or update (checksum verified) → a Quote if the top moved.

        {"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":[{
         "asks":[["5.158","129","0","2"],["5.233","240","0","1"]],"bids":[["5.14","427","0","4"],
         ["5.138","26","0","2"],["5.117","0","0","0"]],"ts":"1652459225464",
         "checksum":1361161687}]}
        """
        inst = msg["arg"]["instId"]
        market = self.markets.get(inst)
        if market is None:
            return self.reject("unknown_market")
        data = msg["data"]
        if type(data) is not list or len(data) != 1 or type(data[0]) is not dict:
            raise TypeError("book data is not one object")
        entry = data[0]
        bids, asks = _levels(entry["bids"], ascii_text), _levels(entry["asks"], ascii_text)
        ts_ns = _ms_to_ns(entry["ts"])
        checksum = entry.get("checksum")
        if checksum is not None and type(checksum) is not int:
            raise TypeError("checksum is not an integer")
        seq, prev_seq = entry.get("seqId"), entry.get("prevSeqId")
        action = msg.get("action") if channel in _DELTA_BOOKS else "snapshot"
        book = self.books.get(inst)
        if action == "snapshot":
            book = self.books[inst] = OrderBook()
        elif action != "update":
            return self.reject("bad_field")
        elif book is None:
            # An update for a book whose snapshot never came on this connection.
            return self.reject("no_snapshot")
        elif (type(prev_seq) is int and inst in self._book_seq
              and prev_seq != self._book_seq[inst]):
            return self.reconnect("sequence_gap", counted="sequence_gap")
        if type(seq) is int:
            self._book_seq[inst] = seq
        if action == "snapshot":
            # A fresh book: each side built whole and sorted once.
            book.bids.assign(*_side(bids))
            book.asks.assign(*_side(asks))
        else:
            book.bids.update(bids)
            book.asks.update(asks)
        if checksum is not None and book_checksum(book) != checksum:
            return self.reconnect("checksum_mismatch", counted="checksum_mismatch")
        top = book.top()
        if top is None:
            return []
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        changed = self.book_depth(inst, book, received_ns)
        if not self.top_changed(inst, top):
            return [] if changed is None else [changed]
        quote = Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(inst), ts_ns, received_ns)
        return [quote] if changed is None else [changed, quote]
