"""Paces one venue's top-of-book changes: a rate, bursts when unthrottled, an optional total.

With `pregenerate`, every one of the `count` changes is rendered before the first is sent, so a
benchmark measures the pipeline and not the simulator's frame building (which would take a
share of the cores and cap the rate at full speed). Their exchange timestamps are spaced 1 µs
apart from the moment rendering started: unique and increasing, but older than the send.

A venue's state then runs ahead of what its clients have seen. Whatever it sends outside the
pre-rendered stream (heartbeats carrying a sequence, a re-pushed book) must show the state of
the last change actually sent, never a later one: each rendered change keeps the venue's
`wire_mark`, handed back through `on_sent` when the change goes out, and `rendered_ahead` tells
venues whose keepalives take a number of their own to hold them until the stream is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from simulator.venues.base import Outgoing, Venue

BURST = 256  # changes per burst at --rate 0: large enough to amortize, small enough to stay fair
IDLE_POLL_S = 0.05  # re-check for subscribers / the end of a silence at least this often
MAX_LAG_S = 0.5  # after a stall, drop the backlog rather than flood clients with a burst
SETTLE_S = 0.3  # a counted run waits until the subscribed symbols stop changing this long
# Changes rendered between yields to the event loop (pings, control, heartbeats). Every venue
# renders in turn, so a whole round is venues × chunk: small enough that the heartbeat tick
# still comes well inside the shortest watchdog (Coinbase's 10 s) with twenty venues.
RENDER_CHUNK = 200


class Emitter:
    """Drives `venue.emit()` at `rate` changes per second over the venue's active symbols."""

    def __init__(
        self, venue: Venue, rate: float, count: int | None, pregenerate: bool = False
    ) -> None:
        if pregenerate and count is None:
            raise ValueError("pre-generation needs a count of changes")
        self.venue = venue
        self.rate = rate
        self.count = count
        self.pregenerate = pregenerate
        self.total = 0
        # (symbol, frames, wire mark) per pre-rendered change, in send order; None until rendered.
        self.ready: deque[tuple[str, list[Outgoing], object]] | None = None
        # Pre-generated sending starts when this says every subscribed venue has rendered, so
        # no venue's sends compete with another's rendering (the server sets it).
        self.all_ready: Callable[[], bool] = lambda: True
        self._released = False
        self._settled = False
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

    async def _settle(self) -> None:
        """Wait until the subscribed symbols stop changing for SETTLE_S."""
        active = self.venue.active_symbols()
        while True:
            await asyncio.sleep(SETTLE_S)
            settled = self.venue.active_symbols()
            if settled == active:
                break
            active = settled
        self._settled = True

    async def _render_all(self) -> None:
        """Render all `count` changes for the symbols subscribed once subscriptions settled."""
        venue = self.venue
        active = venue.active_symbols()
        ready: deque[tuple[str, list[Outgoing], object]] = deque()
        start_us = time.time_ns() // 1000
        venue.rendered_ahead = True
        for i in range(self.count or 0):
            symbol = active[i % len(active)]
            frames = venue.frames_for(symbol, start_us + i)
            ready.append((symbol, frames, venue.wire_mark(symbol)))
            if i % RENDER_CHUNK == RENDER_CHUNK - 1:
                await asyncio.sleep(0)
        self.ready = ready
        venue.rendered_ahead = bool(ready)

    def _take(self, n: int) -> list[Outgoing]:
        """The next `n` pre-rendered changes' frames, counted as they go out."""
        assert self.ready is not None
        frames: list[Outgoing] = []
        venue = self.venue
        emitted = venue.emitted
        for _ in range(min(n, len(self.ready))):
            symbol, out, mark = self.ready.popleft()
            emitted[symbol] += 1
            frames.extend(out)
            venue.on_sent(symbol, mark)
        self.total += n
        if not self.ready:
            venue.rendered_ahead = False
        return frames

    def _build(self, active: list[str], n: int) -> list[Outgoing]:
        """Make `n` changes, round-robin over the active symbols, and their frames."""
        if self.ready is not None:
            return self._take(n)
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
            if self.count is not None and not self._settled:
                # A counted run spreads its changes over every symbol the client asks for, so
                # it must not spend them all before the second subscription lands.
                await self._settle()
                continue
            if self.pregenerate and not self._released:
                if self.ready is None:
                    await self._render_all()
                elif self.all_ready():
                    self._released = True
                else:
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
