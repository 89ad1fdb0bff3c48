"""Depth diffs a client joins to a REST snapshot by update ids: the twins' shared half.

Binance.US and Gate.io both number book changes and serve a snapshot carrying the last id;
a twin of either keeps one `Ladder` per symbol, moves it on every change (snapshots must show
the book even with no diff subscriber), remembers the book as far as the wire has gone (the
emitter's `wire_mark`/`on_sent`), and can skip an id on request (`gap`). No Venue registers
here: this class has no `name`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from simulator.assets import base_usd_price
from simulator.changes import Top
from simulator.venues.base import Venue
from simulator.venues.ladder import Ladder

Levels = list[tuple[str, str]]  # (price text, size text), best first
Wire = tuple[int, Levels, Levels]  # last id on the wire, bids, asks


class DepthWire(Venue):
    """Per-symbol ladders, the wire's book for snapshots, and the `gap` fault."""

    def init_depth(self, rng: random.Random, size_text: Callable[[float], str],
                   zero: str) -> None:
        """Set up a ladder per symbol (call once the symbols' update ids exist)."""
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, rng,
                      3000.0 / base_usd_price(s), size_text, zero)
            for s in self.symbols
        }
        self._wire: dict[str, Wire] = {s: (self.book_id(s), [], []) for s in self.symbols}
        self._skip: set[str] = set()  # symbols whose next diff skips an id

    def book_id(self, symbol: str) -> int:
        """The id of `symbol`'s latest book change (rendered, maybe not yet sent)."""
        raise NotImplementedError

    def skip_id(self, symbol: str) -> bool:
        """True once after `gap`: the caller then leaves one id off the wire."""
        if symbol not in self._skip:
            return False
        self._skip.discard(symbol)
        return True

    def move_book(self, symbol: str, top: Top) -> list[tuple[str, str, str]]:
        """The ladder moved to the change's top: its (side, price, size) level changes."""
        return self._ladders[symbol].apply(top)

    def wire_book(self, symbol: str, limit: int) -> tuple[int, Levels, Levels]:
        """The snapshot: last id on the wire, and up to `limit` levels per side."""
        last_id, bids, asks = self._wire[symbol]
        return last_id, bids[:limit], asks[:limit]

    def fault(self, action: str) -> bool:
        """`gap`: every symbol's next depth diff skips an update id; the rest as before."""
        if action != "gap":
            return super().fault(action)
        self._skip.update(self.symbols)
        return True

    def wire_mark(self, symbol: str) -> object:
        """The book once the change just rendered is on the wire."""
        ladder = self._ladders[symbol]
        return self.book_id(symbol), ladder.levels("buy"), ladder.levels("sell")

    def on_sent(self, symbol: str, mark: object) -> None:
        """REST snapshots show the book as far as the wire has gone."""
        self._wire[symbol] = mark  # type: ignore[assignment]
