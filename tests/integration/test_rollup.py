"""Minute rollups: seeded raw quotes → exact quotes_1m values, reruns and catch-up after a gap."""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from core.influx import InfluxDB
from core.lineproto import make_line
from core.rollup import GRACE_NS, MINUTE_NS, get_watermark, roll_up, rollup_points
from core.state import RedisState

pytestmark = pytest.mark.integration

S = 1_000_000_000


def base_minute(hours_ago: int) -> int:
    """A minute start well in the past, away from quotes other tests write now."""
    now = time.time_ns() - hours_ago * 3600 * S
    return now - now % MINUTE_NS


def seed(influx: InfluxDB, symbol: str, points: Iterable[tuple[str, int, float, float]]) -> None:
    influx.write_lines([
        make_line("quotes", {"exchange": ex, "symbol": symbol},
                  {"bid": bid, "ask": ask, "bid_size": 1.0, "ask_size": 1.0}, ts)
        for ex, ts, bid, ask in points
    ])


def rolled(influx: InfluxDB, symbol: str, m0: int) -> dict[tuple[str, int], dict[str, object]]:
    """quotes_1m of `symbol` keyed by (exchange, minutes after m0)."""
    out = {}
    for p in rollup_points(influx, m0 - 60 * MINUTE_NS, m0 + 120 * MINUTE_NS):
        if p["symbol"] == symbol:
            key = (str(p["exchange"]), (int(p["time"]) - m0) // MINUTE_NS)
            out[key] = {k: p[k] for k in ("open", "high", "low", "close", "mean_spread", "count")}
    return out


EXPECTED = {
    # mids 100.5, 103, 99.25, 100.25; spreads 1, 2, 0.5, 0.5
    ("ra", 0): {"open": 100.5, "high": 103.0, "low": 99.25, "close": 100.25,
                "mean_spread": 1.0, "count": 4},
    # a quote exactly at a minute's start belongs to that minute
    ("ra", 1): {"open": 201.0, "high": 201.0, "low": 201.0, "close": 201.0,
                "mean_spread": 2.0, "count": 1},
    ("rb", 0): {"open": 50.125, "high": 50.125, "low": 50.125, "close": 50.125,
                "mean_spread": 0.25, "count": 1},
    # minute 2 has no quotes: no point; minute 3 mids 11, 11.5
    ("ra", 3): {"open": 11.0, "high": 11.5, "low": 11.0, "close": 11.5,
                "mean_spread": 1.5, "count": 2},
}


def test_seeded_quotes_roll_into_exact_minutes_and_rerun_changes_nothing(
    influx: InfluxDB, state: RedisState
) -> None:
    m0 = base_minute(3)
    seed(influx, "RLT-USD", [
        ("ra", m0 + 1 * S, 100.0, 101.0),
        ("ra", m0 + 20 * S, 102.0, 104.0),
        ("ra", m0 + 40 * S, 99.0, 99.5),
        ("ra", m0 + 59_999_000_000, 100.0, 100.5),
        ("ra", m0 + 60 * S, 200.0, 202.0),
        ("rb", m0 + 30 * S, 50.0, 50.25),
        ("ra", m0 + 180 * S, 10.0, 12.0),
        ("ra", m0 + 200 * S, 11.0, 12.0),
        # still inside the grace period at `now`: must not be rolled yet
        ("ra", m0 + 300 * S, 7.0, 8.0),
    ])
    now = m0 + 5 * MINUTE_NS + GRACE_NS + 30 * S  # minute 4 complete, minute 5 in grace
    first = roll_up(influx, state, now_ns=now)
    assert first.end_ns == m0 + 5 * MINUTE_NS
    assert rolled(influx, "RLT-USD", m0) == EXPECTED
    assert get_watermark(state) == m0 + 5 * MINUTE_NS

    again = roll_up(influx, state, now_ns=now)
    assert again.start_ns == m0 + 3 * MINUTE_NS  # only the overlap is redone
    assert rolled(influx, "RLT-USD", m0) == EXPECTED

    # A later run takes minute 5 in, leaving the earlier minutes as they were.
    roll_up(influx, state, now_ns=now + MINUTE_NS)
    result = rolled(influx, "RLT-USD", m0)
    assert result.pop(("ra", 5)) == {"open": 7.5, "high": 7.5, "low": 7.5, "close": 7.5,
                                     "mean_spread": 1.0, "count": 1}
    assert result == EXPECTED


def test_gap_in_runs_is_caught_up_without_double_counting(
    influx: InfluxDB, state: RedisState
) -> None:
    m0 = base_minute(6)
    raw = [("ca", m0 + i * 20 * S, 100.0 + i, 101.0 + i) for i in range(30)]  # 10 minutes, 3 each
    seed(influx, "CATCH-USD", raw[:6])
    roll_up(influx, state, now_ns=m0 + 2 * MINUTE_NS + GRACE_NS)
    assert {k[1]: v["count"] for k, v in rolled(influx, "CATCH-USD", m0).items()} == {0: 3, 1: 3}

    # Quotes keep coming while no rollup runs; then runs resume, bounded to 3 minutes each.
    seed(influx, "CATCH-USD", raw[6:])
    later = m0 + 30 * MINUTE_NS
    runs = 0
    while get_watermark(state) < later - GRACE_NS - MINUTE_NS and runs < 30:
        roll_up(influx, state, now_ns=later, max_span_ns=3 * MINUTE_NS)
        runs += 1
    assert runs > 5  # it really took several bounded runs
    counts = {k[1]: v["count"] for k, v in rolled(influx, "CATCH-USD", m0).items()}
    assert counts == {minute: 3 for minute in range(10)}
    assert sum(counts.values()) == len(raw)
    assert rolled(influx, "CATCH-USD", m0)[("ca", 9)]["open"] == 127.5  # quote 27: 127/128
