"""The feed-worker loop: websocket connection, keepalive, watchdog, reconnects and status."""

from __future__ import annotations

import logging
import threading
import time

from core.backoff import Backoff
from core.config import Settings
from core.types import Quote, quote_fault
from workers.exchanges.base import Adapter
from workers.exchanges.events import OVERSIZE, RESYNC_REASONS, Events, Split, split_events
from workers.feed_events import SendEvents
from workers.publisher import Publisher
from workers.socket_io import read_ahead
from workers.soundness import sound_depths, sound_quotes
from workers.threaded_io import CONNECT_TIMEOUT_S, PROTOCOL_PING_S, ThreadedIO

__all__ = ["CONNECT_TIMEOUT_S", "OVERSIZE", "PROTOCOL_PING_S", "RESYNC_REASONS", "FeedWorker",
           "SendEvents", "read_ahead"]

log = logging.getLogger(__name__)

_DEFAULTS = Settings()
MAX_CLOCK_SKEW_S = _DEFAULTS.max_clock_skew_s  # the defaults; feed processes pass their settings
MAX_FRAME_BYTES = _DEFAULTS.feed_max_frame_bytes
# A connection that brought quotes this long was healthy: the reconnect backoff starts over.
# Until then a venue that keeps asking to reconnect (or whose book keeps failing its check)
# waits the doubling delay rather than reconnecting at once each time.
HEALTHY_S = 30.0


# Two quotes of a series this close are one instant to the venue's clock (a millisecond).
SAME_INSTANT_NS = 1_000_000


class SeriesGuard:
    """One stored point per change of each series, across reconnects and coarse clocks.

    After a reconnect an adapter quotes each market's top afresh (its book is new); a top
    equal to the last one published is the same state, not a change, and is dropped (whatever
    last trade it carries: the new connection may not have seen one yet), so a reconnect adds
    no point. A venue stamping in milliseconds can send two changes of one
    market in the same millisecond; InfluxDB keeps one point per series and time, so the
    second is moved a nanosecond past the first. A time more than SAME_INSTANT_NS older than
    the last is an out-of-order update of its own and keeps its time.
    """

    def __init__(self) -> None:
        self.last: dict[str, Quote] = {}  # the last quote published per symbol
        self.connection = -1
        self._unseen: set[str] = set()  # symbols not yet quoted on this connection

    def admit(self, quotes: list[Quote], connection: int) -> list[Quote]:
        """The quotes to publish, in order, each with a time of its own."""
        last = self.last
        if connection != self.connection:
            self.connection, self._unseen = connection, set(last)
        unseen = self._unseen
        kept: list[Quote] = []
        changed = False
        for quote in quotes:
            symbol = quote[1]
            before = last.get(symbol)
            if before is not None:
                if unseen and symbol in unseen:
                    unseen.discard(symbol)
                    if before[2:6] == quote[2:6]:
                        changed = True
                        continue  # the top it had before the reconnect: no change
                exchange_ns = quote[7]
                ts = quote[8] if exchange_ns is None else exchange_ns
                then = before.ts_ns
                if then - SAME_INSTANT_NS < ts <= then:
                    changed = True
                    quote = (quote._replace(ts_received_ns=then + 1) if exchange_ns is None
                             else quote._replace(ts_exchange_ns=then + 1))
            last[symbol] = quote
            kept.append(quote)
        return kept if changed else quotes


class FeedWorker(ThreadedIO):
    """One exchange connection's counters, status, backoff and event dispatch.

    Run on a thread of its own it reads its socket there (`ThreadedIO`); a FeedLoop drives
    LoopConnections, the same worker read by the process's one loop thread.
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
        self.series = SeriesGuard()  # one point per change, across reconnects

    def _on_text(self, text: str) -> str | None:
        """Dispatch one text frame's events; returns the reason to reconnect if it asked one."""
        received_ns = time.time_ns()
        self.last_message_ns = received_ns
        self.messages += 1
        return self.dispatch(self.adapter.on_message(text, received_ns), received_ns)

    def _on_binary(self, data: bytes) -> str | None:
        """Dispatch one binary frame's events, as `_on_text` does."""
        received_ns = time.time_ns()
        self.last_message_ns = received_ns
        self.messages += 1
        return self.dispatch(self.adapter.on_binary(data, received_ns), received_ns)

    def _on_rest(self, url: str, text: str) -> str | None:
        """Dispatch the events of a REST body the adapter asked for."""
        received_ns = time.time_ns()
        return self.dispatch(self.adapter.on_rest(url, text, received_ns), received_ns)

    def dispatch(self, events: Events, received_ns: int) -> str | None:
        """Publish what is fit, send replies, start fetches; the reconnect reason, if any."""
        if not events:
            return None
        split = self.vet(events, received_ns)
        quotes, depths, reason = split.quotes, split.depths, split.reconnect
        if quotes:
            quotes = self.series.admit(quotes, self.connections)
        if quotes or depths:
            if quotes:
                self.note_lag(quotes[-1].ts_exchange_ns, received_ns)
            self.quotes += len(quotes)
            self.depths += len(depths)
            self.publisher.put(quotes, depths)
        for frame in split.sends:
            self.send_text(frame)
        if reason is not None:
            self.requested = reason
            return reason
        for url in split.fetches:
            reason = self.request_rest(url)
            if reason is not None:
                self.requested = reason
                return reason
        return None

    def vet(self, events: Events, received_ns: int) -> Split:
        """A frame's events sorted for dispatch, with only the quotes and depths fit to publish.

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
            return Split(events, [], None, None, [], [])  # type: ignore[arg-type]
        split = split_events(events)
        if split.error is not None:
            self.last_error = split.error
        kept, skewed = sound_quotes(split.quotes, received_ns, low, high, self.adapter.reject)
        self.clock_skew += skewed
        return split._replace(quotes=kept, depths=sound_depths(split.depths, self.adapter.reject))

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

    def stop(self) -> None:
        """Ask the loop to end; safe from a signal handler (it only sets a flag)."""
        self.stop_event.set()
