"""Property tests of triangle finding on random small markets, checked against brute force."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cycles import MAX_LEGS
from core.triangles import Triangle, venue_triangles
from core.types import Quote

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000_000_000
CURRENCIES = ("USD", "BTC", "ETH", "SOL")


@st.composite
def markets(draw: st.DrawFn) -> tuple[list[Quote], float]:
    """Quotes of one venue near consistent prices (±5 %), with spreads and sizes, and a fee."""
    value = {c: draw(st.floats(0.01, 1000.0)) for c in CURRENCIES}
    pairs = draw(st.lists(st.sampled_from(list(itertools.permutations(CURRENCIES, 2))),
                          min_size=2, max_size=6, unique_by=lambda p: frozenset(p)))
    quotes = []
    for base, quote in pairs:
        mid = value[base] / value[quote] * (1.0 + draw(st.floats(-0.05, 0.05)))
        half = draw(st.floats(0.0, 0.005))
        quotes.append(Quote("v", f"{base}-{quote}", mid * (1 - half), draw(st.floats(0.01, 100)),
                            mid * (1 + half), draw(st.floats(0.01, 100)), None, None, NOW))
    fee = draw(st.sampled_from([0.0, 0.0005, 0.001, 0.004]))
    return quotes, fee


def rates(quotes: list[Quote], fee: float) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(from, to) → (rate after fee, rate before fee, capacity in `from` units), written out
    independently of the module under test."""
    out = {}
    for q in quotes:
        base, quote = q.symbol.split("-")
        out[(quote, base)] = ((1 - fee) / q.ask, 1 / q.ask, q.ask * q.ask_size)
        out[(base, quote)] = (q.bid * (1 - fee), q.bid, q.bid_size)
    return out


def brute_force_cycles(quotes: list[Quote], fee: float) -> dict[frozenset, float]:
    """Every simple cycle of 3 to MAX_LEGS currencies, enumerated: edge set → product of rates."""
    edges = rates(quotes, fee)
    found: dict[frozenset, float] = {}
    for n in range(3, min(len(CURRENCIES), MAX_LEGS) + 1):
        for cycle in itertools.permutations(CURRENCIES, n):
            steps = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
            if all(s in edges for s in steps):
                found[frozenset(steps)] = math.prod(edges[s][0] for s in steps)
    return found


def steps_of(tri: Triangle) -> frozenset:
    return frozenset(zip(tri.path[:-1], tri.path[1:], strict=True))


@settings(max_examples=300, deadline=None)
@given(markets())
def test_net_never_exceeds_gross(market: tuple[list[Quote], float]) -> None:
    quotes, fee = market
    for tri in venue_triangles("v", quotes, fee, NOW):
        assert tri.net_pct <= tri.gross_pct + 1e-9
        if fee > 0:
            assert tri.net_pct < tri.gross_pct


@settings(max_examples=200, deadline=None)
@given(markets(), st.randoms(use_true_random=False))
def test_result_is_independent_of_quote_order(
    market: tuple[list[Quote], float], rnd: random.Random
) -> None:
    quotes, fee = market
    expected = [t.to_dict() for t in venue_triangles("v", quotes, fee, NOW)]
    shuffled = list(quotes)
    rnd.shuffle(shuffled)
    assert [t.to_dict() for t in venue_triangles("v", shuffled, fee, NOW)] == expected


@settings(max_examples=300, deadline=None)
@given(markets())
def test_every_profitable_cycle_is_found_and_nothing_else(
    market: tuple[list[Quote], float],
) -> None:
    quotes, fee = market
    found = {steps_of(t): t for t in venue_triangles("v", quotes, fee, NOW)}
    truth = brute_force_cycles(quotes, fee)
    # Found cycles really pay, at the figure the brute force computes.
    for steps, tri in found.items():
        assert steps in truth
        assert tri.net_pct == pytest.approx(100 * (truth[steps] - 1), abs=1e-9)
    # And every cycle that clearly pays is found (a hair above 1 is float noise territory).
    for steps, product in truth.items():
        if product > 1 + 1e-9:
            assert steps in found, (steps, product)


@settings(max_examples=300, deadline=None)
@given(markets())
def test_max_start_fits_every_leg_and_one_leg_binds(market: tuple[list[Quote], float]) -> None:
    quotes, fee = market
    edges = rates(quotes, fee)
    for tri in venue_triangles("v", quotes, fee, NOW):
        amount = tri.max_start
        slack = []
        for step in zip(tri.path[:-1], tri.path[1:], strict=True):
            rate, _, capacity = edges[step]
            assert amount <= capacity * (1 + 1e-9)  # never more than the book offers
            slack.append((capacity - amount) / capacity)
            amount *= rate
        assert min(slack) <= 1e-9  # ... and the thinnest one is used to the full
        assert amount - tri.max_start == pytest.approx(tri.max_profit, rel=1e-9, abs=1e-12)
