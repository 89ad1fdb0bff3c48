"""The InfluxQL behind per-venue-pair opportunity stats: exact statements and hostile symbols."""

from __future__ import annotations

import pytest

from core.history import DURATION_EDGES_S, opportunity_stats_query

pytestmark = pytest.mark.unit

PAIR = 'GROUP BY "buy_exchange", "sell_exchange"'


def test_the_statements_of_a_range_without_symbol() -> None:
    statements = opportunity_stats_query(None, 10, 20).split("; ")
    source = 'FROM "opportunities" WHERE time >= 10 AND time < 20'
    assert statements[0] == (
        'SELECT count("duration_s") AS "count", percentile("duration_s", 50) AS "p50", '
        'percentile("duration_s", 90) AS "p90", max("duration_s") AS "max", '
        f'mean("peak_net_pct") AS "mean_peak" {source} {PAIR}'
    )
    # Profit per symbol too: each symbol's profit is in its own quote currency.
    assert statements[1] == f'SELECT sum("max_profit") AS "profit" {source} {PAIR}, "symbol"'
    assert statements[2:] == [
        f'SELECT count("duration_s") AS "below_{i}" {source} AND "duration_s" < {edge!r} {PAIR}'
        for i, edge in enumerate(DURATION_EDGES_S)
    ]
    assert statements[2].endswith(f'"duration_s" < 0.1 {PAIR}')
    assert statements[-1].endswith(f'"duration_s" < 60.0 {PAIR}')


def test_the_bucket_edges_are_the_documented_ones() -> None:
    assert DURATION_EDGES_S == (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def test_a_symbol_filters_every_statement_and_stays_a_literal() -> None:
    query = opportunity_stats_query("X'; DROP DATABASE x; '", 10, 20)
    condition = "\"symbol\" = 'X\\'; DROP DATABASE x; \\'' AND time >= 10 AND time < 20"
    statements = 2 + len(DURATION_EDGES_S)
    assert query.count(condition) == statements
    # The injected text only ever appears inside those escaped literals.
    assert query.count("DROP DATABASE") == statements
    assert query.count("SELECT ") == statements
