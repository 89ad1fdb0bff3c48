"""Smoke runs of `python -m bench pipeline`: figures, baselines, and the loss accounting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workers.exchanges import known_exchanges

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> dict[str, Any]:
    """Run the benchmark in its own process (it isolates its prefixes through the environment)."""
    out = subprocess.run([sys.executable, "-m", "bench", "pipeline", *args, "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=240, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_venue_at_full_rate_loses_nothing_and_reports_baselines() -> None:
    # Pre-generated frames at full speed over all eight venues: before the simulator kept its
    # keepalives behind the stream it had sent, Coinbase and Bitfinex lost nearly everything.
    figures = bench("--seconds", "2", "--per-quote", "300", "--noop", "10000")
    assert figures["exchanges"].split(",") == known_exchanges()
    assert set(figures["by_exchange"]) == set(known_exchanges())
    for name, row in figures["by_exchange"].items():
        assert row["emitted"] > 1_000, (name, row)
        assert row["stored"] == row["emitted"] and row["lost"] == 0, (name, row)
    assert figures["emitted"] > 0
    assert figures["lost"] == 0, figures["lost_by_exchange"]
    assert figures["stored"] == figures["emitted"]
    assert figures["delivered_influx_qps"] > 0
    assert figures["delivered_redis_qps"] > 0
    assert figures["redis_current"] is True
    assert figures["backlog"]["storage"] == {"ready": 0, "unacked": 0}
    for name in ("per_quote_tasks", "noop_batches", "direct_influx"):
        assert figures[f"baseline_{name}_qps"] > 0
        assert figures[f"ratio_to_{name}"] > 0
    roles = figures["processes"]
    for role in ("simulator", "feed", "storage", "arbitrage"):
        assert roles[role]["cpu_s"] > 0
        assert roles[role]["peak_rss_mb"] > 0


def test_stopped_storage_worker_reports_the_missing_quotes_as_lost() -> None:
    figures = bench("--seconds", "3", "--rate", "500", "--stop-storage-after", "1",
                    "--no-baselines", "--exchanges", "bitstamp,kraken")
    assert figures["lost"] > 0
    assert figures["lost"] == figures["emitted"] - figures["stored"]
    assert sum(figures["lost_by_exchange"].values()) == figures["lost"]
    storage = figures["backlog"]["storage"]
    assert storage["ready"] + storage["unacked"] > 0
    assert figures["backlog"]["arbitrage"] == {"ready": 0, "unacked": 0}
    # Resumed, the storage worker stores exactly the quotes that were reported lost.
    assert figures["stored_after_resume"] == figures["emitted"]
