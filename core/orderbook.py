"""A small order book for venues that send deltas: levels by price, best levels in order.

Sans I/O and venue-neutral. Sizes of 0 delete a level. Prices are floats for ordering, and each
level may also keep the venue's original text, which checksums (OKX, Kraken, Bitfinex) are
computed over. A side holds at most `BOOK_MAX_LEVELS` levels: past it the levels farthest from
the top are dropped, so a venue cannot grow a book (and the work per update) without end.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterable

Level = tuple[float, float]
Top = tuple[float, float, float, float]
_INF = math.inf
# Levels kept per side. Far above what anything reads (checksums cover 25 levels, BOOK_DEPTH
# 10, the venues' own book subscriptions 25 to 1,000), so the top stays right unless thousands
# of better levels vanish without their replacements ever arriving.
BOOK_MAX_LEVELS = 5000


class BookSide:
    """One side: price → size, with prices kept sorted so the best is at the end."""

    def __init__(self, descending: bool, max_levels: int = BOOK_MAX_LEVELS) -> None:
        self.descending = descending
        self.max_levels = max_levels
        self.sizes: dict[float, float] = {}
        self.texts: dict[float, tuple[str, str]] = {}
        # Ascending keys; for bids the key is -price so that both sides' best is keys[0].
        self._keys: list[float] = []
        # `best_levels` remembered: a change at a key above `_edge` (past the last remembered
        # level) cannot alter them; `_edge` is -inf when nothing is remembered, +inf when the
        # side was shorter than asked (then every change counts).
        self._best: tuple[Level, ...] = ()
        self._best_n = 0
        self._edge = -_INF

    def _key(self, price: float) -> float:
        return -price if self.descending else price

    def set(self, price: float, size: float, text: tuple[str, str] | None = None) -> None:
        """Set a level's size (0 deletes it), optionally with its wire text."""
        # The key is spelled out rather than asked of `_key`: this runs for every level of
        # every delta and snapshot.
        sizes = self.sizes
        key = -price if self.descending else price
        if key <= self._edge:
            self._edge = -_INF
        if size <= 0.0:
            if sizes.pop(price, None) is not None:
                keys = self._keys
                del keys[bisect_left(keys, key)]
                self.texts.pop(price, None)
            return
        new = price not in sizes
        if new:
            insort(self._keys, key)
        sizes[price] = size
        if text is not None:
            self.texts[price] = text
        if new and len(sizes) > self.max_levels:
            self._drop_farthest()

    def assign(self, sizes: dict[float, float],
               texts: dict[float, tuple[str, str]] | None = None) -> None:
        """Take `sizes` (every size > 0) and their wire texts as the whole side."""
        # What a clear() and a set() per level leave behind, with one sort instead of an
        # insort per level (a 400-level snapshot would move the key list 400 times).
        self.sizes = sizes
        self.texts = {} if texts is None else texts
        self._keys = sorted([-p for p in sizes] if self.descending else sizes)
        self._edge = -_INF
        if len(sizes) > self.max_levels:
            self._drop_farthest()

    def update(self, levels: Iterable[tuple[float, float, str, str]]) -> None:
        """`set(price, size, (px, sz))` for each (price, size, px, sz), in order."""
        # set() inlined: a delta frame carries dozens of levels.
        sizes, texts, keys = self.sizes, self.texts, self._keys
        descending, limit = self.descending, self.max_levels
        edge = self._edge
        for price, size, px, sz in levels:
            key = -price if descending else price
            if key <= edge:
                edge = self._edge = -_INF
            if size <= 0.0:
                if sizes.pop(price, None) is not None:
                    del keys[bisect_left(keys, key)]
                    texts.pop(price, None)
                continue
            if price not in sizes:
                insort(keys, key)
                sizes[price] = size
                texts[price] = (px, sz)
                if len(sizes) > limit:
                    self._drop_farthest()
                    edge = self._edge
                continue
            sizes[price] = size
            texts[price] = (px, sz)

    def replace(self, levels: Iterable[Level]) -> None:
        """Forget every level, then set `levels` in order (as `set` would, size 0 deleting)."""
        sizes = self.sizes
        sizes.clear()
        self.texts.clear()
        for price, size in levels:
            if size <= 0.0:
                sizes.pop(price, None)
            else:
                sizes[price] = size
        # One sort of the survivors instead of an insort per level.
        self._keys[:] = sorted([-p for p in sizes] if self.descending else sizes)
        self._edge = -_INF
        if len(sizes) > self.max_levels:
            self._drop_farthest()

    def _drop_farthest(self) -> None:
        """Forget the levels past `max_levels`, farthest from the top first (keys' end)."""
        keys = self._keys
        extra = keys[self.max_levels:]
        del keys[self.max_levels:]
        sizes, texts = self.sizes, self.texts
        for key in extra:
            price = -key if self.descending else key
            del sizes[price]
            texts.pop(price, None)
            if key <= self._edge:  # a remembered best level went (a cap below the depth read)
                self._edge = -_INF

    def best(self) -> Level | None:
        """The best (price, size), or None when the side is empty."""
        keys = self._keys
        if not keys:
            return None
        price = -keys[0] if self.descending else keys[0]
        return price, self.sizes[price]

    def _price(self, key: float) -> float:
        return -key if self.descending else key

    def levels(self, depth: int) -> list[Level]:
        """The best `depth` levels, best first."""
        sizes = self.sizes
        if self.descending:
            return [(-k, sizes[-k]) for k in self._keys[:depth]]
        return [(k, sizes[k]) for k in self._keys[:depth]]

    def best_levels(self, depth: int) -> tuple[Level, ...]:
        """`tuple(levels(depth))`, the same tuple again while no change reaches those levels."""
        if self._edge > -_INF and self._best_n == depth:
            return self._best
        if depth <= 0:
            return ()
        keys = self._keys[:depth]
        sizes = self.sizes
        if self.descending:
            best = tuple([(-k, sizes[-k]) for k in keys])
        else:
            best = tuple([(k, sizes[k]) for k in keys])
        self._best, self._best_n = best, depth
        self._edge = keys[-1] if len(keys) == depth else _INF
        return best

    def level_texts(self, depth: int) -> list[tuple[str, str]]:
        """The wire text (price, size) of the best `depth` levels, best first."""
        texts = self.texts
        if self.descending:
            return [texts[-k] for k in self._keys[:depth]]
        return [texts[k] for k in self._keys[:depth]]

    def clear(self) -> None:
        self.sizes.clear()
        self.texts.clear()
        self._keys.clear()
        self._edge = -_INF

    def __len__(self) -> int:
        return len(self.sizes)


class OrderBook:
    """Bids and asks of one market, each side capped at `max_levels`."""

    def __init__(self, max_levels: int = BOOK_MAX_LEVELS) -> None:
        self.bids = BookSide(descending=True, max_levels=max_levels)
        self.asks = BookSide(descending=False, max_levels=max_levels)

    def clear(self) -> None:
        """Forget every level (before a snapshot, or on resync)."""
        self.bids.clear()
        self.asks.clear()

    def snapshot(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace the book with a full snapshot."""
        self.bids.replace(bids)
        self.asks.replace(asks)

    def side(self, is_bid: bool) -> BookSide:
        """The bid side when `is_bid`, else the ask side."""
        return self.bids if is_bid else self.asks

    def top(self) -> Top | None:
        """(bid, bid_size, ask, ask_size), or None while either side is empty."""
        bid = self.bids.best()
        ask = self.asks.best()
        if bid is None or ask is None:
            return None
        return bid[0], bid[1], ask[0], ask[1]

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a book out of sync)."""
        top = self.top()
        return top is not None and top[0] >= top[2]
