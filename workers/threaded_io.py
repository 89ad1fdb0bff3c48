"""The threaded reader: one connection read on its own thread (`--io threads`).

Every socket call happens on the thread that runs `run()`: reads with a short timeout, and
between reads the keepalive and watchdog timers. Nothing closes the socket from another
thread, so a stop or reconnect can never race a read in progress. REST snapshots an adapter
asks for are fetched on this thread too: the venue's frames wait in the socket meanwhile.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import requests
import websocket
from websocket import ABNF

from workers.rest_fetch import connect_url, get_text
from workers.socket_io import close_code, close_quietly, read_ahead

log = logging.getLogger("workers.feed")

# The read loop wakes this often when no frame comes, to run timers and notice a stop request.
READ_TICK_S = 0.25
# Websocket protocol pings (besides the venue's app-level ping), as most venues expect.
PROTOCOL_PING_S = 20.0
CONNECT_TIMEOUT_S = 10.0
# Snapshots an answer may ask for in turn: an adapter that keeps asking (a bug) must not keep
# the connection from being read.
MAX_NESTED_FETCHES = 8


class ThreadedIO:
    """Connect, read and reconnect on one thread (mixed into FeedWorker)."""

    _ws: websocket.WebSocket | None = None
    _rest_depth = 0
    if TYPE_CHECKING:  # FeedWorker's
        def __getattr__(self, name: str) -> Any: ...

    def send_text(self, frame: str) -> None:
        """Send a frame the adapter answered with (a pong) on the open connection."""
        if self._ws is not None:
            self._ws.send(frame)

    def request_rest(self, url: str) -> str | None:
        """GET `url` now and dispatch the adapter's events; a failure ends the connection."""
        if self._rest_depth >= MAX_NESTED_FETCHES:
            return "rest failed: too many snapshot requests in a row"
        try:
            text = get_text(url)
        except (requests.RequestException, OSError) as exc:
            return f"rest failed: {exc}"
        self._rest_depth += 1
        try:
            return self._on_rest(url, text)
        finally:
            self._rest_depth -= 1

    def _connect(self) -> websocket.WebSocket:
        """Open the websocket and send the subscriptions (one connection of `run`)."""
        url = connect_url(self.adapter, self.ws_url)
        ws = websocket.create_connection(url, timeout=CONNECT_TIMEOUT_S,
                                         skip_utf8_validation=True)
        read_ahead(ws)
        self.connections += 1
        self.conn_state = "connected"
        self.connected_since_ns = time.time_ns()
        self._event("connect", "")
        frames = self.adapter.subscribe_messages()
        for frame in frames:
            ws.send(frame)
        log.info("%s: connected to %s, %d subscription frames sent",
                 self.name, url, len(frames))
        return ws

    def _read(self, ws: websocket.WebSocket) -> tuple[str, bool]:
        """Read frames until the connection should end; returns (reason, whether data came)."""
        ws.settimeout(READ_TICK_S)
        now = time.monotonic()
        last_frame = now
        next_ping = now + self.adapter.ping_interval_s
        next_protocol_ping = now + PROTOCOL_PING_S
        got_data = False
        self._ws = ws
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
                    if len(frame) > self.max_frame_bytes:
                        # websocket-client has read it whole already; it is not parsed.
                        reason = self.on_oversize(len(frame))
                    else:
                        quotes_before = self.quotes
                        if opcode == ABNF.OPCODE_BINARY:
                            reason = self._on_binary(frame)
                        else:
                            reason = self._on_text(frame.decode("utf-8", "replace")
                                                   if isinstance(frame, bytes) else frame)
                        got_data = got_data or self.quotes > quotes_before
                    if reason is not None:
                        return reason, got_data
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

    def run(self) -> None:
        """Connect, read, and reconnect with backoff until `stop()`."""
        try:
            while not self.stop_event.is_set():
                self.conn_state = "connecting"
                self.requested = None
                self.adapter.on_connect()
                try:
                    ws = self._connect()
                except (websocket.WebSocketException, OSError, ValueError) as exc:
                    reason, got_data = f"connect failed: {exc}", False
                else:
                    reason, got_data = self._read(ws)
                    self._ws = None
                    close_quietly(ws)
                if self.stop_event.is_set():
                    break
                self.conn_state = "disconnected"
                self.note_disconnect(reason)
                delay = self.reconnect_delay(reason, got_data)
                log.warning("%s: disconnected (%s); reconnecting in %.1f s",
                            self.name, reason, delay)
                self.stop_event.wait(delay)
        finally:
            self.conn_state = "stopped"
            self.stop_event.set()

