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
from dataclasses import dataclass, replace

# Start prices in USD for well-known assets; any other base starts near 100 (in whatever quote).
START_PRICES: dict[str, float] = {
    "USD": 1.0,
    "BTC": 64000.0,
    "ETH": 3200.0,
    "SOL": 150.0,
    "LTC": 80.0,
    "BCH": 400.0,
    "XRP": 0.6,
    "DOGE": 0.15,
    "ADA": 0.45,
    "DOT": 7.0,
    "LINK": 15.0,
    "USDT": 1.0,
    "USDC": 1.0,
    "DAI": 1.0,
}
DEFAULT_START_PRICE = 100.0
# Pegged at exactly 1 USD: a stablecoin quote must not drift from the dollar on its own (the
# per-venue bias and noise still give each venue its small premium or discount).
STABLECOINS = frozenset({"USD", "USDT", "USDC", "DAI"})

# The shared walk moves on a fixed time grid, so its path depends on the seed only.
WALK_STEP_S = 0.05
WALK_VOL_PER_SQRT_S = 0.0003  # ~0.03 % per sqrt(second): lively but believable
NOISE_KEEP = 0.95  # per-venue offset is mean-reverting, so venues never drift apart on their own
NOISE_STEP = 0.00002
VENUE_BIAS_MAX = 0.0001  # a small static premium/discount per venue
SPREAD_MIN, SPREAD_MAX = 0.00005, 0.00015  # relative spread per venue: 0.5 to 1.5 basis points
TRADE_PROBABILITY = 0.1  # about one trade per ten book changes
SIZE_DECIMALS = 8

FIRST_DISLOCATION_S = (1.0, 2.5)
DISLOCATION_GAP_S = (5.0, 15.0)
DISLOCATION_DURATION_S = (1.0, 3.0)
DISLOCATION_SHIFT = (0.010, 0.016)  # beats 0.4 % + 0.4 % taker fees plus spreads with room to spare


def _legs(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("-")
    return base, quote


def is_cross(symbol: str) -> bool:
    """True when both legs have a USD start price, so the pair is priced from the two walks."""
    base, quote = _legs(symbol)
    return base in START_PRICES and quote in START_PRICES


def start_price(symbol: str) -> float:
    """Return the walk's starting price for a `BASE-QUOTE` symbol, in units of its quote."""
    base, quote = _legs(symbol)
    if is_cross(symbol):
        return START_PRICES[base] / START_PRICES[quote]
    # An unknown quote (EUR...) is priced like USD: the level does not matter, only its moves.
    return START_PRICES.get(base, DEFAULT_START_PRICE)


def base_usd_price(symbol: str) -> float:
    """Rough USD value of one unit of the base: sizes are drawn to a USD notional with it."""
    return START_PRICES.get(_legs(symbol)[0], DEFAULT_START_PRICE)


def default_price_decimals(price: float) -> int:
    """Pick a sensible number of price decimals for an asset trading near `price`."""
    if price >= 10.0:
        return 2
    if price >= 1.0:
        return 4
    if price >= 0.01:
        return 6
    return 8


@dataclass(frozen=True, slots=True)
class Top:
    """Best bid and ask with sizes, already rounded to the venue's precision."""

    bid: float
    bid_size: float
    ask: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class Trade:
    """One simulated trade; `side` 0 = buy (taker lifted the ask), 1 = sell."""

    price: float
    amount: float
    side: int
    ts_us: int


@dataclass(frozen=True, slots=True)
class Change:
    """One top-of-book change of one (exchange, symbol), maybe followed by a trade.

    `skew_us` says how far `ts_us` (and the trade's) were moved off the true time on request
    (`POST /control/<exchange>/skew`): venues that keep clocks of their own (a time nudged past
    the previous one, a heartbeat schedule) keep them in true time.
    """

    exchange: str
    symbol: str
    top: Top
    ts_us: int
    trade: Trade | None
    skew_us: int = 0

    def skewed(self, offset_us: int) -> Change:
        """This change with its times (and its trade's) `offset_us` off."""
        trade = self.trade
        if trade is not None:
            trade = replace(trade, ts_us=trade.ts_us + offset_us)
        return replace(self, ts_us=self.ts_us + offset_us, trade=trade, skew_us=offset_us)


@dataclass(frozen=True, slots=True)
class Dislocation:
    """One venue's price of one symbol shifted by `shift` (relative) during [start, end)."""

    exchange: str
    symbol: str
    start_s: float
    end_s: float
    shift: float


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


class DislocationPlan:
    """Deterministic schedule of dislocations, generated lazily as market time advances."""

    def __init__(
        self,
        exchanges: list[str],
        symbols: list[str],
        rng: random.Random,
        pairs: Callable[[], list[tuple[str, str]]] | None = None,
        random_events: bool = True,
    ) -> None:
        self._exchanges = exchanges
        self._symbols = symbols
        self._rng = rng
        # The (exchange, symbol) pairs that exist: a venue that does not list a symbol (Binance
        # has no USD pairs) must not be picked, or its dislocation would move nothing.
        self._pairs = pairs
        self.random_events = random_events
        self._events: list[Dislocation] = []
        # Requested ones (the control endpoint) are kept apart: they win over the random schedule
        # and must not be trimmed away with it.
        self._requested: list[Dislocation] = []
        self._next_start = rng.uniform(*FIRST_DISLOCATION_S)

    def _extend_to(self, t_s: float) -> None:
        if not self.random_events:
            return
        while self._next_start <= t_s:
            rng = self._rng
            start = self._next_start
            duration = rng.uniform(*DISLOCATION_DURATION_S)
            sign = rng.choice((1.0, -1.0))
            pairs = sorted(self._pairs()) if self._pairs is not None else []
            if pairs:
                exchange, symbol = rng.choice(pairs)
            else:
                exchange, symbol = rng.choice(self._exchanges), rng.choice(self._symbols)
            self._events.append(
                Dislocation(
                    exchange=exchange,
                    symbol=symbol,
                    start_s=start,
                    end_s=start + duration,
                    shift=sign * rng.uniform(*DISLOCATION_SHIFT),
                )
            )
            self._next_start = start + max(rng.uniform(*DISLOCATION_GAP_S), duration + 0.5)
            # Only the last few events can still be active; keep the list short on long runs.
            if len(self._events) > 8:
                del self._events[:-8]

    def add(self, event: Dislocation) -> None:
        """Schedule a requested dislocation; while it is active it overrides any other."""
        # Ended ones can never matter again: market time only moves forward.
        self._requested = [e for e in self._requested if e.end_s > event.start_s]
        self._requested.append(event)

    def shift(self, exchange: str, symbol: str, t_s: float) -> float:
        """Relative price shift of (exchange, symbol) at market time `t_s` (0.0 when none)."""
        for event in reversed(self._requested):  # the newest request wins while they overlap
            if event.exchange == exchange and event.symbol == symbol:
                if event.start_s <= t_s < event.end_s:
                    return event.shift
        self._extend_to(t_s)
        for event in self._events:
            if event.exchange == exchange and event.symbol == symbol:
                if event.start_s <= t_s < event.end_s:
                    return event.shift
        return 0.0

    def upcoming(self, until_s: float) -> list[Dislocation]:
        """Every dislocation (random or requested) starting before `until_s`, for logs and tests."""
        self._extend_to(until_s)
        events = [e for e in [*self._events, *self._requested] if e.start_s < until_s]
        return sorted(events, key=lambda e: e.start_s)


class VenueBook:
    """One (exchange, symbol) top of book: noise, spread, sizes and a strictly rising clock."""

    def __init__(
        self, exchange: str, symbol: str, decimals: int, rng: random.Random, ref_price: float
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.decimals = decimals
        self.tick = 10.0**-decimals
        self._rng = rng
        self._bias = rng.uniform(-VENUE_BIAS_MAX, VENUE_BIAS_MAX)
        self._spread = rng.uniform(SPREAD_MIN, SPREAD_MAX)
        self._offset = 0.0
        # Typical top-level size is worth a few thousand USD; `ref_price` is the base's USD value
        # (for ETH-BTC that is ETH's, not the 0.05 BTC it is quoted at).
        self._notional = 5000.0 / ref_price
        self.top: Top | None = None
        self.last_ts_us = 0

    def _size(self) -> float:
        size = self._notional * self._rng.lognormvariate(0.0, 0.9)
        return max(round(size, SIZE_DECIMALS), 10.0**-SIZE_DECIMALS)

    def next_ts(self, now_us: int) -> int:
        """Logical clock: wall time, but at least 1 µs after this book's previous timestamp."""
        ts = now_us if now_us > self.last_ts_us else self.last_ts_us + 1
        self.last_ts_us = ts
        return ts

    def next_top(self, mid: float, shift: float) -> Top:
        """Draw a new top of book around `mid` that differs from the previous one."""
        rng = self._rng
        self._offset = self._offset * NOISE_KEEP + rng.gauss(0.0, NOISE_STEP)
        fair = mid * (1.0 + self._bias + self._offset + shift)
        tick = self.tick
        spread_ticks = max(1, round(fair * self._spread / tick)) + rng.choice((0, 0, 1, 2))
        bid_ticks = math.floor((fair - spread_ticks * tick / 2.0) / tick)
        bid = round(bid_ticks * tick, self.decimals)
        ask = round((bid_ticks + spread_ticks) * tick, self.decimals)
        prev = self.top
        if prev is None:
            top = Top(bid, self._size(), ask, self._size())
        else:
            # Sizes persist unless that side's price moved or the level was hit/refilled.
            bid_size = self._size() if bid != prev.bid or rng.random() < 0.5 else prev.bid_size
            ask_size = self._size() if ask != prev.ask or rng.random() < 0.5 else prev.ask_size
            top = Top(bid, bid_size, ask, ask_size)
            if top == prev:
                # Every emitted change must move the top of book; nudge one size by a lot.
                top = Top(bid, round(bid_size + 10.0**-SIZE_DECIMALS * 1000, 8), ask, ask_size)
        self.top = top
        return top

    def maybe_trade(self, now_us: int) -> Trade | None:
        """Occasionally a trade at the current top (about one per ten changes)."""
        top = self.top
        if top is None or self._rng.random() >= TRADE_PROBABILITY:
            return None
        side = self._rng.randrange(2)
        price = top.ask if side == 0 else top.bid
        limit = top.ask_size if side == 0 else top.bid_size
        amount = round(min(limit, self._size() * self._rng.uniform(0.05, 0.5)), SIZE_DECIMALS)
        amount = max(amount, 10.0**-SIZE_DECIMALS)
        return Trade(price=price, amount=amount, side=side, ts_us=self.next_ts(now_us))


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
        if asset in STABLECOINS:
            return lambda t_s: 1.0
        return self._walk(f"{asset}-USD", START_PRICES[asset]).price_at

    def _pricer(self, symbol: str) -> Callable[[float], float]:
        """Fair price of `symbol` as a function of market time."""
        pricer = self._pricers.get(symbol)
        if pricer is None:
            base, quote = _legs(symbol)
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
