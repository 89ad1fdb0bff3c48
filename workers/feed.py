"""The feed-worker loop: websocket connection, keepalive, watchdog, reconnects and status."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket
from websocket import ABNF

from workers.backoff import Backoff
from workers.exchanges.base import Adapter
from workers.publisher import Publisher

log = logging.getLogger(__name__)

# Events for the `feed_events` measurement: (exchange, event, reason, ts_ns) dicts.
SendEvents = Callable[[list[dict[str, Any]]], None]

# The read loop wakes this often when no frame comes, to run timers and notice a stop request.
READ_TICK_S = 0.25
# Websocket protocol pings (besides the venue's app-level ping), as most venues expect.
PROTOCOL_PING_S = 20.0
CONNECT_TIMEOUT_S = 10.0
# Bytes asked of the socket per read. websocket-client asks for exactly the bytes it needs (two
# for a header, then the payload): two or three system calls per frame. Reading ahead serves
# most frames from memory; it keeps whatever a read returns beyond the frame for the next one.
READ_AHEAD_BYTES = 8192
# Disconnects that mean the venue dropped frames meant for us (a hole in the book, or the venue
# gave up on a slow reader): each forces a resync from a fresh snapshot and is counted as one.
RESYNC_REASONS = frozenset({"sequence_gap", "checksum_mismatch", "slow_consumer"})


def celery_stats_sender() -> SendEvents:
    """Send per-minute feed stats to the storage queue."""
    from tasks.storage import store_feed_stats

    def send(records: list[dict[str, Any]]) -> None:
        store_feed_stats.apply_async(args=[records], retry=True)

    return send


def celery_event_sender() -> SendEvents:
    """Send feed events to the storage queue."""
    from tasks.storage import store_feed_events

    def send(events: list[dict[str, Any]]) -> None:
        store_feed_events.apply_async(args=[events], retry=True)

    return send


class FeedWorker:
    """Runs one exchange's connection until stopped, reconnecting whenever it is lost.

    All socket I/O happens on the thread that calls `run()`: reads with a short timeout, and
    between reads the keepalive and watchdog timers. Nothing closes the socket from another
    thread, so a stop or reconnect can never race a read in progress.
    """

    def __init__(
        self,
        adapter: Adapter,
        ws_url: str,
        publisher: Publisher,
        send_events: SendEvents | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.ws_url = ws_url
        self.publisher = publisher
        self.send_events = send_events
        self.backoff = backoff or Backoff()
        self.stop_event = threading.Event()
        self.conn_state = "starting"
        self.connected_since_ns = 0
        self.last_message_ns = 0
        self.messages = 0
        self.quotes = 0
        self.depths = 0  # Depth (book levels) handed to the publisher
        self.reconnects = 0
        self.connections = 0
        self.resyncs = 0
        self.last_resync_ns = 0
        # Worst receive-minus-exchange time since the last status read (-1: no exchange time).
        self.lag_ns = -1

    # one connection
    def _connect(self) -> websocket.WebSocket:
        ws = websocket.create_connection(
            self.ws_url, timeout=CONNECT_TIMEOUT_S, skip_utf8_validation=True
        )
        read_ahead(ws)
        self.connections += 1
        self.conn_state = "connected"
        self.connected_since_ns = time.time_ns()
        self._event("connect", "")
        frames = self.adapter.subscribe_messages()
        for frame in frames:
            ws.send(frame)
        log.info("%s: connected to %s, %d subscription frames sent",
                 self.name, self.ws_url, len(frames))
        return ws

    def _on_text(self, text: str) -> None:
        received_ns = time.time_ns()
        self.last_message_ns = received_ns
        self.messages += 1
        quotes = self.adapter.on_message(text, received_ns)
        # Book depth that changed with this frame travels with its quotes (often without any:
        # deeper levels move far more often than the top).
        depths = self.adapter.take_depth()
        if quotes or depths:
            self.quotes += len(quotes)
            self.depths += len(depths)
            self.publisher.put(quotes, depths)
            if quotes:
                self.note_lag(quotes[-1].ts_exchange_ns, received_ns)

    def note_lag(self, ts_exchange_ns: int | None, received_ns: int) -> None:
        """Keep the worst lag behind the venue's clock of the frames read since the last status."""
        if ts_exchange_ns is not None and received_ns - ts_exchange_ns > self.lag_ns:
            self.lag_ns = received_ns - ts_exchange_ns

    def note_disconnect(self, reason: str) -> None:
        """Count a lost connection (and a resync when the venue dropped frames) and record it."""
        self.reconnects += 1
        if reason in RESYNC_REASONS:
            self.resyncs += 1
            self.last_resync_ns = time.time_ns()
        self._event("disconnect", reason)

    def _read(self, ws: websocket.WebSocket) -> tuple[str, bool]:
        """Read frames until the connection should end; returns (reason, whether data came)."""
        ws.settimeout(READ_TICK_S)
        now = time.monotonic()
        last_frame = now
        next_ping = now + self.adapter.ping_interval_s
        next_protocol_ping = now + PROTOCOL_PING_S
        got_data = False
        while not self.stop_event.is_set():
            try:
                opcode, frame = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                opcode, frame = None, None
            except websocket.WebSocketConnectionClosedException:
                return "connection closed", got_data
            except (websocket.WebSocketException, OSError) as exc:
                return f"error: {exc}", got_data
            now = time.monotonic()
            if opcode is not None:
                last_frame = now
                if opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
                    quotes_before = self.quotes
                    self._on_text(text)
                    got_data = got_data or self.quotes > quotes_before
                    if self.adapter.reconnect_reason:
                        return self.adapter.reconnect_reason, got_data
                elif opcode == ABNF.OPCODE_CLOSE:
                    code = close_code(frame)
                    return f"closed by server (code {code})", got_data
            if now - last_frame > self.adapter.watchdog_s:
                log.warning("%s: no frame for %.1f s, reconnecting", self.name,
                            self.adapter.watchdog_s)
                return "watchdog: silent", got_data
            try:
                if now >= next_ping:
                    next_ping = now + self.adapter.ping_interval_s
                    ping = self.adapter.ping_message()
                    if ping is not None:
                        ws.send(ping)
                if now >= next_protocol_ping:
                    next_protocol_ping = now + PROTOCOL_PING_S
                    ws.ping()
            except (websocket.WebSocketException, OSError) as exc:
                return f"error: {exc}", got_data
        return "stopped", got_data

    def status(self) -> dict[str, str | int | float]:
        """This connection's counters and state (the reporter sums connections per venue).

        The lag is the worst since the previous call: each status write starts a new window.
        """
        lag_ns, self.lag_ns = self.lag_ns, -1
        return {
            "lag_ns": lag_ns,
            "resyncs": self.resyncs,
            "last_resync_ns": self.last_resync_ns,
            "state": self.conn_state,
            "connected_since_ns": self.connected_since_ns,
            "last_message_ns": self.last_message_ns,
            "messages": self.messages,
            "quotes": self.quotes,
            "reconnects": self.reconnects,
            "markets": len(self.adapter.markets),
        }

    def _event(self, event: str, reason: str) -> None:
        if self.send_events is None:
            return
        record = {"exchange": self.name, "event": event, "reason": reason, "ts_ns": time.time_ns()}
        try:
            self.send_events([record])
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: feed event %s not sent: %s", self.name, event, exc)

    # main loop
    def run(self) -> None:
        """Connect, read, and reconnect with backoff until `stop()`."""
        try:
            while not self.stop_event.is_set():
                self.conn_state = "connecting"
                self.adapter.on_connect()
                try:
                    ws = self._connect()
                except (websocket.WebSocketException, OSError) as exc:
                    reason, got_data = f"connect failed: {exc}", False
                else:
                    reason, got_data = self._read(ws)
                    close_quietly(ws)
                if self.stop_event.is_set():
                    break
                self.conn_state = "disconnected"
                self.note_disconnect(reason)
                if got_data:
                    self.backoff.reset()
                # A venue that asked a working connection to reconnect gets us back at once;
                # failures, and requests on a connection that never worked (a venue in
                # maintenance), back off so we never hammer it.
                requested = reason == self.adapter.reconnect_reason
                delay = 0.0 if requested and got_data else self.backoff.next_delay()
                log.warning("%s: disconnected (%s); reconnecting in %.1f s",
                            self.name, reason, delay)
                self.stop_event.wait(delay)
        finally:
            self.conn_state = "stopped"
            self.stop_event.set()

    def stop(self) -> None:
        """Ask the loop to end; safe from a signal handler (it only sets a flag)."""
        self.stop_event.set()


def read_ahead(ws: websocket.WebSocket) -> None:
    """Make `ws` read READ_AHEAD_BYTES per system call instead of exactly what a frame needs.

    The frame buffer already keeps any excess a read returns (for the next frame), so only
    its read function changes; a websocket-client without that layout is left as it is.
    """
    frames = getattr(ws, "frame_buffer", None)
    raw = getattr(ws, "_recv", None)
    if frames is None or raw is None or not hasattr(frames, "recv"):
        return

    def recv(_wanted: int) -> bytes:
        return raw(READ_AHEAD_BYTES)

    frames.recv = recv


def close_code(frame: Any) -> int | None:
    """The status code of a close frame, when it carries one."""
    data = getattr(frame, "data", b"")
    return int.from_bytes(data[:2], "big") if len(data) >= 2 else None


def close_quietly(ws: websocket.WebSocket) -> None:
    """Close politely with a short wait for the server's reply; never raises."""
    try:
        ws.close(timeout=1)
    except (websocket.WebSocketException, OSError):
        pass
    finally:
        ws.shutdown()
