"""Dislocations: one venue's price of one symbol shifted for a while, random or requested."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

FIRST_DISLOCATION_S = (1.0, 2.5)
DISLOCATION_GAP_S = (5.0, 15.0)
DISLOCATION_DURATION_S = (1.0, 3.0)
DISLOCATION_SHIFT = (0.010, 0.016)  # beats 0.4 % + 0.4 % taker fees plus spreads with room to spare


@dataclass(frozen=True, slots=True)
class Dislocation:
    """One venue's price of one symbol shifted by `shift` (relative) during [start, end)."""

    exchange: str
    symbol: str
    start_s: float
    end_s: float
    shift: float


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
