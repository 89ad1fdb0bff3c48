"""`--pregenerate`: every counted change rendered up front, then sent exactly as counted."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

try:
    from tests.integration import simulator_helpers as sh
    from tests.integration.test_simulator_emission import (
        check_series,
        collect_books,
        subscribe_both,
    )
except ImportError:  # tests/ is not an importable package here: the helpers sit next to this file
    import simulator_helpers as sh  # type: ignore[no-redef]
    from test_simulator_emission import (  # type: ignore[no-redef]
        check_series,
        collect_books,
        subscribe_both,
    )

pytestmark = pytest.mark.integration

COUNT = 2_500


def test_pregenerated_changes_arrive_exactly_once_with_clean_series() -> None:
    sim = sh.SimProcess("--count", str(COUNT), "--rate", "0", "--pregenerate").start()
    assert sim.stats()["pregenerated"] == {"bitstamp": None, "kraken": None}  # nobody subscribed
    clients = subscribe_both(sim)
    try:
        received = collect_books(clients, COUNT, 30.0)
        stats = sim.stats()
        for exchange, frames in received.items():
            assert len(frames) == COUNT, (exchange, len(frames))
            counts = check_series(exchange, frames)  # unique, rising timestamps per symbol
            assert set(counts) == {"BTC-USD", "ETH-USD"}
            assert counts == stats["emitted"][exchange]
        assert stats["pregenerated"] == {"bitstamp": 0, "kraken": 0}  # all sent, none left
        assert [f for f in sh.collect(clients["bitstamp"], 1.0) if sh.is_bitstamp_book(f)] == []
        assert requests.get(f"{sim.http}/stats", timeout=5).json()["emitted"] == stats["emitted"]
    finally:
        for ws in clients.values():
            ws.close()
        assert sim.stop() == 0, sim.output()


def test_pregenerate_without_count_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "simulator", "--pregenerate"], cwd=sh.ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--pregenerate needs --count" in result.stderr
