"""One selector-driven read loop for every connection of every venue in a feed process.

A thread per connection woke once per frame and passed the GIL back and forth with the others;
here one thread sleeps in `select`, reads whole socket buffers, parses them in bulk
(`workers.frames`) and stamps each read once. Nothing on the loop thread may block: connects
(DNS, TCP, TLS, the HTTP upgrade, the subscriptions) run on a short-lived thread per attempt,
sockets are non-blocking, timers (watchdog, keepalives, reconnect backoff) are per connection,
so one venue's hang, reconnect storm or slow start never holds up another.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Iterable

import websocket
from websocket import ABNF

from workers.connection import WOULD_BLOCK, LoopConnection
from workers.feed import PROTOCOL_PING_S
from workers.frames import FrameParser, ProtocolError
from workers.publisher import Publisher
from workers.rest_fetch import RestFetcher

log = logging.getLogger(__name__)

# One read takes up to this much of what the kernel holds for the socket (the loop reads again
# while reads come back full). Above glibc's mmap threshold (128 KiB) every recv would map and
# unmap its buffer: about 14 µs a call, more than the frame it reads.
READ_BYTES = 64 * 1024
TICK_S = 0.1  # timers run this often: watchdogs and keepalives are seconds apart


class FeedLoop:
    """Runs LoopConnections (of any venues) on one thread until stopped."""

    def __init__(self, connections: Iterable[LoopConnection] = (), tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self.selector = selectors.DefaultSelector()
        self.connections: list[LoopConnection] = []
        # Clocked publishers (one per venue) whose batches this loop times: `_due_at` is the
        # earliest deadline among them, so the loop wakes for it with no thread of their own.
        self.publishers: list[Publisher] = []
        self._due_at: float | None = None
        self._inbox: queue.SimpleQueue[tuple[LoopConnection, websocket.WebSocket | None, str]]
        self._inbox = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.fetcher = RestFetcher(self._wake)  # snapshots adapters ask for, off this thread
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, name="feed-loop", daemon=True)
        for conn in connections:
            self.add(conn)

    def add(self, conn: LoopConnection) -> None:
        """Take on a connection (from any thread); it connects at the loop's next turn."""
        self._inbox.put((conn, None, "add"))
        self._wake()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Ask the loop to end; safe from a signal handler."""
        self.stop_event.set()
        self._wake()

    def join(self, timeout_s: float = 15.0) -> None:
        self.thread.join(timeout_s)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # already awake (buffer full) or closed

    # the loop
    def run(self) -> None:
        """Select, read, run the timers; close everything on stop."""
        next_tick = 0.0
        try:
            while not self.stop_event.is_set():
                wake_at = next_tick if self._due_at is None else min(next_tick, self._due_at)
                for key, mask in self.selector.select(max(0.0, wake_at - time.monotonic())):
                    conn = key.data
                    if conn is None:
                        self._take_inbox()
                        continue
                    if mask & selectors.EVENT_READ:
                        self._readable(conn)
                    if mask & selectors.EVENT_WRITE and conn.sock is not None:
                        self._writable(conn)
                now = time.monotonic()
                if self._due_at is not None and now >= self._due_at:
                    self._flush_due(now)
                if now >= next_tick:
                    self._timers(now)
                    next_tick = now + self.tick_s
        finally:
            for conn in self.connections:
                if conn.sock is not None:
                    self._close(conn)
                conn.conn_state = "stopped"
                conn.stop_event.set()
            self._take_inbox()  # connects that finished meanwhile: close them
            self.fetcher.close()

    def _take_inbox(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except WOULD_BLOCK:
            pass
        for fetched in self.fetcher.take():
            conn = fetched.owner
            try:
                reason = conn.on_fetched(fetched)
            except Exception as exc:  # noqa: BLE001  (as in _readable)
                log.exception("%s: REST answer handling failed", conn.name)
                reason = f"error: {exc!r}"
            if reason is not None:
                self._lost(conn, reason, time.monotonic())
            elif conn.sock is not None:
                self._after_dispatch(conn)
        while True:
            try:
                conn, ws, reason = self._inbox.get_nowait()
            except queue.Empty:
                return
            if reason == "add":
                conn.fetcher = self.fetcher
                self.connections.append(conn)
                if conn.publisher.clocked and conn.publisher not in self.publishers:
                    self.publishers.append(conn.publisher)
                conn.retry_at = 0.0
                continue
            conn.connecting = False
            if ws is not None and (self.stop_event.is_set() or conn.stop_event.is_set()):
                ws.shutdown()
            elif ws is not None:
                self._opened(conn, ws)
            else:
                self._lost(conn, reason, time.monotonic())

    def _connect(self, conn: LoopConnection) -> None:
        """Connect and subscribe on a thread of its own; the result comes back via the inbox."""
        conn.connecting = True
        conn.conn_state = "connecting"
        conn.requested = None
        conn.adapter.on_connect()
        conn.parser = FrameParser(conn.max_frame_bytes)
        conn.got_data = False

        def attempt() -> None:
            try:
                ws = conn.open_socket()
            except (websocket.WebSocketException, OSError, ValueError) as exc:
                self._inbox.put((conn, None, f"connect failed: {exc}"))
            else:
                self._inbox.put((conn, ws, ""))
            self._wake()

        threading.Thread(target=attempt, name=f"{conn.name}-connect", daemon=True).start()

    def _opened(self, conn: LoopConnection, ws: websocket.WebSocket) -> None:
        conn.ws, conn.sock = ws, ws.sock
        ws.sock.setblocking(False)
        conn.out.clear()
        conn.connections += 1
        conn.conn_state = "connected"
        conn.connected_since_ns = time.time_ns()
        now = time.monotonic()
        conn.last_frame = now
        conn.next_ping = now + conn.adapter.ping_interval_s
        conn.next_protocol_ping = now + PROTOCOL_PING_S
        self.selector.register(ws.sock, selectors.EVENT_READ, conn)
        conn._event("connect", "")
        log.info("%s: connected to %s", conn.name, conn.ws_url)

    def _readable(self, conn: LoopConnection) -> None:
        sock = conn.sock
        if sock is None:
            return  # dropped earlier in this turn
        chunks, reason = conn.drain(sock, READ_BYTES)
        if chunks:
            now = time.monotonic()
            conn.last_frame = now
            try:
                frames = conn.parser.feed(chunks[0] if len(chunks) == 1 else b"".join(chunks))
                if frames:
                    reason = conn.on_frames(frames) or reason
                    self._note_deadline(conn)
            except ProtocolError as exc:
                reason = f"error: {exc}"
            except Exception as exc:  # noqa: BLE001  (one venue's bug must not end the loop)
                log.exception("%s: frame handling failed", conn.name)
                reason = f"error: {exc!r}"
        if reason is not None:
            self._lost(conn, reason, time.monotonic())
        elif conn.out:
            self.selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _note_deadline(self, conn: LoopConnection) -> None:
        """Wake for the connection's publisher batch when it is due before the next wake."""
        if conn.publisher.clocked:
            due = conn.publisher.next_deadline()
            if due is not None and (self._due_at is None or due < self._due_at):
                self._due_at = due

    def _after_dispatch(self, conn: LoopConnection) -> None:
        """After events came from outside a read (a REST answer): time the batch, write out."""
        self._note_deadline(conn)
        if conn.out and conn.sock is not None:
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _flush_due(self, now: float) -> None:
        """Hand every due batch to its publisher's thread; find the next deadline."""
        self._due_at = None
        for publisher in self.publishers:
            publisher.flush_due(now)
            due = publisher.next_deadline()
            if due is not None and (self._due_at is None or due < self._due_at):
                self._due_at = due

    def _writable(self, conn: LoopConnection) -> None:
        conn.send(b"")
        if not conn.out and conn.sock is not None:
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)

    def _timers(self, now: float) -> None:
        for conn in self.connections:
            try:
                self._timer(conn, now)
            except Exception as exc:  # noqa: BLE001  (as in _readable)
                log.exception("%s: timer failed", conn.name)
                if conn.sock is not None:
                    self._lost(conn, f"error: {exc!r}", now)

    def _timer(self, conn: LoopConnection, now: float) -> None:
        if conn.stop_event.is_set():
            if conn.sock is not None:
                self._close(conn)
            conn.conn_state = "stopped"
            return
        if conn.sock is None:
            if not conn.connecting and now >= conn.retry_at:
                self._connect(conn)
            return
        adapter = conn.adapter
        if now - conn.last_frame > adapter.watchdog_s:
            log.warning("%s: no frame for %.1f s, reconnecting", conn.name, adapter.watchdog_s)
            self._lost(conn, "watchdog: silent", now)
            return
        if now >= conn.next_ping:
            conn.next_ping = now + adapter.ping_interval_s
            ping = adapter.ping_message()
            if ping is not None:
                conn.send(ABNF.create_frame(ping, ABNF.OPCODE_TEXT).format())
        if now >= conn.next_protocol_ping:
            conn.next_protocol_ping = now + PROTOCOL_PING_S
            conn.send(ABNF.create_frame(b"", ABNF.OPCODE_PING).format())
        if conn.out:
            self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def _close(self, conn: LoopConnection) -> None:
        """Unregister and close, with a close frame sent if the socket takes it."""
        sock = conn.sock
        conn.sock = None
        if sock is None:
            return
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        try:
            sock.send(ABNF.create_frame(b"\x03\xe8", ABNF.OPCODE_CLOSE).format())
        except OSError:
            pass
        if conn.ws is not None:
            conn.ws.shutdown()
        conn.ws = None

    def _lost(self, conn: LoopConnection, reason: str, now: float) -> None:
        """Close, record the disconnect and schedule the reconnect with the venue's backoff."""
        self._close(conn)
        if self.stop_event.is_set() or conn.stop_event.is_set():
            return
        conn.conn_state = "disconnected"
        conn.note_disconnect(reason)
        delay = conn.reconnect_delay(reason, conn.got_data)
        conn.retry_at = now + delay
        log.warning("%s: disconnected (%s); reconnecting in %.1f s", conn.name, reason, delay)
