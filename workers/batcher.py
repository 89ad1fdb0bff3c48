"""Two-path batching of quotes (sans I/O): small and fresh for arbitrage, large for storage.

The arbitrage path also carries book depth (`Depth`): the newest per (exchange, symbol), sent
with its quotes. Storage keeps quotes only; depth is current state, not history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from core.types import Depth, Quote


class Batch(NamedTuple):
    """One batch for one path: its quotes and (arbitrage path only) its depth."""

    path: str
    quotes: list[Quote]
    depths: list[Depth]


@dataclass(slots=True)
class BatchPath:
    """One destination's batch, flushed at `max_size` items or when the oldest is `max_age_s` old.

    With `coalesce`, only the newest quote per (exchange, symbol) is kept: the arbitrage state
    needs nothing older, and the batch stays small however fast the venue streams. With
    `depths`, the path also keeps the newest Depth per (exchange, symbol); otherwise it ignores
    depth altogether.
    """

    name: str
    max_age_s: float
    max_size: int
    coalesce: bool = False
    depths: bool = False
    _rows: list[Quote] = field(default_factory=list)
    _newest: dict[tuple[str, str], Quote] = field(default_factory=dict)
    _books: dict[tuple[str, str], Depth] = field(default_factory=dict)
    _count: int = 0
    _since: float | None = None

    def add(self, quote: Quote, now: float) -> None:
        """Queue one quote."""
        if self._since is None:
            self._since = now
        self._count += 1
        if self.coalesce:
            self._newest[(quote.exchange, quote.symbol)] = quote
        else:
            self._rows.append(quote)

    def add_depth(self, depth: Depth, now: float) -> None:
        """Queue one Depth, keeping the newest (by `ts_ns`) per series; ignored unless `depths`."""
        if not self.depths:
            return
        if self._since is None:
            self._since = now
        self._count += 1
        key = (depth.exchange, depth.symbol)
        held = self._books.get(key)
        # Several connections of a venue share one publisher: never let an older book win.
        if held is None or depth.ts_ns >= held.ts_ns:
            self._books[key] = depth

    @property
    def pending(self) -> int:
        """Quotes and depths added since the last flush (before coalescing)."""
        return self._count

    def deadline(self) -> float | None:
        """When the oldest pending item reaches `max_age_s`, or None when empty."""
        return None if self._since is None else self._since + self.max_age_s

    def is_due(self, now: float) -> bool:
        """True when full or old enough to flush."""
        if self._since is None:
            return False
        return self._count >= self.max_size or now >= self._since + self.max_age_s

    def take(self) -> Batch:
        """Hand over the pending quotes and depths and start an empty batch."""
        rows = list(self._newest.values()) if self.coalesce else self._rows
        batch = Batch(self.name, rows, list(self._books.values()))
        self._rows, self._newest, self._books, self._count, self._since = [], {}, {}, 0, None
        return batch


class Batcher:
    """Feeds every quote (and depth) to each path and says which batches are ready to publish."""

    def __init__(self, paths: Iterable[BatchPath]) -> None:
        self.paths = list(paths)

    @classmethod
    def default(cls) -> Batcher:
        """The design's two paths: arbitrage 20 ms / 500 items (with depth), storage 250 ms /
        5,000 quotes."""
        return cls([
            BatchPath("arbitrage", max_age_s=0.020, max_size=500, coalesce=True, depths=True),
            BatchPath("storage", max_age_s=0.250, max_size=5000),
        ])

    def add(
        self, quotes: Iterable[Quote], now: float, depths: Iterable[Depth] = ()
    ) -> list[Batch]:
        """Queue quotes and depths on every path; returns the batches that became full.

        Depths go in first: a frame's Depth and Quote are handed over together, and a batch
        filled by the quote then carries the book it came from.
        """
        ready: list[Batch] = []
        depths = list(depths)
        if depths:
            for path in self.paths:
                for depth in depths:
                    path.add_depth(depth, now)
        for quote in quotes:
            for path in self.paths:
                path.add(quote, now)
                if path.pending >= path.max_size:
                    ready.append(path.take())
        if depths:
            ready += [p.take() for p in self.paths if p.pending >= p.max_size]
        return ready

    def due(self, now: float) -> list[Batch]:
        """Batches whose time (or size) has come."""
        return [p.take() for p in self.paths if p.is_due(now)]

    def drain(self) -> list[Batch]:
        """Every non-empty batch, regardless of age (on shutdown)."""
        return [p.take() for p in self.paths if p.pending]

    def next_deadline(self) -> float | None:
        """The earliest time a path becomes due, or None when all are empty."""
        # Called on every frame: a plain loop, no list or generator.
        best = None
        for path in self.paths:
            since = path._since
            if since is not None and (best is None or since + path.max_age_s < best):
                best = since + path.max_age_s
        return best
