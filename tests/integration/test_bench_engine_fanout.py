"""Smoke run of `python -m bench engine`: it runs, counts what it fed, and prints its baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench", *args, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_engine_bench_reports_per_quote_cost_with_its_baseline() -> None:
    figures = run_bench("engine", "--symbols", "20", "--batch", "100", "--batches", "20")
    assert figures["quotes"] == 2000
    assert figures["engine_us_per_quote"] > 0 and figures["baseline_per_symbol_us_per_quote"] > 0
    assert figures["speedup_vs_baseline"] > 0
    assert figures["symbols_recomputed"] == 20
    assert figures["full_recompute_compute_only_ms"] <= figures["full_recompute_ms"]


def test_engine_bench_seconds_feeds_until_the_time_is_up() -> None:
    figures = run_bench("engine", "--symbols", "20", "--batch", "100", "--batches", "5",
                        "--seconds", "1")
    assert figures["quotes"] % 100 == 0 and figures["quotes"] > 500  # went round the 5 batches


def test_fanout_bench_delivers_to_every_client_with_its_baseline() -> None:
    figures = run_bench("fanout", "--clients", "5", "--rate", "200", "--seconds", "2")
    assert figures["baseline_events"] > 0 and figures["baseline_p50_ms"] > 0
    assert figures["ws_messages_received"] > 0 and figures["ws_clients_dropped"] == 0
    assert figures["ws_p50_ms"] <= figures["ws_p99_ms"] <= figures["ws_max_ms"]
