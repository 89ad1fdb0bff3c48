"""The publishing thread: drains parsed quotes and depth into the Batcher and sends each batch
as a task."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.types import Depth, Quote
from workers.batcher import Batch, Batcher

log = logging.getLogger(__name__)

# (path name, quote rows, depth rows) → None; raises when the broker cannot take the batch.
SendBatch = Callable[[str, list[tuple[Any, ...]], list[list[Any]]], None]


def depth_row(depth: Depth) -> list[Any]:
    """A Depth's wire form: `[exchange, symbol, [[p, s], ...], [[p, s], ...], ts_ns]`."""
    return [depth.exchange, depth.symbol, [list(level) for level in depth.bids],
            [list(level) for level in depth.asks], depth.ts_ns]


def celery_sender() -> SendBatch:
    """Send arbitrage batches to `ingest_quotes` and storage batches to `store_quotes`.

    Depth goes to `ingest_quotes` as the `books` keyword, and only when there is some, so a
    batch of quotes alone looks exactly as it did before books existed.
    """
    from tasks.arbitrage import ingest_quotes
    from tasks.storage import store_quotes

    targets = {"arbitrage": ingest_quotes, "storage": store_quotes}
    policy = {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}

    def send(path: str, rows: list[tuple[Any, ...]], depth_rows: list[list[Any]]) -> None:
        kwargs = {"books": depth_rows} if depth_rows else None
        targets[path].apply_async(args=[rows], kwargs=kwargs, retry=True, retry_policy=policy)

    return send


class Publisher(threading.Thread):
    """Owns the Batcher; the websocket thread only hands it quotes and depth through a queue."""

    def __init__(self, send: SendBatch, batcher: Batcher | None = None) -> None:
        super().__init__(name="publisher", daemon=True)
        self.send = send
        self.batcher = batcher or Batcher.default()
        self.inbox: queue.SimpleQueue[tuple[list[Quote], Sequence[Depth]] | None] = (
            queue.SimpleQueue())
        self.published_batches = 0
        self.published_quotes = 0
        self.published_depths = 0
        self.failed_sends = 0
        self._stopping = False

    def put(self, quotes: list[Quote], depths: Sequence[Depth] = ()) -> None:
        """Hand over quotes (and depth) from the websocket thread (never blocks)."""
        self.inbox.put((quotes, depths))

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
                item = ([], ())
            if item is None:
                self._stopping = True
            else:
                self._publish(self.batcher.add(item[0], time.monotonic(), item[1]))
                # Take whatever else already waits before checking timers: fewer, fuller batches.
                while not self._stopping:
                    try:
                        more = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self._stopping = True
                    else:
                        self._publish(self.batcher.add(more[0], time.monotonic(), more[1]))
            if self._stopping:
                self._publish(self.batcher.drain())
                return
            self._publish(self.batcher.due(time.monotonic()))

    def _publish(self, batches: list[Batch]) -> None:
        for path, quotes, depths in batches:
            if not quotes and not depths:
                continue
            rows = [tuple(q) for q in quotes]
            depth_rows = [depth_row(d) for d in depths]
            attempt = 0
            # Keep the batch until the broker takes it: quotes are never dropped here.
            while True:
                try:
                    self.send(path, rows, depth_rows)
                    break
                except Exception as exc:  # noqa: BLE001  (any broker failure: keep retrying)
                    self.failed_sends += 1
                    delay = min(5.0, 0.2 * 2**attempt)
                    attempt += 1
                    log.warning("publishing %d quotes and %d books to %s failed (%s); "
                                "retry in %.1f s", len(rows), len(depth_rows), path, exc, delay)
                    time.sleep(delay)
            self.published_batches += 1
            self.published_quotes += len(rows)
            self.published_depths += len(depth_rows)
