"""The feed status hash: one per venue, summed over its connections, written about once a second."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from core.config import Settings
from core.state import RedisState
from core.stores.feeds import FeedStatus
from workers.feed import FeedWorker
from workers.publisher import Publisher

log = logging.getLogger(__name__)

_SUMMED = ("messages", "quotes", "reconnects", "markets", "resyncs", "clock_skew")
LAST_ERROR_CHARS = 500
BEHIND_S = Settings().feed_behind_s  # the default; feed processes pass FEED_BEHIND_S


def venue_state(states: Sequence[str]) -> str:
    """One word for all connections: the shared state, or `degraded` when some are down."""
    if len(set(states)) == 1:
        return states[0]
    return "degraded" if "connected" in states else states[0]


def aggregate(name: str, workers: Sequence[FeedWorker], publisher: Publisher,
              ws_url: str, behind_s: float = BEHIND_S) -> FeedStatus:
    """The status of a venue from its connections' counters."""
    parts = [w.status() for w in workers]
    now_ns = time.time_ns()
    lag_ns = max((int(p["lag_ns"]) for p in parts), default=-1)
    last_resync_ns = max((int(p["last_resync_ns"]) for p in parts), default=0)
    behind = lag_ns > behind_s * 1e9 or (last_resync_ns and now_ns - last_resync_ns
                                         < behind_s * 1e9)
    errors: Counter[str] = Counter()
    last_error = ""
    for worker in workers:
        errors.update(worker.adapter.errors)
        last_error = worker.last_error or last_error
    summed = {key: sum(int(p[key]) for p in parts) for key in _SUMMED}
    return FeedStatus(
        exchange=name,
        state=venue_state([str(p["state"]) for p in parts]) if parts else "idle",
        connections=len(workers),
        connected_since_ns=min((int(p["connected_since_ns"]) for p in parts), default=0),
        last_message_ns=max((int(p["last_message_ns"]) for p in parts), default=0),
        parse_errors=sum(errors.values()),
        errors=dict(errors),
        # Venue text, possibly huge or hostile: bounded before it reaches Redis and the pages.
        last_error=last_error[:LAST_ERROR_CHARS],
        symbols=tuple(sorted(m.symbol for w in workers for m in w.adapter.markets.values())),
        published_batches=publisher.published_batches,
        buffer_batches=publisher.buffer_batches,
        buffer_quotes=publisher.buffer_quotes,
        buffer_capacity=publisher.capacity,
        buffer_dropped=publisher.dropped_batches,
        buffer_dropped_quotes=publisher.dropped_quotes,
        # Keeping up with the venue: the worst lag behind its clock over the last interval
        # (None when it sends no time), and whether it is falling behind.
        lag_ms=round(lag_ns / 1e6, 3) if lag_ns >= 0 else None,
        behind=bool(behind),
        updated_ns=now_ns,
        pid=os.getpid(),
        ws_url=ws_url,
        **summed,
    )


# (exchange, window end ns, messages, quotes, mean quote age s, samples) → the storage queue.
SendStats = Callable[[list[dict[str, Any]]], None]


class FeedStatsWindow:
    """Per-minute history of a venue's feed: message and quote counts, mean quote age.

    Quote age is sampled at every status write (about once a second) as now minus the newest
    frame's receipt time, so the mean says how fresh this venue's data was over the window.
    """

    def __init__(self, name: str, window_s: float = 60.0) -> None:
        self.name = name
        self.window_s = window_s
        self._started = time.monotonic()
        self._messages = 0
        self._quotes = 0
        self._age_sum = 0.0
        self._samples = 0

    def sample(self, status: FeedStatus, now_ns: int) -> dict[str, Any] | None:
        """Add one status sample; returns the finished window's record when one is due."""
        messages, quotes, last_ns = status.messages, status.quotes, status.last_message_ns
        if last_ns:
            self._age_sum += max(0.0, (now_ns - last_ns) / 1e9)
            self._samples += 1
        if time.monotonic() - self._started < self.window_s:
            return None
        record = {
            "exchange": self.name,
            "ts_ns": now_ns,
            "messages": max(0, messages - self._messages),
            "quotes": max(0, quotes - self._quotes),
            "mean_quote_age_s": self._age_sum / self._samples if self._samples else None,
            "samples": self._samples,
        }
        self._started = time.monotonic()
        self._messages, self._quotes = messages, quotes
        self._age_sum, self._samples = 0.0, 0
        return record


class StatusReporter(threading.Thread):
    """Writes a venue's status hash and a `feed` live event until stopped, then a last one."""

    def __init__(self, name: str, workers: Sequence[FeedWorker], publisher: Publisher,
                 state: RedisState, ws_url: str, interval_s: float = 1.0,
                 send_stats: SendStats | None = None, stats_window_s: float = 60.0,
                 behind_s: float = BEHIND_S) -> None:
        super().__init__(name="status", daemon=True)
        self.send_stats = send_stats
        self.stats = FeedStatsWindow(name, stats_window_s)
        self.venue = name
        self.workers = list(workers)
        self.publisher = publisher
        self.state = state
        self.ws_url = ws_url
        self.interval_s = interval_s
        self.behind_s = behind_s
        self.stop_event = threading.Event()

    def write(self) -> None:
        """Store the hash and announce it; Redis trouble is logged, never raised."""
        status = aggregate(self.venue, self.workers, self.publisher, self.ws_url,
                           self.behind_s)
        try:
            self.state.feeds.set(self.venue, status)
            self.state.publish("feed", status.to_event())
        except Exception as exc:  # noqa: BLE001  (status is best effort; the feed goes on)
            log.warning("%s: feed status not written: %s", self.venue, exc)
        record = self.stats.sample(status, time.time_ns())
        if record is not None and self.send_stats is not None:
            try:
                self.send_stats([record])
            except Exception as exc:  # noqa: BLE001  (history is best effort too)
                log.warning("%s: feed stats not sent: %s", self.venue, exc)

    def run(self) -> None:
        self.write()
        while not self.stop_event.wait(self.interval_s):
            self.write()
        self.write()

    def stop(self) -> None:
        """Write a final status and end."""
        self.stop_event.set()
        self.join(timeout=5)
