"""The 24 h figures a simulated ticker carries, moved by simulated trades."""

from __future__ import annotations

import random


class DayStats:
    """Open, low, high, volume and notional of one symbol's last 24 h, plus its last trade.

    The draws are made in a fixed order (open, low, high, volume) from the venue's own
    generator, so a seed gives the same figures every run.
    """

    def __init__(self, rng: random.Random, price: float, volume_usd: tuple[float, float]) -> None:
        self.open = price * (1.0 + rng.uniform(-0.03, 0.03))
        self.low = min(self.open, price) * (1.0 - rng.uniform(0.002, 0.02))
        self.high = max(self.open, price) * (1.0 + rng.uniform(0.002, 0.02))
        self.volume = rng.uniform(*volume_usd) / price
        self.notional = self.volume * price
        self.last: float | None = None

    def trade(self, price: float, amount: float) -> None:
        """Account for one trade."""
        self.last = price
        self.volume += amount
        self.notional += price * amount
        self.low = min(self.low, price)
        self.high = max(self.high, price)
