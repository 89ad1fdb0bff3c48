"""Batching on the websocket threads and a sending thread that times the flushes, publishes each
batch as a task and holds what the broker does not take."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from core.backoff import capped_delay
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
    batch of quotes alone keeps the message shape consumers without depth support expect.
    """
    from workers.task_sender import celery_task_sender

    return celery_task_sender()


# Retry delays while the broker refuses batches: 0.2 s doubling to 5 s.
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
STOP_FLUSH_S = 30.0  # on shutdown, how long to keep trying to hand held batches to the broker


class Publisher(threading.Thread):
    """Sends the batches the websocket threads fill; times the flushes; holds what fails.

    Batches the broker cannot take are held in a bounded local buffer, in order, and resent
    when it is back, while quotes keep arriving and being batched. Held arbitrage batches are
    merged into one (the newest quote and book per series: all the arbitrage state needs);
    storage batches are kept whole up to `capacity`, beyond which the oldest is dropped and
    counted. A batch resent after an unconfirmed publish may arrive twice: both tasks are
    idempotent (InfluxDB overwrites the same point; Redis keeps the newer quote).
    """

    def __init__(self, send: SendBatch, batcher: Batcher | None = None,
                 capacity: int = 1000, clocked: bool = False) -> None:
        super().__init__(name="publisher", daemon=True)
        self.send = send
        self.batcher = batcher or Batcher.default()
        self.capacity = capacity
        # Clocked: the caller's loop times the flushes (`next_deadline`, `flush_due`), so this
        # thread wakes once per batch instead of also once per batch opened.
        self.clocked = clocked
        # Finished batches (or [] as a wake-up) from the websocket threads; None means stop.
        self.inbox: queue.SimpleQueue[list[Batch] | None] = queue.SimpleQueue()
        self._batch_lock = threading.Lock()  # several connections of a venue share the batcher
        self.published_batches = 0
        self.published_quotes = 0
        self.published_depths = 0
        self.failed_sends = 0
        self.dropped_batches = 0  # storage batches dropped from a full buffer
        self.dropped_quotes = 0
        # (path, quote rows, depth rows) not yet taken by the broker, oldest first.
        self._held: deque[tuple[str, list[tuple[Any, ...]], list[list[Any]]]] = deque()
        self._held_storage = 0
        self._attempt = 0
        self._retry_at = 0.0
        self._stopping = False

    @property
    def buffer_batches(self) -> int:
        """Batches held for the broker right now."""
        return len(self._held)

    @property
    def buffer_quotes(self) -> int:
        """Quotes in the held batches."""
        return sum(len(rows) for _, rows, _ in list(self._held))

    def put(self, quotes: list[Quote], depths: Sequence[Depth] = ()) -> None:
        """Batch quotes (and depth) on the websocket thread; wake the sender only when needed.

        Batching here rather than on the sending thread saves a thread wake-up per frame (at
        625 frames/s that hand-off was most of a feed worker's CPU). The sender is woken when
        a batch is full, or when this frame made the earliest flush deadline earlier (a new
        batch opened): it sleeps until that deadline otherwise.
        """
        if self.clocked:
            with self._batch_lock:
                full = self.batcher.add(quotes, time.monotonic(), depths)
            if full:
                self.inbox.put(full)
            return
        with self._batch_lock:
            before = self.batcher.next_deadline()
            full = self.batcher.add(quotes, time.monotonic(), depths)
            after = self.batcher.next_deadline()
        if full:
            self.inbox.put(full)
        elif after is not None and (before is None or after < before):
            self.inbox.put([])  # a wake-up: sleep until the new, earlier deadline instead

    def next_deadline(self) -> float | None:
        """When the earliest pending batch is due (monotonic), or None when none is pending."""
        if self.clocked:
            # Clocked, only the loop's thread fills and flushes the batcher (the sending
            # thread drains it once the loop has stopped): no lock for a question asked per read.
            return self.batcher.next_deadline()
        with self._batch_lock:
            return self.batcher.next_deadline()

    def flush_due(self, now: float) -> None:
        """Hand the batches due at `now` to the sending thread (a clocked publisher's timer)."""
        with self._batch_lock:
            due = self.batcher.due(now)
        if due:
            self.inbox.put(due)

    def stop(self) -> None:
        """Flush everything pending, then end the thread."""
        self.inbox.put(None)

    def run(self) -> None:
        while True:
            with self._batch_lock:
                deadline = None if self.clocked else self.batcher.next_deadline()
            if self._held:
                deadline = self._retry_at if deadline is None else min(deadline, self._retry_at)
            timeout = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self.inbox.get(timeout=timeout)
            except queue.Empty:
                item = []
            if item is None:
                self._stopping = True
            else:
                self._publish(item)
            if self._stopping:
                with self._batch_lock:
                    self._publish(self.batcher.drain())
                self._flush_before_exit()
                return
            with self._batch_lock:
                due = self.batcher.due(time.monotonic())
            self._publish(due)

    def _publish(self, batches: list[Batch]) -> None:
        """Hold the new batches behind any already held, then send what the broker takes."""
        for path, quotes, depths in batches:
            if quotes or depths:
                self._hold(path, [tuple(q) for q in quotes], [depth_row(d) for d in depths])
        self._flush()

    def _hold(self, path: str, rows: list[tuple[Any, ...]], depth_rows: list[list[Any]]) -> None:
        if path == "arbitrage":
            for i, (held_path, held_rows, held_depths) in enumerate(self._held):
                if held_path == "arbitrage":  # at most one: merge, newest per series wins
                    self._held[i] = (path, _newest(held_rows + rows), _newest(held_depths
                                                                              + depth_rows))
                    return
        else:
            if self._held_storage >= self.capacity:
                self._drop_oldest_storage()
            self._held_storage += 1
        self._held.append((path, rows, depth_rows))

    def _drop_oldest_storage(self) -> None:
        for i, (path, rows, _) in enumerate(self._held):
            if path != "arbitrage":
                del self._held[i]
                self._held_storage -= 1
                self.dropped_batches += 1
                self.dropped_quotes += len(rows)
                log.error("feed buffer full (%d storage batches): dropped the oldest, %d quotes "
                          "(%d dropped so far)", self.capacity, len(rows), self.dropped_quotes)
                return

    def _flush(self) -> None:
        """Send held batches in order until the broker refuses one (then retry later)."""
        if not self._held or time.monotonic() < self._retry_at:
            return
        while self._held:
            path, rows, depth_rows = self._held[0]
            try:
                self.send(path, rows, depth_rows)
            except Exception as exc:  # noqa: BLE001  (any broker failure: hold and retry)
                self.failed_sends += 1
                delay = capped_delay(self._attempt, RETRY_FIRST_S, RETRY_MAX_S)
                self._attempt += 1
                self._retry_at = time.monotonic() + delay
                log.warning("publishing to %s failed (%s); holding %d batches (%d quotes), "
                            "retry in %.1f s", path, exc, len(self._held), self.buffer_quotes,
                            delay)
                return
            self._held.popleft()
            if path != "arbitrage":
                self._held_storage -= 1
            if self._attempt:
                log.info("broker back: sent a held batch to %s, %d still held", path,
                         len(self._held))
            self._attempt = 0
            self.published_batches += 1
            self.published_quotes += len(rows)
            self.published_depths += len(depth_rows)

    def _flush_before_exit(self) -> None:
        """On stop, keep retrying held batches for a while; say what could not be sent."""
        give_up = time.monotonic() + STOP_FLUSH_S
        while self._held and time.monotonic() < give_up:
            time.sleep(max(0.0, min(self._retry_at, give_up) - time.monotonic()))
            self._flush()
        if self._held:
            log.error("stopping with %d batches (%d quotes) the broker never took",
                      len(self._held), self.buffer_quotes)


def _newest(rows: list[Any]) -> list[Any]:
    """One row per (exchange, symbol): the last one given (rows arrive oldest first)."""
    return list({(row[0], row[1]): row for row in rows}.values())
