"""The default SYMBOLS give every venue something to compare: each venue lists at least two of
them, and each is listed by at least two venues.

What a venue lists is read two ways: from its real recorded REST listing where the repository
has one (tests/fixtures/recorded/), and from its simulated twin, which lists what the venue
trades in each quote currency.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from core.config import DEFAULT_SYMBOLS
from tests.support.sessions import recorded, twin
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.unit

DEFAULTS = DEFAULT_SYMBOLS.split(",")


@cache
def listed(venue: str) -> frozenset[str]:
    """The default symbols the venue's twin lists."""
    return frozenset(m.symbol for m in twin(venue, DEFAULTS)[1])


@pytest.mark.parametrize("venue", known_exchanges())
def test_every_venue_lists_at_least_two_default_symbols(venue: str) -> None:
    assert len(listed(venue)) >= 2, (venue, sorted(listed(venue)))


@pytest.mark.parametrize("venue", known_exchanges())
def test_a_real_listing_holds_what_the_twin_lists(venue: str) -> None:
    """Where the venue's own listing was recorded, it trades at least two default symbols."""
    session = recorded(venue)
    if session is None:
        pytest.skip(f"{venue}: no recorded listing in tests/fixtures/recorded")
    real = {m.symbol for m in session[0]} & set(DEFAULTS)
    assert len(real) >= 2, (venue, sorted(real))


def test_every_default_symbol_is_on_at_least_two_venues() -> None:
    venues = Counter(symbol for venue in known_exchanges() for symbol in listed(venue))
    assert {s: venues[s] for s in DEFAULTS if venues[s] < 2} == {}
    # The new quote currencies have their pairs of venues.
    for symbol in ("BTC-KRW", "BTC-JPY", "BTC-EUR"):
        assert venues[symbol] >= 2, symbol
