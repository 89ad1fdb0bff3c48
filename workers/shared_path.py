"""The arbitrage path shared by every venue of a feed process: one message per 20 ms for all.

Each venue's arbitrage batch used to be its own broker message every 20 ms: eight venues made
400 small tasks a second, and their per-message cost (Celery's and the AMQP client's, then
RabbitMQ's queueing in front of the arbitrage worker) was most of the latency tail. Venues of
one process now feed one arbitrage batch; each venue keeps its own storage publisher, buffer
and status. The arbitrage path needs only the newest quote and book per series, so sharing it
loses nothing, and one venue's quotes can never hold back another's (the batch leaves on time
whichever venue filled it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.types import Depth, Quote
from workers.batcher import Batcher
from workers.publisher import Publisher, SendBatch


def arbitrage_batcher() -> Batcher:
    """The design's arbitrage path alone (20 ms / 500 items, newest per series, with depth)."""
    return Batcher([path for path in Batcher.default().paths if path.name == "arbitrage"])


def storage_batcher() -> Batcher:
    """The design's storage path alone (250 ms / 5,000 quotes)."""
    return Batcher([path for path in Batcher.default().paths if path.name == "storage"])


def shared_arbitrage_publisher(send: SendBatch, capacity: int) -> Publisher:
    """The process's one arbitrage publisher, timed by the feed loop."""
    return Publisher(send, arbitrage_batcher(), capacity=capacity, clocked=True)


class VenuePaths:
    """A venue's publishing: its own storage publisher and the process's arbitrage publisher.

    Reads as the venue's Publisher for everything a status or a loop asks (counters and buffer
    are the storage publisher's: the buffer that must not lose quotes).
    """

    def __init__(self, storage: Publisher, arbitrage: Publisher) -> None:
        self.storage = storage
        self.arbitrage = arbitrage
        self.clocked = storage.clocked

    def put(self, quotes: list[Quote], depths: Sequence[Depth] = ()) -> None:
        """Quotes to both paths; depth rides the arbitrage path only."""
        self.storage.put(quotes)
        self.arbitrage.put(quotes, depths)

    def next_deadline(self) -> float | None:
        """The earlier of the two paths' next flush (asked after every read: kept cheap)."""
        first = self.storage.next_deadline()
        second = self.arbitrage.next_deadline()
        if first is None:
            return second
        return first if second is None or first < second else second

    def flush_due(self, now: float) -> None:
        self.storage.flush_due(now)
        self.arbitrage.flush_due(now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

