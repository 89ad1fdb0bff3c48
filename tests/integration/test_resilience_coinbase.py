"""Coinbase-specific faults against the simulator: a per-product sequence that goes back, and
the error Coinbase sends before it drops a client. Each ends the connection with its reason
recorded, recovers within 5 s, and loses no change emitted after recovery."""

from __future__ import annotations

import pytest

from tests.support.feed import assert_recovers_without_loss, assert_resynced, control, streaming
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, simulator_fixture

pytestmark = pytest.mark.integration
SYMBOLS = ["BTC-USD", "ETH-USD"]


sim = simulator_fixture("--exchanges", "coinbase", "--symbols", ",".join(SYMBOLS), "--rate", "100")


def test_sequence_gap_resyncs(sim: SimProcess) -> None:
    with streaming(sim, "coinbase", symbols=SYMBOLS) as (worker, recorder):
        before = worker.connections
        assert recorder.reasons("disconnect") == []
        control(sim, "coinbase", "gap")
        # Heartbeats come every second per product: the backwards sequence shows within ~1 s.
        wait_for(lambda: "sequence_gap" in recorder.reasons("disconnect"), 5,
                 "the sequence gap to end the connection")
        assert worker.adapter.errors["sequence_gap"] >= 1
        assert_recovers_without_loss(sim, "coinbase", worker, recorder, before)
        # The new connection's sequences are consistent again: no further resync.
        assert recorder.reasons("disconnect") == ["sequence_gap"]
        assert_resynced(recorder, worker, "sequence_gap")


def test_disconnect_notice_reconnects_at_once(sim: SimProcess) -> None:
    with streaming(sim, "coinbase", symbols=SYMBOLS) as (worker, recorder):
        before = worker.connections
        control(sim, "coinbase", "reconnect")
        wait_for(lambda: "slow_consumer" in recorder.reasons("disconnect"), 5,
                 "the error notice to end the connection")
        assert worker.last_error == "ErrSlowConsume"
        assert_recovers_without_loss(sim, "coinbase", worker, recorder, before)
        assert_resynced(recorder, worker, "slow_consumer")
