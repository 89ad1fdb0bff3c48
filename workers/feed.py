"""The feed-worker loop: websocket connection, keepalive, watchdog, reconnects and status."""

from __future__ import annotations

import logging
import threading
import time

import websocket
from websocket import ABNF

from core.backoff import Backoff
from core.config import Settings
from core.types import Depth, Quote, quote_fault
from workers.exchanges.base import Adapter
from workers.exchanges.events import OVERSIZE, RESYNC_REASONS, Events, split_events
from workers.feed_events import SendEvents
from workers.publisher import Publisher
from workers.socket_io import close_code, close_quietly, read_ahead
from workers.soundness import sound_depths, sound_quotes

__all__ = ["OVERSIZE", "RESYNC_REASONS", "FeedWorker", "SendEvents", "read_ahead"]

log = logging.getLogger(__name__)

# The read loop wakes this often when no frame comes, to run timers and notice a stop request.
READ_TICK_S = 0.25
# Websocket protocol pings (besides the venue's app-level ping), as most venues expect.
PROTOCOL_PING_S = 20.0
CONNECT_TIMEOUT_S = 10.0
_DEFAULTS = Settings()
MAX_CLOCK_SKEW_S = _DEFAULTS.max_clock_skew_s  # the defaults; feed processes pass their settings
MAX_FRAME_BYTES = _DEFAULTS.feed_max_frame_bytes
# A connection that brought quotes this long was healthy: the reconnect backoff starts over.
# Until then a venue that keeps asking to reconnect (or whose book keeps failing its check)
# waits the doubling delay rather than reconnecting at once each time.
HEALTHY_S = 30.0


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
        max_clock_skew_s: float = MAX_CLOCK_SKEW_S,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.ws_url = ws_url
        self.publisher = publisher
        self.send_events = send_events
        self.backoff = backoff or Backoff()
        self.healthy_s = HEALTHY_S
        # Exchange times further than this from receipt are replaced by the receipt time: a
        # venue clock an hour ahead would otherwise win every newer-wins compare for an hour.
        self.max_skew_ns = int(max_clock_skew_s * 1e9)
        self.max_frame_bytes = max_frame_bytes
        self.stop_event = threading.Event()
        self.conn_state = "starting"
        self.requested: str | None = None  # the reconnect the venue (or its stream) asked for
        self.connected_since_ns = 0
        self.last_message_ns = 0
        self.messages = 0
        self.quotes = 0
        self.depths = 0  # Depth (book levels) handed to the publisher
        self.reconnects = 0
        self.connections = 0
        self.resyncs = 0
        self.last_resync_ns = 0
        self.clock_skew = 0  # quotes whose exchange time was past MAX_CLOCK_SKEW_S from receipt
        self.last_error: str | None = None  # the venue's latest error text, for the status
        # Worst receive-minus-exchange time since the last status read (-1: no exchange time).
        self.lag_ns = -1

    def _connect(self) -> websocket.WebSocket:
        """Open the websocket and send the subscriptions (one connection of `run`)."""
        ws = websocket.create_connection(self.ws_url, timeout=CONNECT_TIMEOUT_S,
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
                 self.name, self.ws_url, len(frames))
        return ws

    def _on_text(self, text: str) -> str | None:
        """Dispatch one frame's events; returns the reason to reconnect when it asked for one."""
        received_ns = time.time_ns()
        self.last_message_ns = received_ns
        self.messages += 1
        events = self.adapter.on_message(text, received_ns)
        if not events:
            return None
        quotes, depths, reason = self.vet(events, received_ns)
        if quotes or depths:
            self.quotes += len(quotes)
            self.depths += len(depths)
            self.publisher.put(quotes, depths)
            if quotes:
                self.note_lag(quotes[-1].ts_exchange_ns, received_ns)
        if reason is not None:
            self.requested = reason
        return reason

    def vet(self, events: Events, received_ns: int) -> tuple[list[Quote], list[Depth], str | None]:
        """A frame's events sorted for dispatch: quotes and depths fit to publish, the reconnect.

        The one place every quote of every adapter passes: one with a price, size or notional
        that is not finite and positive is counted as malformed (`bad_number`) and dropped; an
        exchange time more than MAX_CLOCK_SKEW_S from receipt becomes the receipt time and is
        counted (`clock_skew`), so no single frame can freeze a series in newer-wins storage.
        """
        low, high = received_ns - self.max_skew_ns, received_ns + self.max_skew_ns
        for quote in events:
            # The common case (sound quotes only) costs a type test, an integer compare and
            # the number checks per quote, and hands the adapter's list on as it is.
            if type(quote) is not Quote:
                break
            ts = quote[7]
            if (ts is not None and not low <= ts <= high) or quote_fault(quote) is not None:
                break
        else:
            return events, [], None  # type: ignore[return-value]
        quotes, depths, reason, error = split_events(events)
        if error is not None:
            self.last_error = error
        kept, skewed = sound_quotes(quotes, received_ns, low, high, self.adapter.reject)
        self.clock_skew += skewed
        return kept, sound_depths(depths, self.adapter.reject), reason

    def on_oversize(self, size: int) -> str | None:
        """A frame over FEED_MAX_FRAME_BYTES went unread: count it; a delta book resyncs.

        Top-of-book frames stand alone, so losing one only loses that update. A book built
        from deltas would go wrong without it (or never get its snapshot), so the connection
        is renewed for fresh snapshots through the reconnect backoff (the reason is returned).
        """
        self.adapter.reject(OVERSIZE)
        if self.adapter.delta_books:
            log.warning("%s: a frame of %d bytes is over FEED_MAX_FRAME_BYTES (%d); resyncing",
                        self.name, size, self.max_frame_bytes)
            self.requested = OVERSIZE
            return OVERSIZE
        log.warning("%s: a frame of %d bytes is over FEED_MAX_FRAME_BYTES (%d); skipped",
                    self.name, size, self.max_frame_bytes)
        return None

    def reconnect_delay(self, reason: str, got_data: bool) -> float:
        """Seconds to wait before reconnecting after a connection ended for `reason`.

        A connection that brought quotes for `healthy_s` starts the backoff over. The first
        reconnect a venue asks of a working connection is immediate; asked again before a
        healthy period passed, or after a failure, the delay doubles (capped, jittered).
        """
        if got_data and time.time_ns() - self.connected_since_ns >= self.healthy_s * 1e9:
            self.backoff.reset()
        first = self.backoff.attempt == 0
        delay = self.backoff.next_delay()  # counts even when skipped: the next one waits
        requested = reason == self.requested
        return 0.0 if requested and got_data and first else delay

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
                    if len(frame) > self.max_frame_bytes:
                        # websocket-client has read it whole already; it is not parsed.
                        reason = self.on_oversize(len(frame))
                    else:
                        text = (frame.decode("utf-8", "replace") if isinstance(frame, bytes)
                                else frame)
                        quotes_before = self.quotes
                        reason = self._on_text(text)
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

    def status(self) -> dict[str, str | int | float]:
        """This connection's counters and state (the reporter sums connections per venue).

        The lag is the worst since the previous call: each status write starts a new window.
        """
        lag_ns, self.lag_ns = self.lag_ns, -1
        return {
            "lag_ns": lag_ns,
            "resyncs": self.resyncs,
            "clock_skew": self.clock_skew,
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

    def run(self) -> None:
        """Connect, read, and reconnect with backoff until `stop()`."""
        try:
            while not self.stop_event.is_set():
                self.conn_state = "connecting"
                self.requested = None
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
                delay = self.reconnect_delay(reason, got_data)
                log.warning("%s: disconnected (%s); reconnecting in %.1f s",
                            self.name, reason, delay)
                self.stop_event.wait(delay)
        finally:
            self.conn_state = "stopped"
            self.stop_event.set()

    def stop(self) -> None:
        """Ask the loop to end; safe from a signal handler (it only sets a flag)."""
        self.stop_event.set()
