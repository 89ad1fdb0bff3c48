"""InfluxQL built for history reads: exact statements, quoting of hostile values, change math."""

from __future__ import annotations

import pytest

from core.history import (
    change_pct,
    last_quotes_query,
    opportunity_history_query,
    quote_history_query,
    symbol_exists_query,
)

pytestmark = pytest.mark.unit


def test_raw_quote_history_keeps_the_newest_per_exchange() -> None:
    assert quote_history_query("BTC-USD", 10, 20) == (
        'SELECT "bid", "ask" FROM "quotes" WHERE "symbol" = \'BTC-USD\' AND time >= 10 AND '
        'time < 20 GROUP BY "exchange" ORDER BY time DESC LIMIT 5000'
    )


def test_rollup_quote_history_of_one_exchange() -> None:
    assert quote_history_query("BTC-USD", 10, 20, "1h", "kraken", limit=7) == (
        'SELECT mean("bid") AS "bid", mean("ask") AS "ask" FROM "quotes" WHERE '
        '"symbol" = \'BTC-USD\' AND "exchange" = \'kraken\' AND time >= 10 AND time < 20 '
        'GROUP BY time(1h), "exchange" fill(none) ORDER BY time DESC LIMIT 7'
    )


def test_unknown_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="resolution"):
        quote_history_query("BTC-USD", 10, 20, "1d")


def test_hostile_values_stay_inside_their_literal() -> None:
    statement = quote_history_query("X' OR '1'='1", 10, 20, exchange="a\\' ; DROP")
    assert "\"symbol\" = 'X\\' OR \\'1\\'=\\'1'" in statement
    assert "\"exchange\" = 'a\\\\\\' ; DROP'" in statement
    assert symbol_exists_query("quotes", "it's") == (
        'SHOW TAG VALUES FROM "quotes" WITH KEY = "symbol" WHERE "symbol" = \'it\\\'s\''
    )


def test_opportunity_history_with_and_without_symbol() -> None:
    columns = ('"peak_net_pct", "mean_net_pct", "duration_s", "max_size", "max_profit", '
               '"symbol", "buy_exchange", "sell_exchange"')
    assert opportunity_history_query(None, 10, 20, 3) == (
        f'SELECT {columns} FROM "opportunities" WHERE time >= 10 AND time < 20 '
        "ORDER BY time DESC LIMIT 3"
    )
    assert opportunity_history_query("ETH-USD", 10, 20) == (
        f'SELECT {columns} FROM "opportunities" WHERE "symbol" = \'ETH-USD\' AND time >= 10 '
        "AND time < 20 ORDER BY time DESC LIMIT 1000"
    )


def test_last_quotes_window() -> None:
    assert last_quotes_query(1000, 300) == (
        'SELECT last("bid") AS "bid", last("ask") AS "ask" FROM "quotes" '
        'WHERE time > 700 AND time <= 1000 GROUP BY "symbol", "exchange"'
    )


def test_change_uses_only_venues_priced_at_both_times() -> None:
    now = {("BTC", "a"): 110.0, ("BTC", "b"): 300.0, ("ETH", "a"): 5.0}
    then = {("BTC", "a"): 100.0, ("BTC", "c"): 1.0, ("ETH", "b"): 4.0}
    # Only venue a priced BTC both times: 110 / 100 - 1.
    assert change_pct(now, then, "BTC") == pytest.approx(10.0)
    assert change_pct(now, then, "ETH") is None
    assert change_pct(now, then, "SOL") is None
    both = {("BTC", "a"): 90.0, ("BTC", "b"): 310.0}
    # Means over a and b: (110 + 300) / 2 = 205 vs (90 + 310) / 2 = 200.
    assert change_pct(now, both, "BTC") == pytest.approx(2.5)
