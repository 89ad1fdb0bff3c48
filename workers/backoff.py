"""Reconnect delays: exponential, capped, with jitter so many workers do not retry in step."""

from __future__ import annotations

import random


class Backoff:
    """Delays base·2ⁿ (capped) scaled by a random factor in [0.5, 1]; never gives up."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self.rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the ceiling up to the cap."""
        ceiling = min(self.cap_s, self.base_s * 2**self.attempt)
        self.attempt += 1
        return ceiling * self.rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start again from the base delay (after a connection that worked)."""
        self.attempt = 0
