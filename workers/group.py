"""A venue's feed: as many connections as its subscription limit needs, one publisher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from core.types import Market
from workers.exchanges.base import Adapter
from workers.feed import MAX_CLOCK_SKEW_S, MAX_FRAME_BYTES, FeedWorker, SendEvents
from workers.publisher import Publisher

log = logging.getLogger(__name__)


def split_markets(markets: list[Market], limit: int | None) -> list[list[Market]]:
    """Markets in chunks of at most `limit` (one chunk per connection)."""
    if not markets:
        return []
    if limit is None or limit <= 0:
        return [list(markets)]
    return [markets[i : i + limit] for i in range(0, len(markets), limit)]


def venue_adapter(adapter_cls: type[Adapter], markets: list[Market], depth_levels: int,
                  rest_url: str | None = None) -> Adapter:
    """An adapter for one connection, publishing `depth_levels` book levels (0: none), its
    REST calls (snapshots, connect tokens) made on `rest_url` when given (a simulator)."""
    adapter = adapter_cls(markets)
    adapter.depth_levels = max(0, depth_levels)
    if rest_url:
        adapter.rest_base = rest_url
    return adapter


class FeedGroup:
    """Runs one FeedWorker per chunk of markets, each on its own thread, until stopped.

    `depth_levels` (BOOK_DEPTH) is how many levels per side adapters with a local book publish
    as Depth; 0 turns depth off. The limits (MAX_CLOCK_SKEW_S, FEED_MAX_FRAME_BYTES) go to
    every connection.
    """

    def __init__(
        self,
        adapter_cls: type[Adapter],
        markets: list[Market],
        ws_url: str,
        publisher: Publisher,
        send_events: SendEvents | None = None,
        make_worker: Callable[..., FeedWorker] = FeedWorker,
        depth_levels: int = 0,
        max_clock_skew_s: float = MAX_CLOCK_SKEW_S,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        rest_url: str | None = None,
    ) -> None:
        chunks = split_markets(markets, adapter_cls.max_markets_per_connection)
        self.workers = [
            make_worker(venue_adapter(adapter_cls, chunk, depth_levels, rest_url), ws_url,
                        publisher,
                        send_events=send_events, max_clock_skew_s=max_clock_skew_s,
                        max_frame_bytes=max_frame_bytes)
            for chunk in chunks
        ]
        self.threads = [
            threading.Thread(target=w.run, name=f"{adapter_cls.name}-{i}", daemon=True)
            for i, w in enumerate(self.workers)
        ]
        if len(chunks) > 1:
            log.info("%s: %d markets over %d connections", adapter_cls.name, len(markets),
                     len(chunks))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Ask every connection to end (safe from a signal handler)."""
        for worker in self.workers:
            worker.stop()

    def join(self, timeout_s: float = 15.0) -> None:
        for thread in self.threads:
            thread.join(timeout_s)

    @property
    def quotes(self) -> int:
        return sum(w.quotes for w in self.workers)
