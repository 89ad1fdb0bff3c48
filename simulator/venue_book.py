"""One venue's top of book of one symbol: its noise around the fair price, spread, sizes, clock."""

from __future__ import annotations

import math
import random

from simulator.changes import Top, Trade

NOISE_KEEP = 0.95  # per-venue offset is mean-reverting, so venues never drift apart on their own
NOISE_STEP = 0.00002
VENUE_BIAS_MAX = 0.0001  # a small static premium/discount per venue
SPREAD_MIN, SPREAD_MAX = 0.00005, 0.00015  # relative spread per venue: 0.5 to 1.5 basis points
TRADE_PROBABILITY = 0.1  # about one trade per ten book changes
SIZE_DECIMALS = 8


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
