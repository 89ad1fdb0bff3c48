"""Issue 14 point 5 against the simulator: frames over FEED_MAX_FRAME_BYTES, and the reconnect
rate limit for a venue that keeps asking for a reconnect or whose book keeps failing its check."""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from core.backoff import Backoff
from core.config import Settings
from core.state import RedisState
from tests.support.feed import Recorder, control, start_worker, stop_worker
from tests.support.procs import Proc, wait_for
from tests.support.queues import delete_queues
from tests.support.simulator import SimProcess, serve
from workers.batcher import Batcher, BatchPath
from workers.connection import LoopConnection
from workers.discovery import discover
from workers.exchanges import get_adapter
from workers.feed import OVERSIZE
from workers.loop import FeedLoop
from workers.publisher import Publisher

pytestmark = pytest.mark.integration

SYMBOLS = ["BTC-USD", "ETH-USD"]
LIMIT = 64 * 1024
BIG = 300_000  # well over LIMIT, well under the parser's old 64 MiB refusal


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    yield from serve("--exchanges", "kraken,coinbase,bitstamp,bitfinex", "--symbols",
                     ",".join(SYMBOLS), "--rate", "50")


class LoopFeed:
    """One LoopConnection of `exchange` on a FeedLoop of its own, recording what it sends."""

    def __init__(self, sim: SimProcess, exchange: str, backoff: Backoff) -> None:
        self.recorder = Recorder()
        self.publisher = Publisher(self.recorder.send, Batcher([BatchPath("storage", 0.05,
                                                                          1000)]))
        self.publisher.start()
        adapter_cls = get_adapter(exchange)
        markets = discover(adapter_cls, f"{sim.http}/{exchange}", SYMBOLS, threading.Event())
        self.conn = LoopConnection(adapter_cls(markets), sim.ws_url(exchange), self.publisher,
                                   send_events=self.recorder.send_events, backoff=backoff,
                                   max_frame_bytes=LIMIT)
        self.loop = FeedLoop([self.conn])
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()
        self.loop.join()
        assert not self.loop.thread.is_alive()
        self.publisher.stop()
        self.publisher.join(timeout=10)


def quotes_keep_coming(count: Callable[[], int]) -> None:
    before = count()
    wait_for(lambda: count() > before + 20, 10, "quotes after the oversize frame")


# --- oversize frames ------------------------------------------------------------------------

def test_a_feed_process_skips_an_oversize_ticker_frame_and_stays_connected(
        sim: SimProcess, settings: Settings) -> None:
    """FEED_MAX_FRAME_BYTES read by a real feed process (the read loop): counted, skipped."""
    prefix = f"{settings.key_prefix}{uuid.uuid4().hex[:6]}:"
    queue_prefix = f"{settings.queue_prefix}{uuid.uuid4().hex[:6]}."
    state = RedisState.from_url(settings.redis_url, prefix)
    proc = Proc("feed-kraken", [sys.executable, "-m", "workers", "kraken", "--ws-url",
                                sim.ws_url("kraken"), "--rest-url", f"{sim.http}/kraken",
                                "--symbols", ",".join(SYMBOLS)],
                {**os.environ, "KEY_PREFIX": prefix, "QUEUE_PREFIX": queue_prefix,
                 "FEED_MAX_FRAME_BYTES": str(LIMIT)})

    def quotes() -> int:
        return int(state.feed_status("kraken").get("quotes") or 0)

    try:
        wait_for(lambda: quotes() > 20, 30, "kraken quotes")
        assert control(sim, "kraken", "oversize", bytes=BIG)["clients"] == 1
        wait_for(lambda: json.loads(state.feed_status("kraken").get("errors") or "{}")
                 .get(OVERSIZE) == 1, 10, "the oversize frame counted")
        quotes_keep_coming(quotes)
        status = state.feed_status("kraken")
        assert status["reconnects"] == "0" and status["resyncs"] == "0"
        assert status["parse_errors"] == "1"
        assert "over FEED_MAX_FRAME_BYTES" in proc.output
    finally:
        assert proc.stop() == 0, proc.output[-3000:]
        state.clear()
        delete_queues(settings.broker_url, queue_prefix)


def test_the_threaded_reader_skips_an_oversize_ticker_frame(sim: SimProcess) -> None:
    recorder = Recorder()
    worker, thread = start_worker(sim, "kraken", recorder)
    worker.max_frame_bytes = LIMIT
    try:
        wait_for(lambda: len(recorder.quotes) > 20, 15, "kraken quotes")
        control(sim, "kraken", "oversize", bytes=BIG)
        wait_for(lambda: worker.adapter.errors[OVERSIZE] == 1, 10, "the oversize frame counted")
        quotes_keep_coming(lambda: len(recorder.quotes))
        assert worker.connections == 1 and recorder.reasons("disconnect") == []
    finally:
        stop_worker(worker, thread)


def test_an_oversize_frame_of_a_delta_book_resyncs(sim: SimProcess) -> None:
    """Coinbase's book is built from deltas: skipping a frame could leave it wrong."""
    feed = LoopFeed(sim, "coinbase", Backoff(0.1, 1.0))
    conn = feed.conn
    try:
        wait_for(lambda: len(feed.recorder.quotes) > 20, 15, "coinbase quotes")
        control(sim, "coinbase", "oversize", bytes=BIG)
        wait_for(lambda: OVERSIZE in feed.recorder.reasons("disconnect"), 10,
                 "a resync for the oversize frame")
        assert conn.resyncs == 1 and conn.adapter.errors[OVERSIZE] == 1
        wait_for(lambda: conn.connections == 2, 5, "a new connection")
        quotes_keep_coming(lambda: len(feed.recorder.quotes))
    finally:
        feed.stop()


# --- the reconnect rate limit ---------------------------------------------------------------

@pytest.mark.parametrize(("exchange", "action", "reason"), [
    ("bitstamp", "reconnect", "request_reconnect"),  # the venue asks again and again
    ("bitfinex", "bad_checksum", "checksum_mismatch"),  # the book fails right after a snapshot
])
def test_a_venue_that_keeps_forcing_reconnects_gets_a_doubling_delay(
        sim: SimProcess, exchange: str, action: str, reason: str) -> None:
    feed = LoopFeed(sim, exchange, Backoff(0.4, 10.0))
    conn, recorder = feed.conn, feed.recorder
    try:
        for n in range(1, 5):
            wait_for(lambda n=n: conn.connections == n, 10, f"connection {n}")
            quotes_before = len(recorder.quotes)
            # The connection works (quotes come), then the venue forces a reconnect.
            wait_for(lambda q=quotes_before: len(recorder.quotes) > q, 10, "quotes")
            control(sim, exchange, action)
            wait_for(lambda n=n: recorder.reasons("disconnect").count(reason) == n, 10,
                     f"disconnect {n} for {reason}")
        wait_for(lambda: conn.connections == 5, 10, "connection 5")
        with recorder.lock:
            events = sorted(recorder.events, key=lambda e: e["ts_ns"])
        gaps = []
        for i, event in enumerate(events):
            if event["event"] == "disconnect":
                back = next(e for e in events[i:] if e["event"] == "connect")
                gaps.append((back["ts_ns"] - event["ts_ns"]) / 1e9)
        # At once the first time; then up to 0.8, 1.6, 3.2 s, jitter taking up to half off.
        assert gaps[0] < 0.3, gaps
        for n, gap in enumerate(gaps[1:], start=1):
            assert gap >= 0.2 * 2**n * 0.95, gaps
        assert gaps[3] > gaps[1], gaps
    finally:
        feed.stop()
