"""Smoke run of the latency benchmark: the whole stack for a few seconds, light background."""

from __future__ import annotations

import os

import pytest

from bench.latency import percentiles, run


@pytest.mark.integration
def test_latency_smoke_reports_percentiles_and_baseline() -> None:
    """A short run measures probe quotes at the /ws client and at the Redis baseline."""
    prefix = os.environ.get("KEY_PREFIX")
    figures = run(seconds=3, background_rate=400)
    assert os.environ.get("KEY_PREFIX") == prefix  # the session's prefixes are restored
    assert figures["offered_qps"] == 400
    assert figures["samples"] > 0
    assert figures["baseline_samples"] > 0
    assert figures["matched"] > 0
    assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert 0 < figures["baseline_p50_ms"] <= figures["baseline_p99_ms"]
    assert figures["ratio_p50"] is not None and figures["ratio_p99"] is not None
    assert figures["stage_feed_to_redis_p50_ms"] is not None
    assert isinstance(figures["target_p50_met"], bool)
    assert figures["feed_cpu_us_per_quote"] > 0  # the feed workers did measurable work


@pytest.mark.unit
def test_percentiles_nearest_rank() -> None:
    """Nearest-rank picks in ms, and None for an empty sample."""
    values = [i * 1_000_000 for i in range(1, 101)]  # 1..100 ms
    assert percentiles(values) == {"p50_ms": 51.0, "p90_ms": 91.0, "p99_ms": 100.0,
                                   "max_ms": 100.0}
    assert percentiles([], "b_") == {"b_p50_ms": None, "b_p90_ms": None, "b_p99_ms": None,
                                     "b_max_ms": None}
