"""Several venues in one feed process: each delivers, and one venue's trouble stalls no other."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from core.backoff import Backoff
from core.config import Settings
from core.state import RedisState
from tests.support.feed import SYMBOLS, Recorder, control
from tests.support.procs import wait_for
from tests.support.queues import delete_queues
from tests.support.simulator import ROOT, SimProcess
from workers.batcher import Batcher, BatchPath
from workers.connection import LoopConnection
from workers.discovery import discover
from workers.exchanges import get_adapter
from workers.loop import FeedLoop
from workers.publisher import Publisher

pytestmark = pytest.mark.integration


@pytest.fixture
def sim(bitstamp_kraken_sim: SimProcess) -> SimProcess:
    return bitstamp_kraken_sim


def quotes(state: RedisState, venue: str) -> int:
    return int(state.feed_status(venue).get("quotes") or 0)


def test_one_process_two_venues_deliver_and_one_closed_or_silenced_stalls_not_the_other(
        sim: SimProcess, settings: Settings) -> None:
    prefix = f"{settings.key_prefix}{uuid.uuid4().hex[:6]}:"
    queue_prefix = f"{settings.queue_prefix}{uuid.uuid4().hex[:6]}."
    state = RedisState.from_url(settings.redis_url, prefix)
    env = {**os.environ, "KEY_PREFIX": prefix, "QUEUE_PREFIX": queue_prefix}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers", "kraken,bitstamp", "--symbols", "BTC-USD,ETH-USD",
         "--ws-url",
         f"ws://127.0.0.1:{sim.port}/{{exchange}}", "--rest-url", f"{sim.http}/{{exchange}}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: quotes(state, "kraken") > 50 and quotes(state, "bitstamp") > 50, 30,
                 "quotes from both venues")
        status = state.feed_status("kraken")
        assert status["pid"] == state.feed_status("bitstamp")["pid"] == str(proc.pid)
        assert status["symbols"] == "BTC-USD,ETH-USD"

        # Kraken silenced: Bitstamp goes on at its full rate meanwhile.
        control(sim, "kraken", "silence", seconds=3)
        time.sleep(0.5)
        k0, b0 = quotes(state, "kraken"), quotes(state, "bitstamp")
        time.sleep(2.0)
        k1, b1 = quotes(state, "kraken"), quotes(state, "bitstamp")
        assert k1 - k0 < 20  # silent (a status write may lag a frame or two)
        assert b1 - b0 > 100  # ~100 changes/s, over 2 s

        # Bitstamp's connection closed by the server: it reconnects, Kraken never pauses.
        wait_for(lambda: quotes(state, "kraken") > k1 + 50, 10, "kraken back after silence")
        control(sim, "bitstamp", "close")
        k2 = quotes(state, "kraken")
        wait_for(lambda: int(state.feed_status("bitstamp").get("reconnects") or 0) >= 1, 10,
                 "bitstamp to see the close")
        wait_for(lambda: quotes(state, "kraken") > k2 + 100, 5, "kraken going on meanwhile")
        b3 = quotes(state, "bitstamp")
        wait_for(lambda: quotes(state, "bitstamp") > b3 + 50, 10, "bitstamp back")
        assert state.feed_status("kraken")["reconnects"] == "0"
        assert proc.poll() is None
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
        assert state.feed_status("kraken")["state"] == "stopped"
        state.clear()
        delete_queues(settings.broker_url, queue_prefix)


def test_a_connect_that_hangs_does_not_hold_up_another_venue(sim: SimProcess) -> None:
    """A server that accepts and never answers the upgrade: the other connection streams."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    recorder = Recorder()
    publisher = Publisher(recorder.send, Batcher([BatchPath("storage", 0.05, 1000)]))
    publisher.start()
    kraken_cls = get_adapter("kraken")
    markets = discover(kraken_cls, f"{sim.http}/kraken", SYMBOLS, threading.Event())
    stuck = LoopConnection(kraken_cls(markets), f"ws://127.0.0.1:{hole.getsockname()[1]}/x",
                           publisher, backoff=Backoff(0.1, 0.5))
    live = LoopConnection(kraken_cls(markets), sim.ws_url("kraken"), publisher,
                          send_events=recorder.send_events, backoff=Backoff(0.1, 0.5))
    loop = FeedLoop([stuck, live])
    loop.start()
    try:
        wait_for(lambda: len(recorder.quotes) > 100, 15, "quotes on the live connection")
        assert stuck.conn_state == "connecting" and stuck.connections == 0
        assert live.connections == 1
    finally:
        loop.stop()
        loop.join()
        assert not loop.thread.is_alive()
        publisher.stop()
        publisher.join(timeout=10)
        hole.close()
    assert live.conn_state == "stopped"
