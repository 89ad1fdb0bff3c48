"""The feed-worker loop against the simulator: reconnects, watchdog, status, keepalive."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.feed import (
    SYMBOLS,
    Recorder,
    assert_recovers_without_loss,
    control,
    streaming,
)
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess
from workers.discovery import discover
from workers.exchanges import get_adapter

pytestmark = pytest.mark.integration


@pytest.fixture
def sim(bitstamp_kraken_sim: SimProcess) -> SimProcess:
    return bitstamp_kraken_sim


@pytest.mark.parametrize("exchange", ["bitstamp", "kraken"])
def test_reconnects_when_the_server_closes(sim: SimProcess, exchange: str) -> None:
    with streaming(sim, exchange, first=20) as (worker, recorder):
        control(sim, exchange, "close")
        closed_at = time.time_ns()
        wait_for(lambda: worker.connections >= 2, 5, "a new connection within 5 s")
        wait_for(lambda: len(recorder.quotes_after(closed_at)) > 20, 5, "quotes after it")
        assert worker.reconnects >= 1
        assert any("closed" in r or "error" in r for r in recorder.reasons("disconnect"))
        assert len(recorder.reasons("connect")) >= 2


def test_watchdog_reconnects_a_silent_feed(sim: SimProcess) -> None:
    with streaming(sim, "kraken", watchdog_s=1.0) as (worker, recorder):
        control(sim, "kraken", "silence", seconds=3)
        wait_for(lambda: "watchdog: silent" in recorder.reasons("disconnect"), 5,
                 "the watchdog to drop the silent connection")
        wait_for(lambda: worker.connections >= 2, 5, "a new connection")


def test_bitstamp_request_reconnect_is_honoured_at_once(sim: SimProcess) -> None:
    with streaming(sim, "bitstamp") as (worker, recorder):
        asked = time.monotonic()
        control(sim, "bitstamp", "reconnect")
        assert_recovers_without_loss(sim, "bitstamp", worker, recorder, 1)
        assert "request_reconnect" in recorder.reasons("disconnect")
        assert worker.connections == 2 and time.monotonic() - asked < 10


def test_kraken_maintenance_status_triggers_a_reconnect(sim: SimProcess) -> None:
    with streaming(sim, "kraken") as (worker, recorder):
        control(sim, "kraken", "reconnect")
        assert_recovers_without_loss(sim, "kraken", worker, recorder, 1)
        assert "status_maintenance" in recorder.reasons("disconnect")


def test_app_level_keepalive_is_answered(sim: SimProcess) -> None:
    with streaming(sim, "bitstamp", ping_interval_s=0.3, first=5) as (worker, recorder):
        before = worker.messages
        time.sleep(1.5)
        # Heartbeat replies are frames too; none of them may count as a parse error.
        assert worker.messages > before
        assert sum(worker.adapter.errors.values()) == 0


def test_status_hash_is_written_about_once_a_second(sim: SimProcess, private_state) -> None:
    with streaming(sim, "kraken", first=None, state=private_state):
        wait_for(lambda: private_state.feed_status("kraken").get("state") == "connected", 10,
                 "a connected status")
        first = private_state.feed_status("kraken")
        wait_for(lambda: int(private_state.feed_status("kraken")["messages"])
                 > int(first["messages"]), 5, "the status to move on")
        status = private_state.feed_status("kraken")
        assert status["markets"] == "2" and status["symbols"] == "BTC-USD,ETH-USD"
        assert int(status["last_message_ns"]) > 0 and status["reconnects"] == "0"
    assert private_state.feed_status("kraken")["state"] == "stopped"


def test_discovery_retries_until_the_listing_answers() -> None:
    sim = SimProcess("--exchanges", "kraken", "--symbols", "BTC-USD")
    found: list = []
    stop = threading.Event()
    thread = threading.Thread(
        target=lambda: found.extend(
            discover(get_adapter("kraken"), f"{sim.http}/kraken", ["BTC-USD", "FOO-USD"], stop)
        ),
        daemon=True,
    )
    thread.start()
    try:
        time.sleep(1.5)  # nothing listens yet: discovery keeps retrying
        assert thread.is_alive()
        sim.start()
        thread.join(timeout=15)
        assert [m.symbol for m in found] == ["BTC-USD"]
        assert found[0].native == "BTC/USD"
    finally:
        stop.set()
        sim.stop()


def test_a_venue_over_its_limit_gets_more_connections(sim: SimProcess) -> None:
    from workers.exchanges.kraken import KrakenAdapter
    from workers.group import FeedGroup
    from workers.publisher import Publisher

    class OnePerConnection(KrakenAdapter):
        name = ""  # not registered
        max_markets_per_connection = 1

    recorder = Recorder()
    markets = discover(get_adapter("kraken"), f"{sim.http}/kraken", SYMBOLS, threading.Event())
    publisher = Publisher(recorder.send)
    publisher.start()
    group = FeedGroup(OnePerConnection, markets, sim.ws_url("kraken"), publisher,
                      send_events=recorder.send_events)
    group.start()
    try:
        wait_for(lambda: {q[1] for q in recorder.quotes} == set(SYMBOLS), 15,
                 "quotes for both symbols")
        assert len(group.workers) == 2
        assert [len(w.adapter.markets) for w in group.workers] == [1, 1]
        assert all(w.connections == 1 for w in group.workers)
        assert requests.get(f"{sim.http}/stats", timeout=5).json()["clients"]["kraken"] == 2
    finally:
        group.stop()
        group.join()
        publisher.stop()
        publisher.join(timeout=10)
