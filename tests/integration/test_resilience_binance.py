"""Binance-specific fault: a `serverShutdown` event makes the feed reconnect at once, records
the reason, and loses no change emitted after recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.feed_helpers import (
    Recorder,
    assert_recovers_without_loss,
    control,
    start_worker,
    stop_worker,
)
from tests.integration.simulator_helpers import SimProcess
from tests.procs import wait_for

pytestmark = pytest.mark.integration
# binance.com lists no USD pairs: the feed follows USDT ones.
SYMBOLS = ["BTC-USDT", "ETH-USDT"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    proc = SimProcess("--exchanges", "binance", "--symbols", ",".join(SYMBOLS),
                      "--rate", "100").start()
    yield proc
    proc.stop()


def test_server_shutdown_reconnects_without_loss(sim: SimProcess) -> None:
    recorder = Recorder()
    worker, thread = start_worker(sim, "binance", recorder, symbols=SYMBOLS)
    try:
        wait_for(lambda: len(recorder.quotes) > 10, 15, "first quotes")
        assert {q.symbol for q in recorder.quotes_after(0)} == set(SYMBOLS)
        before = worker.connections
        started = time.monotonic()
        assert control(sim, "binance", "reconnect")["notified"] == 1
        wait_for(lambda: worker.connections > before, 5, "a new connection within 5 s")
        # A requested reconnect on a working connection goes at once, not after a backoff.
        assert time.monotonic() - started < 1.0
        assert_recovers_without_loss(sim, "binance", worker, recorder, before)
        assert worker.connections == before + 1
        assert recorder.reasons("disconnect") == ["server_shutdown"]
        wait_for(lambda: sim.stats()["clients"]["binance"] == 1, 5,
                 "the old connection to be closed")
        assert not worker.adapter.errors
    finally:
        stop_worker(worker, thread)


def test_shutdown_notices_in_a_row_each_reconnect(sim: SimProcess) -> None:
    recorder = Recorder()
    worker, thread = start_worker(sim, "binance", recorder, symbols=SYMBOLS)
    try:
        wait_for(lambda: len(recorder.quotes) > 10, 15, "first quotes")
        for round_ in range(1, 3):
            before = worker.connections
            since = time.time_ns()
            control(sim, "binance", "reconnect")
            wait_for(lambda b=before: worker.connections > b, 5, "a new connection")
            wait_for(lambda s=since: recorder.quotes_after(s), 5, "quotes again")
            assert recorder.reasons("disconnect") == ["server_shutdown"] * round_
    finally:
        stop_worker(worker, thread)
