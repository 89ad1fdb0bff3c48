"""Per-key rate limiting of live events: at most one update per key per window, newest wins."""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Generic, TypeVar

WINDOW_S = 0.2  # coalescing window: at most 5 updates per second per key
FLUSH_TICK_S = 0.025  # held updates are flushed on a shared tick so clients wake together
# Past this many remembered keys, those whose window ended are forgotten, so keys that went
# quiet (delisted symbols, a hostile publisher) never grow memory without bound.
MAX_REMEMBERED_KEYS = 4096

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Per-key rate limit: the first item goes out at once, later ones inside the window are
    merged (newest wins) and released when the window ends, which starts the next window."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._sent_at: dict[Hashable, float] = {}  # key → start of its current window
        self._pending: dict[Hashable, T] = {}
        self._deadlines: list[tuple[float, int, Hashable]] = []  # heap over pending keys
        self._seq = 0

    def offer(self, key: Hashable, item: T, now: float) -> T | None:
        """Returns `item` when it may go out now, else holds it (replacing an older held one)."""
        started = self._sent_at.get(key)
        if started is None or now - started >= self.window_s:
            if key not in self._pending:
                self._sent_at[key] = now
                return item
        if key not in self._pending:
            self._seq += 1
            heapq.heappush(self._deadlines, (started + self.window_s, self._seq, key))
        self._pending[key] = item
        return None

    def flush(self, now: float) -> list[T]:
        """The held items whose window has ended, oldest deadline first; each starts a window."""
        out: list[T] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, key = heapq.heappop(self._deadlines)
            out.append(self._pending.pop(key))
            self._sent_at[key] = now
        if len(self._sent_at) > MAX_REMEMBERED_KEYS:
            self._sent_at = {k: t for k, t in self._sent_at.items()
                             if now - t < self.window_s or k in self._pending}
        return out

    def next_deadline(self) -> float | None:
        """When the earliest held item is due, or None when nothing is held."""
        return self._deadlines[0][0] if self._deadlines else None

    def __len__(self) -> int:
        return len(self._pending)
