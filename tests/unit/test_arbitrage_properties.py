"""Property tests of the arbitrage math and engine (hypothesis): bounds and order independence."""

from __future__ import annotations

import fakeredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import engine
from core.arbitrage import Rules, evaluate, find_opportunities, walk_profitable
from core.state import RedisState
from core.types import Depth, Quote

pytestmark = pytest.mark.unit

NOW = 1_767_225_600_000_000_000
VENUES = ("a", "b", "c", "d")

prices = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=0.0, max_value=50.0, allow_nan=False, allow_infinity=False)
fees = st.floats(min_value=0.0, max_value=0.01, allow_nan=False)
levels = st.lists(st.tuples(prices, sizes), min_size=1, max_size=10)


@st.composite
def quotes(draw: st.DrawFn, exchange: str, ts: int = NOW) -> Quote:
    bid = draw(prices)
    ask = bid * (1.0 + draw(st.floats(min_value=0.0, max_value=0.01)))
    return Quote(exchange, "BTC-USD", bid, draw(sizes), ask, draw(sizes), None, None, ts)


def book(side: list[tuple[float, float]], descending: bool) -> tuple[tuple[float, float], ...]:
    return tuple(sorted(side, key=lambda lv: -lv[0] if descending else lv[0]))


@given(quotes("a"), quotes("b"), fees, fees)
def test_net_never_exceeds_gross(buy: Quote, sell: Quote, fee_buy: float, fee_sell: float) -> None:
    opp = evaluate(buy, sell, fee_buy, fee_sell)
    assert opp.net_pct <= opp.gross_pct + 1e-9


@given(levels, levels, fees, fees)
def test_profitable_size_never_exceeds_what_the_books_offer(
    asks: list[tuple[float, float]], bids: list[tuple[float, float]], fb: float, fs: float
) -> None:
    walk = walk_profitable(book(asks, False), book(bids, True), fb, fs)
    offered = min(sum(s for _, s in asks), sum(s for _, s in bids))
    assert 0.0 <= walk.size <= offered * (1 + 1e-12)
    assert walk.profit >= -1e-9  # only profitable units are taken


@given(quotes("a"), quotes("b"), levels, levels, fees, fees)
def test_walked_size_is_bounded_by_the_books(
    buy: Quote, sell: Quote, asks: list[tuple[float, float]], bids: list[tuple[float, float]],
    fb: float, fs: float,
) -> None:
    ask_book = ((buy.ask, buy.ask_size), *((p + buy.ask, s) for p, s in book(asks, False)))
    bid_book = ((sell.bid, sell.bid_size), *((sell.bid - p / 1000.0, s)
                                             for p, s in book(bids, False)))
    opp = evaluate(buy, sell, fb, fs, Depth("a", "BTC-USD", (), ask_book, NOW),
                   Depth("b", "BTC-USD", bid_book, (), NOW), notional=1000.0)
    assert opp.size <= min(sum(s for _, s in ask_book), sum(s for _, s in bid_book)) * (1 + 1e-12)
    assert opp.net_pct <= opp.gross_pct + 1e-9


@given(st.permutations(VENUES), st.tuples(*(quotes(v) for v in VENUES)))
def test_pairs_do_not_depend_on_the_order_quotes_are_listed(
    order: list[str], venue_quotes: tuple[Quote, ...]
) -> None:
    by_venue = {q.exchange: q for q in venue_quotes}
    rules = Rules(lambda ex: 0.001, min_net_pct=-100.0)
    reference = find_opportunities(by_venue, rules, NOW)
    shuffled = find_opportunities({v: by_venue[v] for v in order}, rules, NOW)
    assert len(reference) == len(shuffled)
    assert {tuple(o.to_dict().items()) for o in reference} == \
        {tuple(o.to_dict().items()) for o in shuffled}


def _final_state(batches: list[list[Quote]]) -> dict[str, tuple[float, ...]]:
    state = RedisState(fakeredis.FakeRedis(decode_responses=True), prefix="prop:")
    rules = Rules(lambda ex: 0.001)
    for batch in batches:
        engine.ingest(state, batch, rules, NOW + 10**9)
    return {
        o["buy_exchange"] + o["sell_exchange"]: (o["net_pct"], o["size"], o["net_profit"])
        for o in state.opportunities()
    }


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(VENUES), min_size=1, max_size=12), st.data())
def test_engine_state_is_independent_of_arrival_order(
    venues: list[str], data: st.DataObject
) -> None:
    stream = [data.draw(quotes(v, NOW + i)) for i, v in enumerate(venues)]
    in_order = _final_state([[q] for q in stream])
    shuffled = data.draw(st.permutations(stream))
    split = data.draw(st.integers(min_value=0, max_value=len(shuffled)))
    assert _final_state([shuffled[:split], shuffled[split:]]) == in_order
    assert _final_state([[q] for q in shuffled]) == in_order
