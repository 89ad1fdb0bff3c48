"""The design's fee-aware formula on hand-computed cases."""

from __future__ import annotations

import pytest

from core.arbitrage import Rules, evaluate, find_opportunities, is_fresh
from core.types import Quote

pytestmark = pytest.mark.unit

NOW = 1_767_225_600_000_000_000


def q(exchange: str, bid: float, ask: float, bid_size: float = 1.0, ask_size: float = 1.0,
      age_s: float = 0.0, symbol: str = "BTC-USD") -> Quote:
    received = NOW - int(age_s * 1e9)
    return Quote(exchange, symbol, bid, bid_size, ask, ask_size, None, None, received)


def test_evaluate_matches_hand_computation() -> None:
    # Buy on A at 100.00 with 0.1 % fee: cost 100.10. Sell on B at 101.00 with 0.2 % fee:
    # proceeds 100.798. net = 100.798/100.10 - 1 = 0.6973 %; gross = 1 %; size min(2, 0.5).
    opp = evaluate(q("a", 99.0, 100.0, ask_size=2.0), q("b", 101.0, 102.0, bid_size=0.5),
                   0.001, 0.002)
    assert opp.buy_exchange == "a" and opp.sell_exchange == "b"
    assert opp.buy_price == 100.0 and opp.sell_price == 101.0
    assert opp.gross_pct == pytest.approx(1.0)
    assert opp.net_pct == pytest.approx(100 * (100.798 / 100.1 - 1))
    assert opp.net_pct == pytest.approx(0.697303, abs=1e-6)
    assert opp.size == 0.5
    assert opp.net_profit == pytest.approx((100.798 - 100.1) * 0.5)


def test_fees_can_turn_a_gross_gain_into_a_loss() -> None:
    # 0.5 % gross, but 0.4 % on each side costs about 0.8 %.
    opp = evaluate(q("a", 99, 100.0), q("b", 100.5, 101), 0.004, 0.004)
    assert opp.gross_pct == pytest.approx(0.5)
    assert opp.net_pct == pytest.approx(100 * (100.5 * 0.996 / (100 * 1.004) - 1))
    assert opp.net_pct < 0 and opp.net_profit < 0


def test_find_opportunities_orders_pairs_and_filters() -> None:
    quotes = {
        "a": q("a", 99.0, 100.0),
        "b": q("b", 102.0, 103.0),
        "c": q("c", 101.0, 101.5),
    }
    found = find_opportunities(quotes, Rules(lambda ex: 0.001, 5.0, 0.0), NOW)
    pairs = [(o.buy_exchange, o.sell_exchange) for o in found]
    # a→b best (buy 100, sell 102), then a→c (buy 100, sell 101); c→b (101.5 → 102) is 0.29 %.
    assert pairs == [("a", "b"), ("a", "c"), ("c", "b")]
    assert all(o.net_pct >= 0 for o in found)
    assert [o.net_pct for o in found] == sorted((o.net_pct for o in found), reverse=True)


def test_min_net_pct_threshold() -> None:
    quotes = {"a": q("a", 99.0, 100.0), "b": q("b", 101.0, 102.0)}
    [at_one] = find_opportunities(quotes, Rules(lambda ex: 0.0, 5.0, 1.0), NOW)
    assert at_one.net_pct == pytest.approx(1)
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, 5.0, 1.01), NOW) == []


def test_negative_min_net_lists_every_ordered_pair() -> None:
    quotes = {"a": q("a", 99.0, 100.0), "b": q("b", 101.0, 102.0), "c": q("c", 100, 101)}
    found = find_opportunities(quotes, Rules(lambda ex: 0.004, 5.0, -100.0), NOW)
    assert len(found) == 6  # 3 venues → 3·2 ordered pairs, never a venue with itself
    assert all(o.buy_exchange != o.sell_exchange for o in found)


def test_stale_quotes_are_ignored() -> None:
    quotes = {"a": q("a", 99.0, 100.0, age_s=6.0), "b": q("b", 105.0, 106.0)}
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, 5.0, 0.0), NOW) == []
    assert not is_fresh(quotes["a"], NOW, 5.0) and is_fresh(quotes["b"], NOW, 5.0)


def test_zero_prices_are_ignored() -> None:
    quotes = {"a": q("a", 0.0, 0.0), "b": q("b", 105.0, 106.0)}
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, 5.0, -100.0), NOW) == []
