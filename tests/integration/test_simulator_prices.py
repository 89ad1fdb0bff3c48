"""The simulator's price model, driven directly: determinism, dislocations, clean changes."""

from __future__ import annotations

import pytest

from simulator.prices import Market

pytestmark = pytest.mark.integration

EXCHANGES = ["bitstamp", "kraken"]
SYMBOLS = ["BTC-USD", "ETH-USD"]
T0_US = 1_767_225_600_000_000
FEE = 0.004


def run(seed: int, seconds: float, per_s: int = 200) -> list[tuple[float, dict]]:
    """Drive a market at `per_s` changes per second per exchange; (time, tops) after each step."""
    market = Market(EXCHANGES, SYMBOLS, seed)
    tops: dict[tuple[str, str], object] = {}
    out = []
    step_us = 1_000_000 // per_s
    for i in range(int(seconds * per_s)):
        now = T0_US + i * step_us
        symbol = SYMBOLS[i % len(SYMBOLS)]
        for exchange in EXCHANGES:
            tops[(exchange, symbol)] = market.next_change(exchange, symbol, now).top
        out.append(((now - T0_US) / 1e6, dict(tops)))
    return out


def best_net(tops: dict) -> float:
    """Best net return over every (symbol, buy venue, sell venue), as a fraction."""
    best = -1.0
    for symbol in SYMBOLS:
        for buy in EXCHANGES:
            for sell in EXCHANGES:
                a, b = tops.get((buy, symbol)), tops.get((sell, symbol))
                if buy != sell and a and b:
                    best = max(best, b.bid * (1 - FEE) / (a.ask * (1 + FEE)) - 1)
    return best


def test_same_seed_same_path_other_seed_other_path() -> None:
    a, b, c = (
        Market(EXCHANGES, SYMBOLS, 7),
        Market(EXCHANGES, SYMBOLS, 7),
        Market(EXCHANGES, SYMBOLS, 8),
    )
    now = [T0_US + i * 5_000 for i in range(500)]
    path_a = [a.next_change("kraken", "BTC-USD", t) for t in now]
    path_b = [b.next_change("kraken", "BTC-USD", t) for t in now]
    path_c = [c.next_change("kraken", "BTC-USD", t) for t in now]
    assert path_a == path_b
    assert path_a != path_c
    assert a.dislocations.upcoming(60) == b.dislocations.upcoming(60)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dislocation_schedule(seed: int) -> None:
    plan = Market(EXCHANGES, SYMBOLS, seed).dislocations.upcoming(40)
    assert plan[0].start_s <= 3.0
    for event in plan:
        assert 1.0 <= event.end_s - event.start_s <= 3.0
        assert 0.010 <= abs(event.shift) <= 0.016
    for before, after in zip(plan, plan[1:], strict=False):
        assert 5.0 <= after.start_s - before.start_s <= 15.0


def test_changes_always_move_the_top_and_time_strictly_rises() -> None:
    market = Market(EXCHANGES, SYMBOLS, 1)
    previous = None
    # The same wall time again and again: the logical clock must still move by >= 1 µs.
    for _ in range(2_000):
        change = market.next_change("bitstamp", "ETH-USD", T0_US)
        assert change.top.bid < change.top.ask
        if previous is not None:
            assert change.top != previous.top
            assert change.ts_us > previous.ts_us
        previous = change


def test_opportunities_only_during_dislocations() -> None:
    seed = 3
    market = Market(EXCHANGES, SYMBOLS, seed)
    for exchange in EXCHANGES:  # as run() does: every pair exists before the first dislocation
        for symbol in SYMBOLS:
            market.book(exchange, symbol)
    events = market.dislocations.upcoming(60)
    open_times = []
    for t, tops in run(seed, 60):
        near = any(e.start_s - 0.05 <= t < e.end_s + 0.05 for e in events)
        net = best_net(tops)
        if not near:
            assert net < 0, (t, net)  # ordinary noise never beats 0.8 % of fees
        elif net > 0:
            open_times.append(t)
    # Every dislocation in the window showed up as an opportunity net of fees.
    for event in events:
        assert any(event.start_s <= t < event.end_s + 0.05 for t in open_times), event


def test_dislocations_only_hit_pairs_a_venue_lists() -> None:
    market = Market(["binance", "kraken"], ["BTC-USD", "BTC-USDT"], 5)
    market.book("kraken", "BTC-USD")
    market.book("kraken", "BTC-USDT")
    market.book("binance", "BTC-USDT")  # binance.com lists no USD pairs
    events = market.dislocations.upcoming(300)
    assert events
    assert ("binance", "BTC-USD") not in {(e.exchange, e.symbol) for e in events}
