"""The feed status hash: one per venue, summed over its connections, written about once a second."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence

from core.state import RedisState
from workers.feed import FeedWorker
from workers.publisher import Publisher

log = logging.getLogger(__name__)

_SUMMED = ("messages", "quotes", "reconnects", "markets")


def venue_state(states: Sequence[str]) -> str:
    """One word for all connections: the shared state, or `degraded` when some are down."""
    if len(set(states)) == 1:
        return states[0]
    return "degraded" if "connected" in states else states[0]


def aggregate(name: str, workers: Sequence[FeedWorker], publisher: Publisher,
              ws_url: str) -> dict[str, str | int | float]:
    """The status hash of a venue from its connections' counters."""
    parts = [w.status() for w in workers]
    errors: Counter[str] = Counter()
    last_error = ""
    for worker in workers:
        errors.update(worker.adapter.errors)
        last_error = worker.adapter.last_error or last_error
    status: dict[str, str | int | float] = {
        "exchange": name,
        "state": venue_state([str(p["state"]) for p in parts]) if parts else "idle",
        "connections": len(workers),
        "connected_since_ns": min((int(p["connected_since_ns"]) for p in parts), default=0),
        "last_message_ns": max((int(p["last_message_ns"]) for p in parts), default=0),
        "parse_errors": sum(errors.values()),
        "errors": json.dumps(dict(errors), sort_keys=True),
        "last_error": last_error,
        "symbols": ",".join(sorted(m.symbol for w in workers for m in w.adapter.markets.values())),
        "published_batches": publisher.published_batches,
        "updated_ns": time.time_ns(),
        "pid": os.getpid(),
        "ws_url": ws_url,
    }
    for key in _SUMMED:
        status[key] = sum(int(p[key]) for p in parts)
    return status


class StatusReporter(threading.Thread):
    """Writes a venue's status hash and a `feed` live event until stopped, then a last one."""

    def __init__(self, name: str, workers: Sequence[FeedWorker], publisher: Publisher,
                 state: RedisState, ws_url: str, interval_s: float = 1.0) -> None:
        super().__init__(name="status", daemon=True)
        self.venue = name
        self.workers = list(workers)
        self.publisher = publisher
        self.state = state
        self.ws_url = ws_url
        self.interval_s = interval_s
        self.stop_event = threading.Event()

    def write(self) -> None:
        """Store the hash and announce it; Redis trouble is logged, never raised."""
        status = aggregate(self.venue, self.workers, self.publisher, self.ws_url)
        try:
            self.state.set_feed_status(self.venue, status)
            self.state.publish("feed", status)
        except Exception as exc:  # noqa: BLE001  (status is best effort; the feed goes on)
            log.warning("%s: feed status not written: %s", self.venue, exc)

    def run(self) -> None:
        self.write()
        while not self.stop_event.wait(self.interval_s):
            self.write()
        self.write()

    def stop(self) -> None:
        """Write a final status and end."""
        self.stop_event.set()
        self.join(timeout=5)
