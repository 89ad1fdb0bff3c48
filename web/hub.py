"""Fan-out of live events from Redis pub/sub to websocket clients, with no Flask in sight.

One `Hub` per web process runs one listener thread on the `{prefix}live` channel. Clients that
ask for the same thing (same symbol filter, same coalescing choice) share a `Stream`, so each
event is parsed, framed and coalesced once per stream, not once per client; the stream's output
is appended to every member's bounded outbox, and each client's own sender thread writes it.
A client whose outbox overflows is dropped (its socket shut down) instead of slowing the rest.
"""

from __future__ import annotations

import heapq
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import redis

from web.events import Event, event_frame, parse_event, stamp_frames

log = logging.getLogger(__name__)

WINDOW_S = 0.2  # coalescing window: at most 5 updates per second per key
FLUSH_TICK_S = 0.025  # held updates are flushed on a shared tick so clients wake together
PING_INTERVAL_S = 20.0  # an idle client gets {"type":"ping"} this often
MAX_QUEUED_FRAMES = 2000  # per client: more than this unsent and the client is dropped
MAX_QUEUED_BYTES = 4 * 1024 * 1024
# On close, discard what the peer still sends for at most this long before closing the socket:
# closing with unread data makes the kernel reset the connection, and a reset can destroy the
# close frame (1008, 1009) before the peer reads it.
LINGER_S = 1.0

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Per-key rate limit: the first item goes out at once, later ones inside the window are
    merged (newest wins) and released when the window ends, which starts the next window."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._sent_at: dict[Hashable, float] = {}  # key → start of its current window
        self._pending: dict[Hashable, T] = {}
        self._deadlines: list[tuple[float, int, Hashable]] = []  # heap over pending keys
        self._seq = 0

    def offer(self, key: Hashable, item: T, now: float) -> T | None:
        """Returns `item` when it may go out now, else holds it (replacing an older held one)."""
        started = self._sent_at.get(key)
        if started is None or now - started >= self.window_s:
            if key not in self._pending:
                self._sent_at[key] = now
                return item
        if key not in self._pending:
            self._seq += 1
            heapq.heappush(self._deadlines, (started + self.window_s, self._seq, key))
        self._pending[key] = item
        return None

    def flush(self, now: float) -> list[T]:
        """The held items whose window has ended, oldest deadline first; each starts a window."""
        out: list[T] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, key = heapq.heappop(self._deadlines)
            out.append(self._pending.pop(key))
            self._sent_at[key] = now
        if len(self._sent_at) > 4096:  # forget keys that went quiet so memory stays bounded
            self._sent_at = {k: t for k, t in self._sent_at.items()
                             if now - t < self.window_s or k in self._pending}
        return out

    def next_deadline(self) -> float | None:
        """When the earliest held item is due, or None when nothing is held."""
        return self._deadlines[0][0] if self._deadlines else None

    def __len__(self) -> int:
        return len(self._pending)


class Client:
    """One connected client: a bounded outbox and the loop that writes it to the socket."""

    def __init__(self, write: Callable[[bytes], None], abort: Callable[[], None],
                 name: str = "client", max_frames: int = MAX_QUEUED_FRAMES,
                 max_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.name = name
        self.symbols: frozenset[str] | None = None
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
    clients: set[Client] = field(default_factory=set)
    coalescer: Coalescer[bytes] = field(default_factory=Coalescer)

    def wants(self, event: Event) -> bool:
        return self.symbols is None or event.symbol is None or event.symbol in self.symbols


class Backoff:
    """Exponential reconnect delay with jitter, reset after a good connection."""

    def __init__(self, first_s: float = 0.1, max_s: float = 5.0) -> None:
        self.first_s, self.max_s, self._next = first_s, max_s, first_s

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.max_s)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = self.first_s


class Hub:
    """The per-process fan-out: one Redis subscription, many clients."""

    def __init__(self, redis_factory: Callable[[], redis.Redis], channel: str,
                 window_s: float = WINDOW_S, flush_tick_s: float = FLUSH_TICK_S) -> None:
        self._redis_factory = redis_factory
        self.channel = channel
        self.window_s = window_s
        self.flush_tick_s = flush_tick_s
        self._lock = threading.Lock()
        self._streams: dict[tuple[frozenset[str] | None, bool, bool], Stream] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self._last_flush = 0.0

    # clients
    def add(self, client: Client) -> None:
        """Register a client (everything, coalesced) and start the listener on first use."""
        with self._lock:
            self._stream_for(client).clients.add(client)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
                self._thread.start()

    def update(self, client: Client, settings: dict[str, Any]) -> None:
        """Apply a client's `subscribe`/`coalesce`/`trace` settings by moving it to the matching
        stream."""
        with self._lock:
            self._leave(client)
            client.symbols = settings.get("symbols", client.symbols)
            client.coalesce = settings.get("coalesce", client.coalesce)
            client.trace = settings.get("trace", client.trace)
            if not client.closed:
                self._stream_for(client).clients.add(client)

    def remove(self, client: Client) -> None:
        """Forget a client whose connection ended."""
        client.close()
        with self._lock:
            self._leave(client)

    def client_count(self) -> int:
        with self._lock:
            return sum(len(s.clients) for s in self._streams.values())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the listener (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _stream_for(self, client: Client) -> Stream:
        key = (client.symbols, client.coalesce, client.trace)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = Stream(client.symbols, client.coalesce, client.trace,
                                                 coalescer=Coalescer(self.window_s))
        return stream

    def _leave(self, client: Client) -> None:
        key = (client.symbols, client.coalesce, client.trace)
        stream = self._streams.get(key)
        if stream is not None:
            stream.clients.discard(client)
            if not stream.clients:
                del self._streams[key]

    # events
    def dispatch(self, raws: list[bytes], now: float) -> None:
        """Fan a batch of published events out to every stream, then flush due held ones."""
        events = [e for e in map(parse_event, raws) if e is not None]
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            out: list[bytes] = []
            for event in events:
                if not stream.wants(event):
                    continue
                frame = event.unstamped() if stream.trace else event.frame
                if stream.coalesce and event.key is not None:
                    held = stream.coalescer.offer(event.key, frame, now)
                    if held is not None:
                        out.append(held)
                else:
                    out.append(frame)
            self._deliver(stream, out)
        self.flush(now, streams)

    def flush(self, now: float, streams: list[Stream] | None = None) -> None:
        """Release held updates whose window ended, at most once per tick."""
        if now - self._last_flush < self.flush_tick_s:
            return
        self._last_flush = now
        if streams is None:
            with self._lock:
                streams = list(self._streams.values())
        for stream in streams:
            if stream.coalesce and len(stream.coalescer):
                self._deliver(stream, stream.coalescer.flush(now))

    def next_wake(self, now: float) -> float:
        """Seconds the listener may block before a flush is due (at most 1 s)."""
        with self._lock:
            deadlines = [d for s in self._streams.values()
                         if (d := s.coalescer.next_deadline()) is not None]
        if not deadlines:
            return 1.0
        due = max(min(deadlines), self._last_flush + self.flush_tick_s)
        return min(max(due - now, 0.0), 1.0)

    def _deliver(self, stream: Stream, frames: list[bytes]) -> None:
        if frames:
            for client in list(stream.clients):
                client.enqueue(frames)

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._redis_factory().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                self.subscribed.set()
                log.info("live hub subscribed to %s", self.channel)
                self._listen(pubsub, backoff)
            except (redis.RedisError, OSError) as exc:
                self.subscribed.clear()
                delay = backoff.next()
                log.warning("live hub lost Redis (%s); reconnecting in %.1f s", exc, delay)
                self._stop.wait(delay)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass

    def _listen(self, pubsub: Any, backoff: Backoff) -> None:
        while not self._stop.is_set():
            msg = pubsub.get_message(timeout=self.next_wake(time.monotonic()))
            batch: list[bytes] = []
            while msg is not None:
                if msg.get("type") == "message":
                    batch.append(msg["data"])
                if len(batch) >= 1000:
                    break
                msg = pubsub.get_message(timeout=0)
            if batch:
                backoff.reset()
                self.dispatch(batch, time.monotonic())
            else:
                self.flush(time.monotonic())


class LockedSocket:
    """Wraps a connection's socket so the library's own control frames (pong, close) and the
    hub's data writes never interleave mid-frame; everything else passes through."""

    def __init__(self, sock: socket.socket) -> None:
        self.raw = sock
        self.lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self.lock:
            self.raw.sendall(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        with self.lock:
            self.raw.sendall(data)

    def close(self) -> None:
        """Lingering close: send FIN after our close frame, read and drop the peer's data until
        it closes too (or `LINGER_S` passes), then close, so the peer sees our close code."""
        try:
            self.raw.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_S
            while (left := deadline - time.monotonic()) > 0:
                self.raw.settimeout(left)
                if not self.raw.recv(65536):
                    break
        except OSError:  # already shut down or reset, or the linger timed out
            pass
        finally:
            self.raw.close()

    def abort(self) -> None:
        """Shut the socket down without the lock: a writer may be blocked holding it."""
        try:
            self.raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)
