"""Smoke run of the latency benchmark: the whole stack for a few seconds, light background."""

from __future__ import annotations

import os

import pytest

from bench.hops import BASELINE_HOPS, HOPS, Sample, format_table, hop_table
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
    rows = {row["hop"]: row for row in figures["hops"]}
    assert list(rows) == [hop for hop, *_ in HOPS + BASELINE_HOPS]
    for hop, row in rows.items():  # every hop measured on the quotes, figures ordered
        assert row["samples"] > 0, hop
        assert 0 <= row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"] <= row["max_ms"], hop
        assert row["p99_tail_ms"] is not None or hop.startswith("baseline"), hop
    assert rows["end_to_end"]["p50_ms"] == figures["p50_ms"]
    assert figures["arbitrage_tasks_per_s"] > 0 and figures["cpu_pct_arbitrage"] > 0
    assert "end to end" in format_table(figures["hops"])


@pytest.mark.unit
def test_hop_table_splits_each_quote_and_its_tail() -> None:
    """Per-hop percentiles from the stamps, and each hop's mean over the slowest 1 %."""
    ms = 1_000_000
    ws = [Sample("kraken", "BTC-USD", 0, 1 * ms, (10 + i) * ms, 2 * ms, 3 * ms, 4 * ms,
                 5 * ms) for i in range(100)]
    base = [s._replace(recv_ns=s.redis_ns + ms, ws_ns=None) for s in ws]
    rows = {row["hop"]: row for row in hop_table(ws, base)}
    assert rows["sim_to_feed"]["p99_ms"] == 1.0 and rows["task_to_redis"]["p50_ms"] == 1.0
    assert rows["ws_to_client"]["p50_ms"] == 55.0  # recv 10..109 ms, ws at 5 ms
    assert rows["end_to_end"]["p99_tail_ms"] == 109.0  # the slowest 1 %: one sample
    assert rows["ws_to_client"]["p99_tail_ms"] == 104.0  # ...and its time went to this hop
    assert rows["baseline_redis_to_sub"]["p50_ms"] == 1.0
    assert rows["baseline_end_to_end"]["p99_tail_ms"] is None
    assert hop_table([], [])[0]["p50_ms"] is None


@pytest.mark.unit
def test_percentiles_nearest_rank() -> None:
    """Nearest-rank picks in ms, and None for an empty sample."""
    values = [i * 1_000_000 for i in range(1, 101)]  # 1..100 ms
    assert percentiles(values) == {"p50_ms": 51.0, "p90_ms": 91.0, "p99_ms": 100.0,
                                   "max_ms": 100.0}
    assert percentiles([], "b_") == {"b_p50_ms": None, "b_p90_ms": None, "b_p99_ms": None,
                                     "b_max_ms": None}
