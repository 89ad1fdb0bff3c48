"""SeriesGuard: one stored point per change of a series, across reconnects and coarse clocks."""

from __future__ import annotations

import pytest

from core.types import Quote
from workers.feed import SAME_INSTANT_NS, SeriesGuard

pytestmark = pytest.mark.unit

MS = 1_767_225_600_000 * 1_000_000  # a venue time on a millisecond


def quote(bid: float = 100.0, ts: int | None = MS, received: int = 5, symbol: str = "BTC-USD",
          last: float | None = None) -> Quote:
    return Quote("okx", symbol, bid, 1.0, 101.0, 2.0, last, ts, received)


def test_a_reconnect_that_shows_the_same_top_adds_no_point() -> None:
    guard = SeriesGuard()
    assert guard.admit([quote()], 1) == [quote()]
    again = quote(ts=MS + 5 * SAME_INSTANT_NS)
    assert guard.admit([again], 2) == []  # same top, new connection: not a change
    moved = quote(bid=100.5, ts=MS + 6 * SAME_INSTANT_NS)
    assert guard.admit([moved], 2) == [moved]
    # On the same connection an equal top is the adapter's business (it does not send one);
    # the guard only judges a market's first quote after a reconnect.
    assert guard.admit([quote(bid=100.5, ts=MS + 7 * SAME_INSTANT_NS)], 2) != []


def test_the_same_top_with_a_last_trade_is_still_no_change_after_a_reconnect() -> None:
    """A new connection may or may not know the last trade yet: the top decides."""
    guard = SeriesGuard()
    guard.admit([quote(last=100.5)], 1)
    assert guard.admit([quote(ts=MS + SAME_INSTANT_NS * 9)], 2) == []


def test_changes_in_one_millisecond_get_times_of_their_own() -> None:
    guard = SeriesGuard()
    first, second, third = quote(), quote(bid=100.1), quote(bid=100.2)
    out = guard.admit([first, second, third, quote(bid=1.0, symbol="ETH-USD")], 1)
    assert [q.ts_exchange_ns for q in out] == [MS, MS + 1, MS + 2, MS]
    # A quote without a venue time is moved on its receipt time instead.
    guard.admit([quote(ts=None, received=MS * 2, symbol="SOL-USD")], 1)
    (moved,) = guard.admit([quote(bid=3.0, ts=None, received=MS * 2, symbol="SOL-USD")], 1)
    assert moved.ts_received_ns == MS * 2 + 1 and moved.ts_exchange_ns is None


def test_an_out_of_order_update_keeps_its_own_time() -> None:
    guard = SeriesGuard()
    guard.admit([quote(ts=MS + 10 * SAME_INSTANT_NS)], 1)
    older = quote(bid=99.0, ts=MS)
    assert guard.admit([older], 1) == [older]


def test_quotes_are_handed_on_as_they_are_when_nothing_needs_changing() -> None:
    guard = SeriesGuard()
    quotes = [quote(), quote(bid=1.0, symbol="ETH-USD")]
    assert guard.admit(quotes, 1) is quotes
