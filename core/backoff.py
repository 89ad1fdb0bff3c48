"""Retry delays: exponential and capped; `Backoff` adds jitter so clients do not retry in step."""

from __future__ import annotations

import random

# 2**64 times any sane base is far past any cap; bounding the exponent keeps a client that never
# gives up from overflowing the float conversion after about a thousand attempts.
_MAX_EXPONENT = 64


def capped_delay(attempt: int, base_s: float, cap_s: float) -> float:
    """Seconds before retry `attempt` (0-based): base, 2×, 4× ... up to `cap_s`."""
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    return min(cap_s, base_s * 2**exponent)


class Backoff:
    """Delays base·2ⁿ (capped) scaled by a random factor in [0.5, 1]; never gives up."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None):
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self.rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the ceiling up to the cap."""
        ceiling = capped_delay(self.attempt, self.base_s, self.cap_s)
        self.attempt += 1
        return ceiling * self.rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start again from the base delay (after a connection that worked)."""
        self.attempt = 0
