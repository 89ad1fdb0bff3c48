"""Bitfinex-specific faults against the simulator: a sequence gap, a checksum mismatch and the
venue's restart notice (info 20051) each end the connection with that reason recorded, a new one
streams within 5 s, and no change emitted after recovery is lost."""

from __future__ import annotations

import pytest

from tests.support.feed import assert_recovers_without_loss, assert_resynced, control, streaming
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, simulator_fixture

pytestmark = pytest.mark.integration


sim = simulator_fixture("--exchanges", "bitfinex", "--symbols", "BTC-USD,ETH-USD", "--rate", "100")


@pytest.mark.parametrize(
    ("action", "reason"),
    [("gap", "sequence_gap"), ("bad_checksum", "checksum_mismatch"),
     ("reconnect", "info_20051")],
)
def test_fault_recovers_with_its_reason(sim: SimProcess, action: str, reason: str) -> None:
    with streaming(sim, "bitfinex") as (worker, recorder):
        assert worker.connections == 1 and not worker.adapter.errors
        before = worker.connections
        control(sim, "bitfinex", action)
        wait_for(lambda: reason in recorder.reasons("disconnect"), 5,
                 f"a disconnect for {reason}")
        assert_recovers_without_loss(sim, "bitfinex", worker, recorder, before)
        assert recorder.reasons("disconnect") == [reason]
        # Gaps and mismatches are counted as such; a restart notice is not an error at all.
        counted = {"sequence_gap", "checksum_mismatch"} & {reason}
        assert dict(worker.adapter.errors) == {r: 1 for r in counted}
        if counted:
            assert_resynced(recorder, worker, reason)
        else:
            assert worker.resyncs == 0
