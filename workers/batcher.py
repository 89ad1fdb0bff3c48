"""Two-path batching of quotes (sans I/O): small and fresh for arbitrage, large for storage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.types import Quote


@dataclass(slots=True)
class BatchPath:
    """One destination's batch, flushed at `max_size` quotes or when the oldest is `max_age_s` old.

    With `coalesce`, only the newest quote per (exchange, symbol) is kept: the arbitrage state
    needs nothing older, and the batch stays small however fast the venue streams.
    """

    name: str
    max_age_s: float
    max_size: int
    coalesce: bool = False
    _rows: list[Quote] = field(default_factory=list)
    _newest: dict[tuple[str, str], Quote] = field(default_factory=dict)
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

    @property
    def pending(self) -> int:
        """Quotes added since the last flush (before coalescing)."""
        return self._count

    def deadline(self) -> float | None:
        """When the oldest pending quote reaches `max_age_s`, or None when empty."""
        return None if self._since is None else self._since + self.max_age_s

    def is_due(self, now: float) -> bool:
        """True when full or old enough to flush."""
        if self._since is None:
            return False
        return self._count >= self.max_size or now >= self._since + self.max_age_s

    def take(self) -> list[Quote]:
        """Hand over the pending quotes and start an empty batch."""
        rows = list(self._newest.values()) if self.coalesce else self._rows
        self._rows, self._newest, self._count, self._since = [], {}, 0, None
        return rows


class Batcher:
    """Feeds every quote to each path and says which batches are ready to publish."""

    def __init__(self, paths: Iterable[BatchPath]) -> None:
        self.paths = list(paths)

    @classmethod
    def default(cls) -> Batcher:
        """The design's two paths: arbitrage 20 ms / 500 quotes, storage 250 ms / 5,000 quotes."""
        return cls([
            BatchPath("arbitrage", max_age_s=0.020, max_size=500, coalesce=True),
            BatchPath("storage", max_age_s=0.250, max_size=5000),
        ])

    def add(self, quotes: Iterable[Quote], now: float) -> list[tuple[str, list[Quote]]]:
        """Queue quotes on every path; returns the batches that became full."""
        ready: list[tuple[str, list[Quote]]] = []
        for quote in quotes:
            for path in self.paths:
                path.add(quote, now)
                if path.pending >= path.max_size:
                    ready.append((path.name, path.take()))
        return ready

    def due(self, now: float) -> list[tuple[str, list[Quote]]]:
        """Batches whose time (or size) has come."""
        return [(p.name, p.take()) for p in self.paths if p.is_due(now)]

    def drain(self) -> list[tuple[str, list[Quote]]]:
        """Every non-empty batch, regardless of age (on shutdown)."""
        return [(p.name, p.take()) for p in self.paths if p.pending]

    def next_deadline(self) -> float | None:
        """The earliest time a path becomes due, or None when all are empty."""
        deadlines = [d for p in self.paths if (d := p.deadline()) is not None]
        return min(deadlines) if deadlines else None
