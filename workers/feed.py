"""The feed-worker loop: websocket connection, keepalive, watchdog, reconnects and status."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket

from core.state import RedisState
from workers.backoff import Backoff
from workers.exchanges.base import Adapter
from workers.publisher import Publisher

log = logging.getLogger(__name__)

# Events for the `feed_events` measurement: (exchange, event, reason, ts_ns) dicts.
SendEvents = Callable[[list[dict[str, Any]]], None]


def celery_event_sender() -> SendEvents:
    """Send feed events to the storage queue."""
    from tasks.storage import store_feed_events

    def send(events: list[dict[str, Any]]) -> None:
        store_feed_events.apply_async(args=[events], retry=True)

    return send


class FeedWorker:
    """Runs one exchange's connection until stopped, reconnecting whenever it is lost."""

    def __init__(
        self,
        adapter: Adapter,
        ws_url: str,
        publisher: Publisher,
        state: RedisState | None = None,
        send_events: SendEvents | None = None,
        backoff: Backoff | None = None,
        status_interval_s: float = 1.0,
    ) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.ws_url = ws_url
        self.publisher = publisher
        self.state = state
        self.send_events = send_events
        self.backoff = backoff or Backoff()
        self.status_interval_s = status_interval_s
        self.stop_event = threading.Event()
        self.ws: websocket.WebSocketApp | None = None
        self.conn_state = "starting"
        self.connected_since_ns = 0
        self.last_message_ns = 0
        self.last_message_mono = 0.0
        self.messages = 0
        self.quotes = 0
        self.reconnects = 0
        self.connections = 0
        self._close_reason = ""
        self._got_data = False

    # connection callbacks (websocket thread)
    def _on_open(self, ws: websocket.WebSocketApp) -> None:
        self.connections += 1
        self.conn_state = "connected"
        self.connected_since_ns = time.time_ns()
        self.last_message_mono = time.monotonic()
        self._close_reason = ""
        self._event("connect", "")
        for frame in self.adapter.subscribe_messages():
            ws.send(frame)
        log.info("%s: connected to %s, %d subscription frames sent",
                 self.name, self.ws_url, len(self.adapter.subscribe_messages()))

    def _on_message(self, ws: websocket.WebSocketApp, text: str | bytes) -> None:
        received_ns = time.time_ns()
        self.last_message_ns = received_ns
        self.last_message_mono = time.monotonic()
        self.messages += 1
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        quotes = self.adapter.on_message(text, received_ns)
        if quotes:
            self._got_data = True
            self.quotes += len(quotes)
            self.publisher.put(quotes)
        if self.adapter.reconnect_reason:
            self._drop(self.adapter.reconnect_reason)

    def _on_error(self, ws: websocket.WebSocketApp, error: Exception) -> None:
        if not self._close_reason:
            self._close_reason = f"error: {error}"
        log.warning("%s: websocket error: %s", self.name, error)

    def _on_close(self, ws: websocket.WebSocketApp, code: int | None, msg: str | None) -> None:
        if not self._close_reason:
            self._close_reason = f"closed by server (code {code})"

    def _drop(self, reason: str) -> None:
        """Close the current connection so the loop opens a new one."""
        self._close_reason = reason
        if self.ws is not None:
            self.ws.close()

    # supervision (own thread)
    def _supervise(self) -> None:
        """Watchdog, app-level keepalive and the status hash, checked four times a second."""
        next_ping = time.monotonic() + self.adapter.ping_interval_s
        next_status = 0.0
        while not self.stop_event.wait(0.25):
            now = time.monotonic()
            if self.conn_state == "connected":
                if now - self.last_message_mono > self.adapter.watchdog_s:
                    log.warning("%s: no frame for %.0f s, reconnecting", self.name,
                                self.adapter.watchdog_s)
                    self._drop("watchdog: silent")
                elif now >= next_ping:
                    ping = self.adapter.ping_message()
                    if ping is not None and self.ws is not None:
                        try:
                            self.ws.send(ping)
                        except websocket.WebSocketException as exc:
                            log.warning("%s: ping failed: %s", self.name, exc)
                    next_ping = now + self.adapter.ping_interval_s
            if now >= next_status:
                self.write_status()
                next_status = now + self.status_interval_s

    def status(self) -> dict[str, str | int | float]:
        """The feed status hash's fields."""
        errors = dict(self.adapter.errors)
        return {
            "exchange": self.name,
            "state": self.conn_state,
            "connected_since_ns": self.connected_since_ns,
            "last_message_ns": self.last_message_ns,
            "messages": self.messages,
            "quotes": self.quotes,
            "reconnects": self.reconnects,
            "parse_errors": sum(errors.values()),
            "errors": json.dumps(errors, sort_keys=True),
            "markets": len(self.adapter.markets),
            "symbols": ",".join(sorted(m.symbol for m in self.adapter.markets.values())),
            "published_batches": self.publisher.published_batches,
            "updated_ns": time.time_ns(),
            "pid": os.getpid(),
            "ws_url": self.ws_url,
        }

    def write_status(self) -> None:
        """Store the status hash and announce it to the web processes; Redis trouble is logged."""
        if self.state is None:
            return
        status = self.status()
        try:
            self.state.set_feed_status(self.name, status)
            self.state.publish("feed", status)
        except Exception as exc:  # noqa: BLE001  (status is best effort; the feed goes on)
            log.warning("%s: feed status not written: %s", self.name, exc)

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
        supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        supervisor.start()
        try:
            while not self.stop_event.is_set():
                self.conn_state = "connecting"
                self.adapter.on_connect()
                self._got_data = False
                self.ws = websocket.WebSocketApp(
                    self.ws_url,
                    on_open=self._on_open,
                    on_message=self._on_message,
                    on_error=self._on_error,
                    on_close=self._on_close,
                )
                self.ws.run_forever(ping_interval=20, ping_timeout=10, skip_utf8_validation=True)
                if self.stop_event.is_set():
                    break
                reason = self._close_reason or "connection lost"
                self.conn_state = "disconnected"
                self.reconnects += 1
                self._event("disconnect", reason)
                if self._got_data or reason == self.adapter.reconnect_reason:
                    self.backoff.reset()
                # A venue that asked us to reconnect gets us back at once; failures back off.
                delay = 0.0 if reason == self.adapter.reconnect_reason else self.backoff.next_delay()
                log.warning("%s: disconnected (%s); reconnecting in %.1f s", self.name, reason, delay)
                self.stop_event.wait(delay)
        finally:
            self.conn_state = "stopped"
            self.stop_event.set()
            supervisor.join(timeout=2)
            self.write_status()

    def stop(self) -> None:
        """Ask the loop to end: closes the socket and stops reconnecting."""
        self.stop_event.set()
        if self.ws is not None:
            self.ws.close()
