"""Quotes and depths from tops and local books: only what changed goes out (mixed into Adapter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.orderbook import OrderBook
from core.types import Depth, Level, Market, Quote
from workers.exchanges.events import Events


class TopOfBook:
    """The last top and depth emitted per market, and the Quote/Depth a change yields."""

    name: str
    markets: dict[str, Market]
    depth_levels: int
    _tops: dict[str, tuple[float, float, float, float]]
    _depths: dict[str, tuple[tuple[Level, ...], tuple[Level, ...]]]
    _crossed_resynced: set[str]

    if TYPE_CHECKING:  # provided by Adapter
        def reject(self, reason: str) -> Events: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

    def top_changed(self, native: str, top: tuple[float, float, float, float]) -> bool:
        """Record `top` for a market; False when it equals the last one emitted (no Quote)."""
        if self._tops.get(native) == top:
            return False
        self._tops[native] = top
        return True

    def note_depth(
        self, native: str, bids: tuple[Level, ...], asks: tuple[Level, ...], received_ns: int
    ) -> Depth | None:
        """A Depth of a valid (uncrossed) book when its levels differ from the last sent."""
        levels = (bids, asks)
        if self._depths.get(native) == levels:
            return None
        self._depths[native] = levels
        return Depth(self.name, self.markets[native].symbol, bids, asks, received_ns)

    def book_depth(self, native: str, book: OrderBook, received_ns: int) -> Depth | None:
        """A Depth of the book's best `depth_levels` levels when they changed (else None).

        Call only for a book that has a valid (two-sided, uncrossed) top of book.
        """
        n = self.depth_levels
        if n > 0:
            # best_levels hands back the same tuple while those levels are unchanged, so the
            # compare in note_depth is usually an identity check.
            return self.note_depth(native, book.bids.best_levels(n), book.asks.best_levels(n),
                                   received_ns)
        return None

    def book_quote(
        self,
        native: str,
        book: OrderBook,
        last: float | None,
        ts_ns: int | None,
        received_ns: int,
        after_delta: bool,
    ) -> Events:
        """A Quote from a local book when its top changed; a book crossed by deltas resyncs once.

        A crossed book after deltas means a missed update, so the connection is renewed (which
        brings fresh snapshots); a snapshot that is itself crossed is only counted. A usable
        book also yields its Depth (see `book_depth`), even when only deeper levels moved.
        """
        top = book.top()
        if top is None:
            return []  # an empty or one-sided book has no top of book to quote
        if top[0] >= top[2]:
            if after_delta and native not in self._crossed_resynced:
                self._crossed_resynced.add(native)
                return self.reconnect("crossed_book", counted="crossed_book")
            return self.reject("crossed_book")
        self._crossed_resynced.discard(native)
        changed = self.book_depth(native, book, received_ns)
        if not self.top_changed(native, top):
            return [] if changed is None else [changed]
        symbol = self.markets[native].symbol
        quote = Quote(self.name, symbol, top[0], top[1], top[2], top[3], last, ts_ns, received_ns)
        return [quote] if changed is None else [changed, quote]
