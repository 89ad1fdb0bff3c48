"""Bitstamp diff books, read only when replaying recorded traffic.

The live feed follows `order_book_*` (a full snapshot each frame). Recorded sessions hold
`diff_order_book_*` instead, which only mean something on top of a REST snapshot: seed with
`seed_diff_book`, then feed the diffs to `on_message` as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.orderbook import OrderBook
from core.types import Depth, Market, Quote
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_levels, int_stamp


class BitstampDiffReplay:
    """The diff-book half of the Bitstamp adapter (mixed into `BitstampAdapter`)."""

    name: str
    markets: dict[str, Market]
    _last: dict[str, float]
    # Per native pair: the book seeded from a REST snapshot and the snapshot's time (µs).
    _diff_books: dict[str, tuple[OrderBook, int]]

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def reject(self, reason: str) -> Events: ...

        def top_changed(self, native: str, top: tuple[float, float, float, float]) -> bool: ...

        def book_depth(self, native: str, book: OrderBook, received_ns: int) -> Depth | None: ...

    def seed_diff_book(self, native: str, snapshot: Any, received_ns: int) -> Events:
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
            bids = decimal_levels(snapshot["bids"], allow_zero=False)
            asks = decimal_levels(snapshot["asks"], allow_zero=False)
        except SHAPE_ERRORS:
            return self.reject("bad_snapshot")
        book = OrderBook()
        book.snapshot(bids, asks)
        self._diff_books[native] = (book, micros)
        return self._diff_top(native, market, book, micros, received_ns)

    def _on_diff(self, native: str, data: Any, received_ns: int) -> Events:
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
        bids = decimal_levels(data["bids"], allow_zero=True)
        asks = decimal_levels(data["asks"], allow_zero=True)
        if micros < snapshot_micros:
            # Already part of the snapshot (diffs are buffered while it is fetched).
            return self.reject("stale_diff")
        for price, size in bids:
            book.bids.set(price, size)
        for price, size in asks:
            book.asks.set(price, size)
        return self._diff_top(native, self.markets[native], book, micros, received_ns)

    def _diff_top(self, native: str, market: Market, book: OrderBook, micros: int,
                  received_ns: int) -> Events:
        """The seeded book's top as a Quote, when it is usable and new."""
        top = book.top()
        if top is None:
            return self.reject("empty_book")
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        changed = self.book_depth(native, book, received_ns)
        if not self.top_changed(native, top):
            return [] if changed is None else [changed]
        quote = Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), micros * 1_000, received_ns)
        return [quote] if changed is None else [changed, quote]
