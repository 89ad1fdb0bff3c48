"""The publishing thread: drains parsed quotes into the Batcher and sends each batch as a task."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from core.types import Quote
from workers.batcher import Batcher

log = logging.getLogger(__name__)

# (path name, rows) → None; raises when the broker cannot take the batch.
SendBatch = Callable[[str, list[tuple[Any, ...]]], None]


def celery_sender() -> SendBatch:
    """Send arbitrage batches to `ingest_quotes` and storage batches to `store_quotes`."""
    from tasks.arbitrage import ingest_quotes
    from tasks.storage import store_quotes

    targets = {"arbitrage": ingest_quotes, "storage": store_quotes}
    policy = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}

    def send(path: str, rows: list[tuple[Any, ...]]) -> None:
        targets[path].apply_async(args=[rows], retry=True, retry_policy=policy)

    return send


class Publisher(threading.Thread):
    """Owns the Batcher; the websocket thread only hands it quotes through a queue."""

    def __init__(self, send: SendBatch, batcher: Batcher | None = None) -> None:
        super().__init__(name="publisher", daemon=True)
        self.send = send
        self.batcher = batcher or Batcher.default()
        self.inbox: queue.SimpleQueue[list[Quote] | None] = queue.SimpleQueue()
        self.published_batches = 0
        self.published_quotes = 0
        self.failed_sends = 0
        self._stopping = False

    def put(self, quotes: list[Quote]) -> None:
        """Hand over quotes from the websocket thread (never blocks)."""
        self.inbox.put(quotes)

    def stop(self) -> None:
        """Flush everything pending, then end the thread."""
        self.inbox.put(None)

    def run(self) -> None:
        while True:
            deadline = self.batcher.next_deadline()
            timeout = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self.inbox.get(timeout=timeout)
            except queue.Empty:
                item = []
            if item is None:
                self._stopping = True
            else:
                self._publish(self.batcher.add(item, time.monotonic()))
                # Take whatever else already waits before checking timers: fewer, fuller batches.
                while not self._stopping:
                    try:
                        more = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._stopping = True
                    else:
                        self._publish(self.batcher.add(more, time.monotonic()))
            if self._stopping:
                self._publish(self.batcher.drain())
                return
            self._publish(self.batcher.due(time.monotonic()))

    def _publish(self, batches: list[tuple[str, list[Quote]]]) -> None:
        for path, quotes in batches:
            if not quotes:
                continue
            rows = [tuple(q) for q in quotes]
            attempt = 0
            # Keep the batch until the broker takes it: quotes are never dropped here.
            while True:
                try:
                    self.send(path, rows)
                    break
                except Exception as exc:  # noqa: BLE001  (any broker failure: keep retrying)
                    self.failed_sends += 1
                    delay = min(5.0, 0.2 * 2**attempt)
                    attempt += 1
                    log.warning("publishing %d quotes to %s failed (%s); retry in %.1f s",
                                len(rows), path, exc, delay)
                    time.sleep(delay)
            self.published_batches += 1
            self.published_quotes += len(rows)
