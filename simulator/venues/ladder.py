"""A simulated delta book (integer ticks, exact price texts) for venues that send level changes."""

from __future__ import annotations

import random
from collections.abc import Callable

from simulator.changes import Top
from simulator.venues.base import BOOK_LEVELS, level_gap, level_size

SIZE_DECIMALS = 8  # finest size a deep level is given


class Ladder:
    """A simulated delta book: the walk's top of book plus deeper levels that follow it.

    Prices are integer ticks, so texts are exact; `apply` moves the book to a new top and
    returns the level changes (side, price text, size text, zero size = delete) that do it.
    Levels added behind the book sit further apart the deeper they are, with larger sizes
    (`level_gap`, `level_size`); deeper levels never touch the top, so every change the
    ladder makes beyond the walk's own top is invisible to a top-of-book reader.
    """

    def __init__(self, decimals: int, rng: random.Random, unit: float,
                 size_text: Callable[[float], str], zero: str, depth: int = BOOK_LEVELS) -> None:
        self.decimals = decimals
        self.scale = 10**decimals
        self._rng = rng
        self._unit = unit
        self._size_text = size_text
        self._zero = zero
        self._depth = depth
        # Per side: key → size text, where key = ticks for asks and -ticks for bids, so the
        # best level of either side has the smallest key.
        self._sides: dict[str, dict[int, str]] = {"buy": {}, "sell": {}}

    def price_text(self, ticks: int) -> str:
        """Ticks as a decimal string with the product's number of decimals."""
        if self.decimals == 0:
            return str(ticks)
        whole, frac = divmod(ticks, self.scale)
        return f"{whole}.{frac:0{self.decimals}d}"

    def _ticks(self, side: str, key: int) -> int:
        return -key if side == "buy" else key

    def _deep_size(self, position: int) -> str:
        size = round(level_size(self._rng, self._unit, position), SIZE_DECIMALS)
        return self._size_text(max(size, 10.0**-SIZE_DECIMALS))

    def apply(self, top: Top) -> list[tuple[str, str, str]]:
        """Move the book to `top`; the changes that do it (one frame's worth)."""
        out: list[tuple[str, str, str]] = []
        for side, price, size in (("buy", top.bid, top.bid_size), ("sell", top.ask, top.ask_size)):
            ticks = round(price * self.scale)
            self._set_top(side, -ticks if side == "buy" else ticks, self._size_text(size), out)
        # Deeper levels change too in a live book; the top is untouched by this.
        side = self._rng.choice(("buy", "sell"))
        levels = self._sides[side]
        deeper = sorted(levels)[1:]
        if deeper and self._rng.random() < 0.5:
            position = self._rng.randrange(len(deeper))
            key = deeper[position]
            levels[key] = self._deep_size(position + 1)
            out.append((side, self.price_text(self._ticks(side, key)), levels[key]))
        return out

    def _set_top(self, side: str, best: int, size: str, out: list[tuple[str, str, str]]) -> None:
        levels = self._sides[side]
        for key in sorted(k for k in levels if k < best):  # better than the new best: gone
            del levels[key]
            out.append((side, self.price_text(self._ticks(side, key)), self._zero))
        if levels.get(best) != size:
            levels[best] = size
            out.append((side, self.price_text(self._ticks(side, best)), size))
        while len(levels) > self._depth:
            worst = max(levels)
            del levels[worst]
            out.append((side, self.price_text(self._ticks(side, worst)), self._zero))
        while len(levels) < self._depth:
            worst = max(levels)
            key = worst + level_gap(self._rng, worst, len(levels))
            if self._ticks(side, key) <= 0:
                break  # a bid ladder of a very cheap asset reached zero
            levels[key] = self._deep_size(len(levels))
            out.append((side, self.price_text(self._ticks(side, key)), levels[key]))

    def levels(self, side: str) -> list[tuple[str, str]]:
        """(price text, size text) of one side, best first ("buy" or "sell")."""
        levels = self._sides[side]
        return [(self.price_text(self._ticks(side, k)), levels[k]) for k in sorted(levels)]
