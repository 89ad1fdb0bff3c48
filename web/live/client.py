"""One live client's side of the hub: its settings, its bounded outbox and the loop writing it,
and the `Stream` that clients with the same settings share."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from web.live.coalescing import Coalescer
from web.live.protocol import event_frame, stamp_frames

log = logging.getLogger(__name__)

PING_INTERVAL_S = 20.0  # an idle client gets {"type":"ping"} this often
MAX_QUEUED_FRAMES = 2000  # per client: more than this unsent and the client is dropped
MAX_QUEUED_BYTES = 4 * 1024 * 1024

StreamKey = tuple[frozenset[str] | None, bool, bool]  # symbols, coalesce, trace


class LiveClient:
    """One connected client: a bounded outbox and the loop that writes it to the socket."""

    def __init__(self, write: Callable[[bytes], None], abort: Callable[[], None],
                 name: str = "client", max_frames: int = MAX_QUEUED_FRAMES,
                 max_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.name = name
        self.symbols: frozenset[str] | None = None  # None: every symbol
        self.coalesce = True
        self.trace = False  # events get a `trace.ws_ns` send stamp (latency measurement)
        self.dropped = False
        self.closed = False
        self._write = write
        self._abort = abort
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._outbox: deque[bytes] = deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()

    @property
    def stream_key(self) -> StreamKey:
        """The settings that decide which `Stream` this client belongs to."""
        return (self.symbols, self.coalesce, self.trace)

    def enqueue(self, frames: list[bytes]) -> bool:
        """Queue frames without blocking; drops the client (returns False) when it is too far
        behind, so one slow reader never holds up the listener or anyone else."""
        if not frames:
            return not self.closed
        with self._cond:
            if self.closed:
                return False
            size = sum(len(f) for f in frames)
            if (len(self._outbox) + len(frames) > self._max_frames
                    or self._queued_bytes + size > self._max_bytes):
                self.closed = self.dropped = True
                self._outbox.clear()
                self._cond.notify()
            else:
                self._outbox.extend(frames)
                self._queued_bytes += size
                self._cond.notify()
                return True
        log.warning("dropping slow websocket client %s", self.name)
        self._abort()  # unblocks a sender stuck in a full socket buffer
        return False

    def close(self) -> None:
        """Stop the sender loop (the connection ended)."""
        with self._cond:
            self.closed = True
            self._cond.notify()

    def run_sender(self, ping_interval_s: float = PING_INTERVAL_S) -> None:
        """Write queued frames until closed; everything waiting goes out in one write, and an
        idle connection gets a ping so proxies keep it open and dead peers show up."""
        last_write = time.monotonic()
        while True:
            with self._cond:
                while not self._outbox and not self.closed:
                    remaining = last_write + ping_interval_s - time.monotonic()
                    if remaining <= 0:
                        self._outbox.append(event_frame("ping", {"ts_ns": time.time_ns()}))
                        break
                    self._cond.wait(remaining)
                if self.closed:
                    return
                batch = (stamp_frames(list(self._outbox), time.time_ns()) if self.trace
                         else b"".join(self._outbox))
                self._outbox.clear()
                self._queued_bytes = 0
            try:
                self._write(batch)
            except OSError:
                self.close()
                return
            last_write = time.monotonic()


@dataclass(eq=False)
class Stream:
    """Clients sharing one filter, coalescing and tracing choice, and the coalescer they share."""

    symbols: frozenset[str] | None
    coalesce: bool
    trace: bool = False
    clients: set[LiveClient] = field(default_factory=set)
    coalescer: Coalescer[bytes] = field(default_factory=Coalescer)

    def wants(self, symbol: str | None) -> bool:
        """Whether an event about `symbol` (None: about no symbol) goes to this stream."""
        return self.symbols is None or symbol is None or symbol in self.symbols

    def deliver(self, frames: list[bytes]) -> None:
        """Append `frames` to every member's outbox."""
        if frames:
            for client in list(self.clients):
                client.enqueue(frames)
