"""One venue of a feed process: its discovery, connections, publisher (buffer) and status hash."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from core.backoff import Backoff
from core.config import Settings
from core.state import RedisState
from workers.connection import LoopConnection
from workers.discovery import discover
from workers.exchanges import get_adapter
from workers.feed import FeedWorker, SendEvents
from workers.group import FeedGroup, split_markets, venue_adapter
from workers.loop import FeedLoop
from workers.publisher import Publisher, SendBatch
from workers.shared_path import VenuePaths, storage_batcher
from workers.status import SendStats, StatusReporter

log = logging.getLogger(__name__)


class BackgroundSender(threading.Thread):
    """Sends feed events on a thread of its own: a broker stall never reaches the read loop."""

    def __init__(self, send: SendEvents, capacity: int = 10_000) -> None:
        super().__init__(name="feed-events", daemon=True)
        self.send = send
        self.queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(capacity)
        self.dropped = 0

    def __call__(self, records: list[dict[str, Any]]) -> None:
        try:
            self.queue.put_nowait(records)
        except queue.Full:
            self.dropped += len(records)  # events are best effort; reads are not

    def run(self) -> None:
        while (records := self.queue.get()) is not None:
            try:
                self.send(records)
            except Exception as exc:  # noqa: BLE001
                log.warning("feed events not sent: %s", exc)

    def stop(self, timeout_s: float = 5.0) -> None:
        try:
            self.queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self.join(timeout_s)


class Venue:
    """Discovers a venue's markets on its own thread, then runs its connections and reporter.

    With a `loop`, the connections join the process's read loop; without one, each runs on a
    thread of its own (`--io threads`, the feed worker as it was).
    """

    def __init__(
        self, name: str, ws_url: str, rest_url: str | None, symbols: Sequence[str],
        settings: Settings, stop: threading.Event, loop: FeedLoop | None,
        send_batch: Callable[[], SendBatch], send_events: SendEvents | None,
        send_stats: SendStats | None, arbitrage: Publisher | None = None,
    ) -> None:
        self.name = name
        self.adapter_cls = get_adapter(name)
        self.ws_url = ws_url
        self.rest_url = rest_url
        self.symbols = list(symbols)
        self.settings = settings
        self.stop_event = stop
        self.loop = loop
        # With the process's shared arbitrage publisher, this venue's own carries storage only.
        self.publisher = Publisher(send_batch(), None if arbitrage is None else storage_batcher(),
                                   capacity=settings.feed_buffer_batches,
                                   clocked=loop is not None)
        self.paths: Publisher | VenuePaths = (self.publisher if arbitrage is None
                                              else VenuePaths(self.publisher, arbitrage))
        self.send_events = send_events
        self.send_stats = send_stats
        self.workers: list[FeedWorker] = []
        self.group: FeedGroup | None = None
        self.reporter: StatusReporter | None = None
        self.thread = threading.Thread(target=self._start, name=f"{name}-start", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _start(self) -> None:
        """Discovery (retried until it works, however long) and then everything else."""
        markets = discover(self.adapter_cls, self.rest_url, self.symbols, self.stop_event)
        if self.stop_event.is_set():
            return
        if not markets:
            # Exiting would take the other venues (and a whole Procfile stack) down: idle.
            log.error("%s lists none of %s; idling", self.name, ", ".join(self.symbols))
        else:
            log.info("%s: following %s", self.name, ", ".join(m.symbol for m in markets))
        depth = self.settings.book_depth
        if self.loop is None:
            self.group = FeedGroup(self.adapter_cls, markets, self.ws_url, self.publisher,
                                   send_events=self.send_events, depth_levels=depth,
                                   max_clock_skew_s=self.settings.max_clock_skew_s,
                                   max_frame_bytes=self.settings.feed_max_frame_bytes,
                                   rest_url=self.rest_url)
            self.workers = list(self.group.workers)
        else:
            self.workers = [
                LoopConnection(venue_adapter(self.adapter_cls, chunk, depth, self.rest_url),
                               self.ws_url,
                               self.paths, send_events=self.send_events,  # type: ignore[arg-type]
                               backoff=Backoff(),
                               max_clock_skew_s=self.settings.max_clock_skew_s,
                               max_frame_bytes=self.settings.feed_max_frame_bytes)
                for chunk in split_markets(markets, self.adapter_cls.max_markets_per_connection)
            ]
        self.publisher.start()
        state = RedisState.from_url(self.settings.redis_url, self.settings.key_prefix)
        self.reporter = StatusReporter(self.name, self.workers, self.publisher, state,
                                       self.ws_url, send_stats=self.send_stats,
                                       behind_s=self.settings.feed_behind_s)
        self.reporter.start()
        if self.stop_event.is_set():
            return
        if self.group is not None:
            self.group.start()
        for conn in self.workers:
            if isinstance(conn, LoopConnection) and self.loop is not None:
                self.loop.add(conn)

    def stop(self) -> None:
        """Ask the connections to end (safe from a signal handler)."""
        for worker in list(self.workers):
            worker.stop()

    def stop_publishing(self) -> None:
        """After the reads ended: flush the buffer (the caller joins)."""
        if self.group is not None:
            self.group.join()
        if self.publisher.is_alive():
            self.publisher.stop()

    def finish(self) -> None:
        """Wait for the flush, then write the final status."""
        if self.publisher.is_alive():
            self.publisher.join(timeout=30)
        if self.reporter is not None:
            self.reporter.stop()

    @property
    def quotes(self) -> int:
        return sum(w.quotes for w in self.workers)
