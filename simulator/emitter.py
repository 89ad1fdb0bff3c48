"""Paces one venue's top-of-book changes: a rate, bursts when unthrottled, an optional total."""

from __future__ import annotations

import asyncio
import time

from simulator.venues.base import Outgoing, Venue

BURST = 256  # changes per burst at --rate 0: large enough to amortize, small enough to stay fair
IDLE_POLL_S = 0.05  # re-check for subscribers / the end of a silence at least this often
MAX_LAG_S = 0.5  # after a stall, drop the backlog rather than flood clients with a burst


class Emitter:
    """Drives `venue.emit()` at `rate` changes per second over the venue's active symbols."""

    def __init__(self, venue: Venue, rate: float, count: int | None) -> None:
        self.venue = venue
        self.rate = rate
        self.count = count
        self.total = 0
        self._wake = asyncio.Event()
        self._next_symbol = 0
        venue.on_activity = self.wake

    def wake(self) -> None:
        """Re-check now (a subscription arrived or a silence ended)."""
        self._wake.set()

    def done(self) -> bool:
        """True once `count` changes went out."""
        return self.count is not None and self.total >= self.count

    async def _idle(self) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
        except TimeoutError:
            pass

    def _build(self, active: list[str], n: int) -> list[Outgoing]:
        """Make `n` changes, round-robin over the active symbols, and their frames."""
        now_us = time.time_ns() // 1000
        frames: list[Outgoing] = []
        venue = self.venue
        for _ in range(n):
            symbol = active[self._next_symbol % len(active)]
            self._next_symbol += 1
            frames.extend(venue.emit(symbol, now_us))
        self.total += n
        return frames

    def emit_now(self, symbol: str, now_us: int) -> list[Outgoing]:
        """One change of `symbol` at `now_us`, outside the pacing (a dislocation's edge).

        Nothing while silenced or while nobody subscribes to `symbol`: the paced emission that
        resumes afterwards already carries the current shift. Edges do not count toward `count`.
        """
        venue = self.venue
        if venue.silent or symbol not in venue.active_symbols():
            return []
        return venue.emit(symbol, now_us)

    async def run(self) -> None:
        """Emit forever (until cancelled); idles while silent, unsubscribed or done."""
        loop = asyncio.get_running_loop()
        venue = self.venue
        base_t: float | None = None  # pacing origin; reset after every idle period
        sent = 0
        while True:
            active = venue.active_symbols()
            if venue.silent or not active or self.done():
                base_t = None
                await self._idle()
                continue
            if self.rate > 0:
                now = loop.time()
                if base_t is None or now - (base_t + sent / self.rate) > MAX_LAG_S:
                    base_t, sent = now, 0
                due = int((now - base_t) * self.rate) + 1 - sent  # the first one goes at once
                if due <= 0:
                    await asyncio.sleep(base_t + sent / self.rate - now)
                    continue
            else:
                due = BURST
            if self.count is not None:
                due = min(due, self.count - self.total)
            sent += due
            # A burst is built and then sent whole: a change counted is a change delivered,
            # even if a silence starts while the sends are awaited.
            await venue.broadcast(self._build(active, due))
            if self.rate <= 0:
                await asyncio.sleep(0)  # let control requests and client frames in between bursts
