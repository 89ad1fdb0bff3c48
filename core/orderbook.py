"""A small order book for venues that send deltas: levels by price, best levels in order.

Sans I/O and venue-neutral. Sizes of 0 delete a level. Prices are floats for ordering, and each
level may also keep the venue's original text, which checksums (OKX, Kraken, Bitfinex) are
computed over.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

Level = tuple[float, float]
Top = tuple[float, float, float, float]


class BookSide:
    """One side: price → size, with prices kept sorted so the best is at the end."""

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.sizes: dict[float, float] = {}
        self.texts: dict[float, tuple[str, str]] = {}
        # Ascending keys; for bids the key is -price so that both sides' best is keys[0].
        self._keys: list[float] = []

    def _key(self, price: float) -> float:
        return -price if self.descending else price

    def set(self, price: float, size: float, text: tuple[str, str] | None = None) -> None:
        """Set a level's size (0 deletes it), optionally with its wire text."""
        if size <= 0.0:
            if self.sizes.pop(price, None) is not None:
                key = self._key(price)
                del self._keys[bisect_left(self._keys, key)]
                self.texts.pop(price, None)
            return
        if price not in self.sizes:
            insort(self._keys, self._key(price))
        self.sizes[price] = size
        if text is not None:
            self.texts[price] = text

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

    def __len__(self) -> int:
        return len(self.sizes)


class OrderBook:
    """Bids and asks of one market."""

    def __init__(self) -> None:
        self.bids = BookSide(descending=True)
        self.asks = BookSide(descending=False)

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
