"""Price model: shared random walks, per-venue noise, dislocations and top-of-book changes.

Pure: no I/O and no clock reads. Callers pass the time in, so a seed fixes the price path and the
dislocation schedule, and the model can be driven by a test at any speed.

Every asset with a start price has one walk in USD; a symbol whose base and quote both have one
(ETH-BTC, BTC-USDT) is priced as the ratio of the two, so BTC-USD, ETH-USD and ETH-BTC stay near
fair as a triangle and only venue noise and dislocations open gaps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from simulator.assets import (
    FIXED_USD,
    START_PRICES,
    base_usd_price,
    default_price_decimals,
    is_cross,
    legs,
    start_price,
)
from simulator.changes import Change
from simulator.dislocations import Dislocation, DislocationPlan
from simulator.venue_book import VenueBook

# The shared walk moves on a fixed time grid, so its path depends on the seed only.
WALK_STEP_S = 0.05
WALK_VOL_PER_SQRT_S = 0.0003  # ~0.03 % per sqrt(second): lively but believable


class RandomWalk:
    """A geometric random walk on a fixed time grid, advanced lazily as time moves forward."""

    def __init__(self, start: float, rng: random.Random) -> None:
        self._rng = rng
        self._log_price = math.log(start)
        self._steps = 0
        self._sigma = WALK_VOL_PER_SQRT_S * math.sqrt(WALK_STEP_S)

    def price_at(self, t_s: float) -> float:
        """Price at market time `t_s` (seconds since the market started)."""
        target = int(max(t_s, 0.0) / WALK_STEP_S)
        gap = target - self._steps
        if gap > 100_000:
            # After a long idle period one draw with the summed variance is equivalent and cheap.
            self._log_price += self._rng.gauss(0.0, self._sigma * math.sqrt(gap))
        else:
            for _ in range(gap):
                self._log_price += self._rng.gauss(0.0, self._sigma)
        self._steps = max(self._steps, target)
        return math.exp(self._log_price)


class Market:
    """Every asset's shared walk plus every venue's book; the source of all price changes."""

    def __init__(
        self, exchanges: list[str], symbols: list[str], seed: int, random_dislocations: bool = True
    ) -> None:
        self.exchanges = list(exchanges)
        self.symbols = list(symbols)
        self.seed = seed
        # One walk per key, made on first use. String seeds hash deterministically, so each stream
        # is independent but reproducible; an asset's USD walk keeps the `BASE-USD` key, so the
        # path of BTC-USD for a given seed is the same whatever else is simulated.
        self._walks: dict[str, RandomWalk] = {}
        self._pricers: dict[str, Callable[[float], float]] = {}
        self.dislocations = DislocationPlan(
            self.exchanges, self.symbols, random.Random(f"{seed}:dislocations"),
            pairs=lambda: list(self._books), random_events=random_dislocations,
        )
        self._books: dict[tuple[str, str], VenueBook] = {}
        self.start_us: int | None = None

    def start(self, now_us: int) -> None:
        """Anchor market time at the first emission of any venue (idempotent)."""
        if self.start_us is None:
            self.start_us = now_us

    def market_time(self, now_us: int) -> float:
        """Seconds since the market started (0 before it started)."""
        if self.start_us is None:
            return 0.0
        return max(0, now_us - self.start_us) / 1e6

    def book(self, exchange: str, symbol: str, decimals: int | None = None) -> VenueBook:
        """The (exchange, symbol) book, created on first use with the venue's price decimals."""
        key = (exchange, symbol)
        book = self._books.get(key)
        if book is None:
            places = default_price_decimals(start_price(symbol)) if decimals is None else decimals
            rng = random.Random(f"{self.seed}:book:{exchange}:{symbol}")
            book = VenueBook(exchange, symbol, places, rng, base_usd_price(symbol))
            self._books[key] = book
        return book

    def _walk(self, key: str, start: float) -> RandomWalk:
        walk = self._walks.get(key)
        if walk is None:
            walk = RandomWalk(start, random.Random(f"{self.seed}:walk:{key}"))
            self._walks[key] = walk
        return walk

    def _usd_price(self, asset: str) -> Callable[[float], float]:
        if asset in FIXED_USD:
            price = START_PRICES[asset]
            return lambda t_s: price
        return self._walk(f"{asset}-USD", START_PRICES[asset]).price_at

    def _pricer(self, symbol: str) -> Callable[[float], float]:
        """Fair price of `symbol` as a function of market time."""
        pricer = self._pricers.get(symbol)
        if pricer is None:
            base, quote = legs(symbol)
            if is_cross(symbol):
                base_usd, quote_usd = self._usd_price(base), self._usd_price(quote)

                def pricer(t_s: float) -> float:
                    return base_usd(t_s) / quote_usd(t_s)
            else:
                pricer = self._walk(symbol, start_price(symbol)).price_at
            self._pricers[symbol] = pricer
        return pricer

    def mid(self, symbol: str, now_us: int) -> float:
        """The shared fair price of `symbol` at wall time `now_us`."""
        return self._pricer(symbol)(self.market_time(now_us))

    def dislocate(
        self, exchange: str, symbol: str, start_us: int, end_us: int, shift: float
    ) -> Dislocation:
        """Shift (exchange, symbol) by `shift` (relative) from wall time `start_us` to `end_us`."""
        self.start(start_us)
        event = Dislocation(
            exchange=exchange,
            symbol=symbol,
            start_s=self.market_time(start_us),
            end_s=self.market_time(end_us),
            shift=shift,
        )
        self.dislocations.add(event)
        return event

    def next_change(self, exchange: str, symbol: str, now_us: int) -> Change:
        """Produce the next top-of-book change of (exchange, symbol) at wall time `now_us`."""
        self.start(now_us)
        book = self.book(exchange, symbol)
        t_s = self.market_time(now_us)
        mid = self._pricer(symbol)(t_s)
        top = book.next_top(mid, self.dislocations.shift(exchange, symbol, t_s))
        ts_us = book.next_ts(now_us)
        return Change(exchange, symbol, top, ts_us, book.maybe_trade(now_us))
