"""`--pregenerate`: every counted change rendered up front, then sent exactly as counted."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh
from tests.support.procs import ROOT

pytestmark = pytest.mark.integration

COUNT = 2_500


def test_pregenerated_changes_arrive_exactly_once_with_clean_series() -> None:
    sim = sh.SimProcess("--count", str(COUNT), "--rate", "0", "--pregenerate").start()
    assert sim.stats()["pregenerated"] == {"bitstamp": None, "kraken": None}  # nobody subscribed
    clients = bk.subscribe_both(sim)
    try:
        received = bk.collect_books(clients, COUNT, 30.0)
        stats = sim.stats()
        for exchange, frames in received.items():
            assert len(frames) == COUNT, (exchange, len(frames))
            counts = bk.check_series(exchange, frames)  # unique, rising timestamps per symbol
            assert set(counts) == {"BTC-USD", "ETH-USD"}
            assert counts == stats["emitted"][exchange]
        assert stats["pregenerated"] == {"bitstamp": 0, "kraken": 0}  # all sent, none left
        assert [f for f in sh.collect(clients["bitstamp"], 1.0) if bk.is_bitstamp_book(f)] == []
        assert requests.get(f"{sim.http}/stats", timeout=5).json()["emitted"] == stats["emitted"]
    finally:
        for ws in clients.values():
            ws.close()
        assert sim.stop() == 0, sim.output()


def test_pregenerate_without_count_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--pregenerate"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--pregenerate needs --count" in result.stderr
