"""Triangular arbitrage within one venue: hand-computed cycles, fees on every leg, edge cases."""

from __future__ import annotations

import json

import pytest

from core.stores.triangles import decode_snapshot, encode_snapshot
from core.triangles import (
    Triangle,
    build_edges,
    find_cycles,
    find_triangles,
    to_triangle,
    venue_triangles,
)
from core.types import Quote

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000_000_000
S = 1_000_000_000
FEE = 0.001


def q(symbol: str, bid: float, ask: float, bid_size: float = 10.0, ask_size: float = 10.0,
      exchange: str = "v", age_s: float = 0.0) -> Quote:
    received = NOW - int(age_s * S)
    return Quote(exchange, symbol, bid, bid_size, ask, ask_size, None, None, received)


def profitable_market(**over: Quote) -> list[Quote]:
    """BTC at 100 USD, ETH at 0.05 BTC (= 5 USD) but ETH sells for 5.5 USD: a 10 % gross cycle
    USD → BTC → ETH → USD. The reverse direction loses (bid below ask on every market)."""
    market = {
        "BTC-USD": q("BTC-USD", 99.9, 100.0, bid_size=10.0, ask_size=2.0),
        "ETH-BTC": q("ETH-BTC", 0.0499, 0.05, bid_size=10.0, ask_size=10.0),
        "ETH-USD": q("ETH-USD", 5.5, 5.51, bid_size=3.0, ask_size=10.0),
    }
    market.update(over)
    return list(market.values())


def test_a_profitable_cycle_pays_the_fee_on_every_leg() -> None:
    [tri] = venue_triangles("v", profitable_market(), FEE, NOW)
    assert tri.exchange == "v"
    assert tri.path == ("USD", "BTC", "ETH", "USD")
    assert [(leg.symbol, leg.side, leg.price) for leg in tri.legs] == [
        ("BTC-USD", "buy", 100.0), ("ETH-BTC", "buy", 0.05), ("ETH-USD", "sell", 5.5)]
    # rates: (1/100)(0.999), (1/0.05)(0.999), 5.5 (0.999) → product 1.1 × 0.999³
    assert tri.gross_pct == pytest.approx(10.0)
    assert tri.net_pct == pytest.approx(100 * (1.1 * 0.999**3 - 1))  # 9.6703299 %
    assert tri.net_pct == pytest.approx(9.6703299, abs=1e-6)
    assert tri.fee == FEE


def test_the_start_is_limited_by_the_thinnest_leg() -> None:
    [tri] = venue_triangles("v", profitable_market(), FEE, NOW)
    # Start with x USD. Leg 1 takes up to 100 × 2 = 200 USD. Leg 2 receives 0.00999x BTC and
    # its ask offers 10 ETH = 0.5 BTC: x ≤ 50.05. Leg 3 receives 0.00999 × 19.98 x
    # = 0.1996002x ETH and its bid takes 3 ETH: x ≤ 15.0300... — the limit.
    assert tri.max_start == pytest.approx(3 / (0.00999 * 19.98))
    assert tri.max_start == pytest.approx(15.030045, abs=1e-6)
    assert tri.max_profit == pytest.approx(tri.max_start * (1.1 * 0.999**3 - 1))


def test_a_fair_market_has_no_cycle() -> None:
    # Consistent prices with a spread: each direction loses the spreads (and the fees).
    market = [q("BTC-USD", 100.0, 100.01), q("ETH-BTC", 0.05, 0.05001), q("ETH-USD", 5.0, 5.001)]
    assert venue_triangles("v", market, FEE, NOW) == []
    assert venue_triangles("v", market, 0.0, NOW) == []


def test_equal_prices_without_fees_are_not_a_cycle() -> None:
    # bid == ask everywhere and 64 × 0.0625 = 4 exactly: every cycle multiplies to exactly 1.
    market = [q("BTC-USD", 64.0, 64.0), q("ETH-BTC", 0.0625, 0.0625), q("ETH-USD", 4.0, 4.0)]
    assert venue_triangles("v", market, 0.0, NOW) == []
    assert venue_triangles("v", market, FEE, NOW) == []


def test_fees_can_kill_a_gross_profitable_cycle() -> None:
    # ETH sells for 5.01 instead of 5: gross +0.2 %, but 1.002 × 0.999³ = 0.998997 < 1.
    market = [q("BTC-USD", 99.99, 100.0), q("ETH-BTC", 0.04999, 0.05),
              q("ETH-USD", 5.01, 5.02)]
    assert venue_triangles("v", market, FEE, NOW) == []
    [tri] = venue_triangles("v", market, 0.0, NOW)
    assert tri.net_pct == pytest.approx(0.2) and tri.gross_pct == pytest.approx(0.2)


def test_a_crossed_book_on_one_leg_is_ignored() -> None:
    # ETH-BTC bid 0.051 above its ask 0.05: the venue's own book cannot be crossed, so the
    # quote is a glitch. Without it no cycle closes (and its bid/ask 2-cycle is not reported).
    crossed = q("ETH-BTC", 0.051, 0.05)
    assert venue_triangles("v", profitable_market(**{"ETH-BTC": crossed}), FEE, NOW) == []
    assert venue_triangles("v", [crossed], 0.0, NOW) == []


def test_a_leg_with_zero_size_cannot_be_traded() -> None:
    empty_ask = q("ETH-BTC", 0.0499, 0.05, ask_size=0.0)
    assert venue_triangles("v", profitable_market(**{"ETH-BTC": empty_ask}), FEE, NOW) == []
    empty_bid = q("ETH-USD", 5.5, 5.51, bid_size=0.0)
    assert venue_triangles("v", profitable_market(**{"ETH-USD": empty_bid}), FEE, NOW) == []


def test_zero_and_negative_prices_are_skipped() -> None:
    for bad in (q("ETH-USD", 0.0, 5.51), q("ETH-USD", -5.5, 5.51)):
        assert venue_triangles("v", profitable_market(**{"ETH-USD": bad}), FEE, NOW) == []


def test_a_stale_quote_breaks_the_cycle() -> None:
    stale = q("ETH-BTC", 0.0499, 0.05, age_s=6.0)
    assert venue_triangles("v", profitable_market(**{"ETH-BTC": stale}), FEE, NOW, 5.0) == []
    recent = q("ETH-BTC", 0.0499, 0.05, age_s=4.0)
    assert len(venue_triangles("v", profitable_market(**{"ETH-BTC": recent}), FEE, NOW, 5.0)) == 1


def test_min_net_pct_filters() -> None:
    assert len(venue_triangles("v", profitable_market(), FEE, NOW, min_net_pct=9.6)) == 1
    assert venue_triangles("v", profitable_market(), FEE, NOW, min_net_pct=9.7) == []


def test_the_newer_of_two_copies_of_a_market_wins() -> None:
    old = q("ETH-USD", 5.5, 5.51, bid_size=3.0, age_s=1.0)
    new = q("ETH-USD", 5.0, 5.001)  # the cycle is gone by now
    legs = profitable_market()[:2]
    assert venue_triangles("v", [*legs, old, new], FEE, NOW) == []
    assert venue_triangles("v", [*legs, new, old], FEE, NOW) == []
    assert len(venue_triangles("v", [*legs, old], FEE, NOW)) == 1


def test_cycles_sharing_a_leg_are_all_found() -> None:
    # Two cycles from USD through BTC: via ETH (+10 % gross) and via SOL (+4 % gross). One
    # Bellman-Ford pass settles on the stronger; the banned-edge search finds the other too.
    market = [*profitable_market(),
              q("SOL-BTC", 0.1999, 0.2), q("SOL-USD", 20.8, 20.81, bid_size=1.0)]
    found = {t.path: t for t in venue_triangles("v", market, FEE, NOW)}
    # A third, four-leg cycle pays too: buy SOL for USD at 20.81, sell it for BTC at 0.1999,
    # buy ETH for BTC at 0.05, sell ETH for USD at 5.5: 0.1999 × 20 × 5.5 / 20.81 = 1.05666.
    assert set(found) == {("USD", "BTC", "ETH", "USD"), ("USD", "BTC", "SOL", "USD"),
                          ("USD", "SOL", "BTC", "ETH", "USD")}
    sol = found[("USD", "BTC", "SOL", "USD")]
    assert sol.gross_pct == pytest.approx(4.0)
    assert sol.net_pct == pytest.approx(100 * (1.04 * 0.999**3 - 1))
    four = found[("USD", "SOL", "BTC", "ETH", "USD")]
    assert four.gross_pct == pytest.approx(100 * (0.1999 * 20 * 5.5 / 20.81 - 1))
    assert four.net_pct == pytest.approx(100 * (0.1999 * 20 * 5.5 / 20.81 * 0.999**4 - 1))
    assert [t.path for t in venue_triangles("v", market, FEE, NOW)][0] == ("USD", "BTC", "ETH",
                                                                           "USD")


def test_five_leg_cycles_are_not_reported() -> None:
    # USD → BTC → ETH → SOL → ADA → USD pays 4 % gross, and nothing shorter closes.
    market = [q("BTC-USD", 99.9, 100.0), q("ETH-BTC", 0.0499, 0.05), q("SOL-ETH", 0.249, 0.25),
              q("ADA-SOL", 0.999, 1.0), q("ADA-USD", 1.3, 1.31)]
    assert venue_triangles("v", market, FEE, NOW) == []
    [five] = [to_triangle("v", FEE, c) for c in find_cycles(build_edges(market, FEE, NOW), 5)]
    assert five.path == ("USD", "BTC", "ETH", "SOL", "ADA", "USD")
    assert five.gross_pct == pytest.approx(4.0)


def test_a_longer_cycle_is_found_when_no_triangle_pays() -> None:
    # USD → BTC → ETH → SOL → USD: BTC 100 USD, ETH 0.05 BTC, SOL 0.25 ETH (= 1.25 USD) but
    # SOL sells for 1.3 USD; no three-leg cycle exists among these markets.
    market = [q("BTC-USD", 99.9, 100.0), q("ETH-BTC", 0.0499, 0.05), q("SOL-ETH", 0.249, 0.25),
              q("SOL-USD", 1.3, 1.31)]
    [tri] = venue_triangles("v", market, FEE, NOW)
    assert tri.path == ("USD", "BTC", "ETH", "SOL", "USD")
    assert tri.net_pct == pytest.approx(100 * (1.3 / 1.25 * 0.999**4 - 1))


def test_rotations_are_one_cycle_shown_from_cash() -> None:
    # However the quotes are ordered, the cycle is reported once, starting at USD.
    market = profitable_market()
    assert [t.path for t in venue_triangles("v", market[::-1], FEE, NOW)] == [
        ("USD", "BTC", "ETH", "USD")]
    # Without any cash-like currency the path starts at the alphabetically first one.
    renamed = [q("BBB-AAA", 99.9, 100.0, ask_size=2.0), q("CCC-BBB", 0.0499, 0.05),
               q("CCC-AAA", 5.5, 5.51, bid_size=3.0)]
    [tri] = venue_triangles("v", renamed, FEE, NOW)
    assert tri.path == ("AAA", "BBB", "CCC", "AAA")


def test_cycles_never_mix_venues_and_each_venue_pays_its_own_fee() -> None:
    a = [q(s.symbol, s.bid, s.ask, s.bid_size, s.ask_size, exchange="a")
         for s in profitable_market()]
    # Venue b holds only one leg at a price that would complete a cycle with a's other legs.
    b = [q("ETH-USD", 50.0, 50.01, exchange="b")]
    fees = {"a": 0.002, "b": 0.0}
    [tri] = find_triangles([*a, *b], fees.__getitem__, NOW)
    assert tri.exchange == "a" and tri.fee == 0.002
    assert tri.net_pct == pytest.approx(100 * (1.1 * 0.998**3 - 1))


def test_odd_symbols_do_not_make_edges() -> None:
    edges = build_edges([q("BTCUSD", 1.0, 1.0), q("BTC-BTC", 1.0, 1.0), q("-USD", 1.0, 1.0)],
                        0.0, NOW)
    assert edges == []


def test_a_fee_outside_0_to_1_is_refused() -> None:
    for fee in (-0.001, 1.0):
        with pytest.raises(ValueError, match="taker fee"):
            build_edges(profitable_market(), fee, NOW)


def test_snapshot_round_trip_and_garbage() -> None:
    found = venue_triangles("v", profitable_market(), FEE, NOW)
    raw = encode_snapshot(found, 123)
    data = decode_snapshot(raw)
    assert data["computed_ns"] == 123
    [row] = data["triangles"]
    assert row["key"] == "v|USD>BTC>ETH>USD"
    assert row["path"] == ["USD", "BTC", "ETH", "USD"]
    assert row["legs"][2] == {"symbol": "ETH-USD", "side": "sell", "price": 5.5, "size": 3.0,
                              "from_ccy": "ETH", "to_ccy": "USD"}
    assert json.loads(raw) == data
    for junk in (None, "", "not json", "[]", '{"triangles": 3}'):
        assert decode_snapshot(junk) == {"triangles": [], "computed_ns": None}
    assert isinstance(found[0], Triangle)
