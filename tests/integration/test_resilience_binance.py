"""Binance-specific fault: a `serverShutdown` event makes the feed reconnect at once, records
the reason, and loses no change emitted after recovery."""

from __future__ import annotations

import time

import pytest

from tests.support.feed import assert_recovers_without_loss, control, streaming
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, simulator_fixture

pytestmark = pytest.mark.integration
# binance.com lists no USD pairs: the feed follows USDT ones.
SYMBOLS = ["BTC-USDT", "ETH-USDT"]


sim = simulator_fixture("--exchanges", "binance", "--symbols", ",".join(SYMBOLS), "--rate", "100")


def test_server_shutdown_reconnects_without_loss(sim: SimProcess) -> None:
    with streaming(sim, "binance", symbols=SYMBOLS) as (worker, recorder):
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


def test_shutdown_notices_in_a_row_each_reconnect(sim: SimProcess) -> None:
    with streaming(sim, "binance", symbols=SYMBOLS) as (worker, recorder):
        for round_ in range(1, 3):
            before = worker.connections
            since = time.time_ns()
            control(sim, "binance", "reconnect")
            wait_for(lambda b=before: worker.connections > b, 5, "a new connection")
            wait_for(lambda s=since: recorder.quotes_after(s), 5, "quotes again")
            assert recorder.reasons("disconnect") == ["server_shutdown"] * round_
