"""Fan-out of live events from Redis pub/sub to websocket clients, with no Flask in sight.

One `Hub` per web process runs one listener thread subscribed to the live bus's pattern. Each
event is routed by the name of the channel it came on (`core.stores.bus`), never by reading its
JSON, and forwarded as published. Clients that ask for the same thing (same symbol filter, same
coalescing and tracing choice) share a `Stream`, so each event is framed once and coalesced once
per stream, not once per client; each client's own sender thread writes its outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from core.backoff import Backoff
from core.stores import bus
from web.live.client import LiveClient, Stream, StreamKey
from web.live.coalescing import FLUSH_TICK_S, WINDOW_S, Coalescer
from web.live.protocol import Event

log = logging.getLogger(__name__)

MAX_BATCH = 1000  # events taken from the subscription before they are dispatched
MAX_ROUTES = 8192  # remembered channel → route decodings; past it they are decoded afresh
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.1, 5.0  # a web page waits on this: retry soon, often

Message = tuple[bytes, bytes]  # (channel, published payload)


class Hub:
    """The per-process fan-out: one live bus subscription, many clients."""

    def __init__(self, redis_factory: Callable[[], redis.Redis], prefix: str,
                 window_s: float = WINDOW_S, flush_tick_s: float = FLUSH_TICK_S) -> None:
        self._redis_factory = redis_factory
        self.prefix = prefix
        self.pattern = bus.pattern(prefix)
        self.window_s = window_s
        self.flush_tick_s = flush_tick_s
        self._lock = threading.Lock()
        self._streams: dict[StreamKey, Stream] = {}
        self._routes: dict[bytes, bus.Route | None] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self._last_flush = 0.0

    # clients
    def add(self, client: LiveClient) -> None:
        """Register a client (everything, coalesced) and start the listener on first use."""
        with self._lock:
            self._stream_for(client).clients.add(client)
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
                self._thread.start()

    def update(self, client: LiveClient, settings: dict[str, Any]) -> None:
        """Apply a client's `subscribe`/`coalesce`/`trace` settings by moving it to the matching
        stream."""
        with self._lock:
            self._leave(client)
            client.symbols = settings.get("symbols", client.symbols)
            client.coalesce = settings.get("coalesce", client.coalesce)
            client.trace = settings.get("trace", client.trace)
            if not client.closed:
                self._stream_for(client).clients.add(client)

    def remove(self, client: LiveClient) -> None:
        """Forget a client whose connection ended."""
        client.close()
        with self._lock:
            self._leave(client)

    def client_count(self) -> int:
        """Clients registered now."""
        with self._lock:
            return sum(len(s.clients) for s in self._streams.values())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the listener (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _stream_for(self, client: LiveClient) -> Stream:
        key = client.stream_key
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = Stream(*key, coalescer=Coalescer(self.window_s))
        return stream

    def _leave(self, client: LiveClient) -> None:
        key = client.stream_key
        stream = self._streams.get(key)
        if stream is not None:
            stream.clients.discard(client)
            if not stream.clients:
                del self._streams[key]

    # events
    def route(self, channel: bytes) -> bus.Route | None:
        """The route of a channel name, decoded once per channel."""
        try:
            return self._routes[channel]
        except KeyError:
            pass
        if len(self._routes) >= MAX_ROUTES:
            self._routes.clear()
        found = self._routes[channel] = bus.route(self.prefix, channel)
        if found is None:
            log.warning("ignoring live event on unknown channel %.200r", channel)
        return found

    def dispatch(self, messages: list[Message], now: float) -> None:
        """Fan a batch of published events out to every stream, then flush due held ones."""
        events = [(route, Event(payload)) for channel, payload in messages
                  if (route := self.route(channel)) is not None]
        with self._lock:
            streams = list(self._streams.values())
        for stream in streams:
            out: list[bytes] = []
            for route, event in events:
                if not stream.wants(route.symbol):
                    continue
                frame = event.unstamped() if stream.trace else event.frame
                if stream.coalesce and route.key is not None:
                    held = stream.coalescer.offer(route.key, frame, now)
                    if held is not None:
                        out.append(held)
                else:
                    out.append(frame)
            stream.deliver(out)
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
                stream.deliver(stream.coalescer.flush(now))

    def next_wake(self, now: float) -> float:
        """Seconds the listener may block before a flush is due (at most 1 s)."""
        with self._lock:
            deadlines = [d for s in self._streams.values()
                         if (d := s.coalescer.next_deadline()) is not None]
        if not deadlines:
            return 1.0
        due = max(min(deadlines), self._last_flush + self.flush_tick_s)
        return min(max(due - now, 0.0), 1.0)

    def _run(self) -> None:
        backoff = Backoff(RECONNECT_FIRST_S, RECONNECT_MAX_S)
        while not self._stop.is_set():
            subscription = None
            try:
                subscription = bus.Subscription(self._redis_factory(), self.prefix)
                self.subscribed.set()
                log.info("live hub subscribed to %s", self.pattern)
                self._listen(subscription, backoff)
            except (redis.RedisError, OSError) as exc:
                self.subscribed.clear()
                delay = backoff.next_delay()
                log.warning("live hub lost Redis (%s); reconnecting in %.1f s", exc, delay)
                self._stop.wait(delay)
            finally:
                if subscription is not None:
                    subscription.close()

    def _listen(self, subscription: bus.Subscription, backoff: Backoff) -> None:
        while not self._stop.is_set():
            batch = subscription.take(self.next_wake(time.monotonic()), MAX_BATCH)
            if batch:
                backoff.reset()
                self.dispatch(batch, time.monotonic())
            else:
                self.flush(time.monotonic())
