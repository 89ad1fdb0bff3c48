"""Smoke run of `python -m bench soak`: nothing lost, every process followed, backlog sampled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak import slope_per_min

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_soak_smoke_counts_every_quote_and_follows_every_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "soak", "--seconds", "6", "--rate", "400",
         "--exchanges", "kraken,coinbase,binance", "--sample-s", "1", "--warmup", "1", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["emitted"] > 1000
    assert figures["lost"] == 0 and figures["stored"] == figures["emitted"]
    assert set(figures["lost_by_exchange"]) == {"kraken", "coinbase", "binance"}
    assert figures["all_alive"] is True and figures["ws_events"] > 0
    roles = {key.split(":")[0] for key in figures["memory"]}
    assert {"storage", "arbitrage", "simulator", "web", "feed-kraken", "feed-coinbase",
            "feed-binance", "rabbitmq", "redis", "influxdb"} <= roles
    for key, mem in figures["memory"].items():
        assert 0 < mem["rss_end_mb"] <= mem["rss_peak_mb"], key
    assert figures["samples"] >= 2 and figures["backlog_end"] is not None


@pytest.mark.parametrize(("points", "expected"), [
    ([(0.0, 50.0), (60.0, 51.0), (120.0, 52.0)], 1.0),  # +1 MB a minute
    ([(0.0, 50.0), (30.0, 50.0), (60.0, 50.0), (90.0, 50.0)], 0.0),
    ([(0.0, 10.0), (60.0, 8.0), (120.0, 6.0)], -2.0),
])
def test_slope_is_least_squares_mb_per_minute(points: list[tuple[float, float]],
                                              expected: float) -> None:
    assert slope_per_min(points) == pytest.approx(expected)


def test_slope_needs_three_points() -> None:
    assert slope_per_min([(0.0, 1.0), (1.0, 2.0)]) is None
