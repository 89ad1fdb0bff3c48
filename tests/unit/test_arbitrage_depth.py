"""Executable arbitrage on hand-computed books: walking, notional fills, filters, edge cases."""

from __future__ import annotations

import pytest

from core.arbitrage import (
    Rules,
    evaluate,
    fill_notional,
    find_opportunities,
    side_levels,
    walk_profitable,
)
from core.types import Depth, Quote

pytestmark = pytest.mark.unit

NOW = 1_767_225_600_000_000_000
ASKS = ((100.0, 1.0), (100.5, 2.0), (101.0, 5.0))
BIDS = ((102.0, 0.5), (101.2, 2.0), (100.8, 3.0))


def q(exchange: str, bid: float, ask: float, bid_size: float = 1.0, ask_size: float = 1.0,
      age_s: float = 0.0) -> Quote:
    return Quote(exchange, "BTC-USD", bid, bid_size, ask, ask_size, None, None,
                 NOW - int(age_s * 1e9))


def test_walk_takes_levels_while_the_marginal_unit_profits() -> None:
    # Unit costs with 0.1 %: 100.1, 100.6005, 101.101; unit proceeds: 101.898, 101.0988,
    # 100.6992. 0.5 @ (100.1 → 101.898), 0.5 @ (100.1 → 101.0988), 1.5 @ (100.6005 → 101.0988),
    # 0.5 @ (100.6005 → 100.6992); then 101.101 > 100.6992 stops the walk at 3.0.
    walk = walk_profitable(ASKS, BIDS, 0.001, 0.001)
    assert walk.size == pytest.approx(3.0)
    assert walk.cost == pytest.approx(301.301)
    assert walk.proceeds == pytest.approx(303.4962)
    assert walk.profit == pytest.approx(2.1952)


def test_walk_stops_at_the_first_unprofitable_unit_and_at_book_end() -> None:
    assert walk_profitable(((100.0, 1.0),), ((100.0, 1.0),), 0.0, 0.0).size == 0.0
    # Every unit profits, so the walk ends where the thinner book ends.
    walk = walk_profitable(((100.0, 1.0), (100.1, 1.0)), ((110.0, 5.0),), 0.0, 0.0)
    assert walk.size == 2.0 and walk.profit == pytest.approx(10.0 + 9.9)
    assert walk_profitable((), BIDS, 0.0, 0.0).size == 0.0


def test_fill_notional_is_the_vwap_of_both_books() -> None:
    # 500 buys 1 @ 100, 2 @ 100.5 (301 spent) and 199/101 = 1.970297 @ 101: 4.970297 bought.
    # Sold: 0.5 @ 102 + 2 @ 101.2 + 2.470297 @ 100.8 = 502.405941.
    net_pct, profit = fill_notional(ASKS, BIDS, 0.001, 0.001, 500.0)
    received = 51.0 + 202.4 + (3 + 199 / 101 - 2.5) * 100.8
    assert received == pytest.approx(502.4059406)
    assert profit == pytest.approx(received * 0.999 - 500 * 1.001)
    assert net_pct == pytest.approx(100 * (received * 0.999 / 500.5 - 1))


def test_fill_notional_refuses_books_too_thin() -> None:
    assert fill_notional(ASKS, BIDS, 0.0, 0.0, 1000.0) is None  # asks hold 806 in all
    assert fill_notional(ASKS, ((102.0, 0.5),), 0.0, 0.0, 200.0) is None  # bids hold 0.5
    assert fill_notional(ASKS, BIDS, 0.0, 0.0, 0.0) is None


def test_side_levels_use_a_book_only_when_it_agrees_with_the_quote() -> None:
    assert side_levels(100.0, 0.7, ASKS) == [(100.0, 0.7), (100.5, 2.0), (101.0, 5.0)]
    assert side_levels(99.0, 0.7, ASKS) == [(99.0, 0.7)]  # book out of step: top only
    assert side_levels(100.0, 0.7, None) == [(100.0, 0.7)]


def test_evaluate_walks_both_books_and_reports_size_profit_and_notional() -> None:
    buy, sell = q("a", 99.0, 100.0, ask_size=1.0), q("b", 102.0, 103.0, bid_size=0.5)
    opp = evaluate(buy, sell, 0.001, 0.001,
                   Depth("a", "BTC-USD", (), ASKS, NOW), Depth("b", "BTC-USD", BIDS, (), NOW),
                   notional=500.0, withdrawal_fee=0.0005)
    assert opp.walked
    assert opp.size == pytest.approx(3.0) and opp.net_profit == pytest.approx(2.1952)
    assert opp.net_pct == pytest.approx(100 * (101.898 / 100.1 - 1))  # top of book rate
    assert opp.notional == 500.0 and opp.notional_profit == pytest.approx(1.4035347, abs=1e-6)
    # Transfer-aware: the 0.0005 BTC withdrawal is worth 0.0005 × 102 at the sell venue.
    assert opp.transfer_net_profit == pytest.approx(2.1952 - 0.0005 * 102.0)
    assert (opp.fee_buy, opp.fee_sell) == (0.001, 0.001)


def test_top_of_book_only_is_size_limited() -> None:
    opp = evaluate(q("a", 99.0, 100.0, ask_size=2.0), q("b", 101.0, 102.0, bid_size=0.5),
                   0.001, 0.002, notional=1000.0)
    assert not opp.walked and opp.size == 0.5
    assert opp.net_profit == pytest.approx((101 * 0.998 - 100 * 1.001) * 0.5)
    assert opp.notional_profit is None  # one level of 50 cannot fill 1,000
    assert opp.transfer_net_profit is None and opp.withdrawal_fee is None


def test_crossed_book_on_one_venue_is_ignored() -> None:
    quotes = {"a": q("a", 101.0, 100.0), "b": q("b", 99.0, 99.5), "c": q("c", 103.0, 104.0)}
    found = find_opportunities(quotes, Rules(lambda ex: 0.0, min_net_pct=-100.0), NOW)
    assert {o.buy_exchange for o in found} | {o.sell_exchange for o in found} == {"b", "c"}


def test_zero_size_is_not_an_opportunity() -> None:
    quotes = {"a": q("a", 99.0, 100.0, ask_size=0.0), "b": q("b", 102.0, 103.0)}
    assert find_opportunities(quotes, Rules(lambda ex: 0.0), NOW) == []


def test_stale_quote_is_not_used_even_when_profitable() -> None:
    quotes = {"a": q("a", 99.0, 100.0, age_s=5.0), "b": q("b", 102.0, 103.0)}
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, max_age_s=5.0), NOW) == []
    quotes["a"] = q("a", 99.0, 100.0, age_s=4.9)
    assert len(find_opportunities(quotes, Rules(lambda ex: 0.0, max_age_s=5.0), NOW)) == 1


def test_equal_prices_are_a_loss_after_fees() -> None:
    quotes = {"a": q("a", 99.0, 100.0), "b": q("b", 100.0, 101.0)}
    assert find_opportunities(quotes, Rules(lambda ex: 0.001), NOW) == []
    [even] = find_opportunities(quotes, Rules(lambda ex: 0.001, min_net_pct=-1.0), NOW)
    assert even.gross_pct == 0.0 and even.net_pct < 0 and even.net_profit < 0


def test_min_size_and_min_notional_filters() -> None:
    quotes = {"a": q("a", 99.0, 100.0, ask_size=0.5), "b": q("b", 102.0, 103.0)}
    assert len(find_opportunities(quotes, Rules(lambda ex: 0.0, min_size=0.5), NOW)) == 1
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, min_size=0.51), NOW) == []
    assert len(find_opportunities(quotes, Rules(lambda ex: 0.0, min_notional=50.0), NOW)) == 1
    assert find_opportunities(quotes, Rules(lambda ex: 0.0, min_notional=50.01), NOW) == []


def test_withdrawal_fee_comes_from_the_buy_venue_and_base_asset() -> None:
    asked: list[tuple[str, str]] = []

    def withdrawal(exchange: str, asset: str) -> float | None:
        asked.append((exchange, asset))
        return 0.001

    quotes = {"a": q("a", 99.0, 100.0), "b": q("b", 102.0, 103.0)}
    [opp] = find_opportunities(quotes, Rules(lambda ex: 0.0, withdrawal_of=withdrawal), NOW)
    assert asked == [("a", "BTC")]
    assert opp.transfer_net_profit == pytest.approx(2.0 - 0.001 * 102.0)
