"""OKX-specific fault against the simulator: the `notice` 64008 (the connection will soon be
closed for an upgrade) ends the connection with that reason recorded, a new one streams within
5 s, and no change emitted after recovery is lost. The simulated OKX lists no USD-quoted spot
pair, so these run on USDT pairs."""

from __future__ import annotations

import time

import pytest

from tests.support.feed import (
    assert_recovers_without_loss,
    control,
    streaming,
)
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, simulator_fixture

pytestmark = pytest.mark.integration
SYMBOLS = ["BTC-USDT", "ETH-USDT"]


sim = simulator_fixture("--exchanges", "okx", "--symbols", ",".join(SYMBOLS), "--rate", "100")


def test_notice_64008_recovers(sim: SimProcess) -> None:
    with streaming(sim, "okx", symbols=SYMBOLS) as (worker, recorder):
        assert {row[1] for row in recorder.quotes} == set(SYMBOLS)
        before = worker.connections
        control(sim, "okx", "reconnect")
        wait_for(lambda: "notice_64008" in recorder.reasons("disconnect"), 5,
                 "a disconnect for notice_64008")
        assert_recovers_without_loss(sim, "okx", worker, recorder, before)
        assert recorder.reasons("disconnect") == ["notice_64008"]
        assert not worker.adapter.errors


def test_text_ping_keeps_a_quiet_connection_alive(sim: SimProcess) -> None:
    # OKB-USDT is listed but never changes here, and OKX has no server heartbeat: only the
    # `pong` answers to the text `ping` reach the worker, and they alone keep the watchdog quiet.
    with streaming(sim, "okx", first=None, symbols=["OKB-USDT"], ping_interval_s=0.2,
                   watchdog_s=1.0) as (worker, recorder):
        wait_for(lambda: worker.connections == 1, 5, "a connection")
        time.sleep(3.0)
        assert recorder.reasons("disconnect") == [] and worker.connections == 1
        assert worker.messages >= 10 and recorder.quotes == []
        assert not worker.adapter.errors and worker.last_error is None
