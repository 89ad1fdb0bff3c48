"""A book seeded from a snapshot with an update id, then kept by deltas numbered first..last.

The rule most venues with REST snapshots share (Binance's `U`/`u`, Gate.io's, KuCoin's
`sequenceStart`/`sequenceEnd`): deltas that arrive before the snapshot wait; the snapshot
(id S) drops those it already holds (last <= S); the first delta applied must straddle S + 1;
each later one must start right after the one before. Anything else is a hole in the book.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from core.orderbook import OrderBook

Levels = Iterable[tuple[float, float]]  # (price, size); size 0 removes the level

# Deltas kept while the snapshot is on its way; a venue that outruns this before its REST
# answer comes has moved on so far that the snapshot could not be joined to them anyway.
MAX_PENDING = 5_000

APPLIED, BUFFERED, STALE, GAP = "applied", "buffered", "stale", "gap"


class SeededBook:
    """One market's book: a snapshot with an id plus contiguous deltas, or a gap."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.book = OrderBook()
        self.last_id: int | None = None  # None: no snapshot yet
        self._pending: deque[tuple[int, int, list[tuple[float, float]],
                                   list[tuple[float, float]]]] = deque()
        self._max_pending = max_pending

    @property
    def ready(self) -> bool:
        """True once a snapshot is in and every delta since joined it."""
        return self.last_id is not None

    @property
    def waiting(self) -> int:
        """Deltas held until the snapshot comes (the first one is when to ask for it)."""
        return len(self._pending)

    def reset(self) -> None:
        """Forget the book and the waiting deltas (a new connection, or a resync)."""
        self.book.clear()
        self.last_id = None
        self._pending.clear()

    def on_delta(self, first: int, last: int, bids: Levels, asks: Levels) -> str:
        """Apply (or hold) one delta; APPLIED, BUFFERED, STALE or GAP."""
        if self.last_id is None:
            if len(self._pending) >= self._max_pending:
                # The oldest goes: if the snapshot is newer it was stale anyway, and if not,
                # the next one kept no longer joins it and the snapshot reports the gap.
                self._pending.popleft()
            self._pending.append((first, last, list(bids), list(asks)))
            return BUFFERED
        if last <= self.last_id:
            return STALE
        if first > self.last_id + 1:
            return GAP
        self._apply(bids, asks)
        self.last_id = last
        return APPLIED

    def on_snapshot(self, last_id: int, bids: Levels, asks: Levels) -> str:
        """Seed the book at `last_id` and join the waiting deltas; APPLIED or GAP."""
        self.book.snapshot(bids, asks)
        self.last_id = last_id
        pending, self._pending = self._pending, deque()
        for first, last, delta_bids, delta_asks in pending:
            if last <= self.last_id:
                continue
            if first > self.last_id + 1:
                self.reset()
                return GAP
            self._apply(delta_bids, delta_asks)
            self.last_id = last
        return APPLIED

    def _apply(self, bids: Levels, asks: Levels) -> None:
        for is_bid, levels in ((True, bids), (False, asks)):
            side = self.book.side(is_bid)
            for price, size in levels:
                side.set(price, size)
