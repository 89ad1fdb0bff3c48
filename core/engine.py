"""One arbitrage pass over Redis state: store quotes, recompute symbols, open and close."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.arbitrage import find_opportunities
from core.state import RedisState
from core.types import Quote


@dataclass(slots=True)
class PassResult:
    """What one pass changed: events to publish and opportunities that closed."""

    events: list[tuple[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    stored_quotes: int = 0


def newest_per_series(quotes: Iterable[Quote]) -> list[Quote]:
    """Keep only the newest quote per (exchange, symbol): the rest is history, not state."""
    newest: dict[tuple[str, str], Quote] = {}
    for quote in quotes:
        key = (quote.exchange, quote.symbol)
        held = newest.get(key)
        if held is None or quote.ts_ns >= held.ts_ns:
            newest[key] = quote
    return list(newest.values())


def refresh_symbols(
    state: RedisState,
    symbols: Iterable[str],
    fee_of: Callable[[str], float],
    now_ns: int,
    max_age_s: float,
    min_net_pct: float,
    result: PassResult,
) -> None:
    """Recompute each symbol's opportunities from Redis; open, update or close them."""
    for symbol in symbols:
        found = find_opportunities(
            state.quotes_for(symbol), fee_of, now_ns, max_age_s, min_net_pct
        )
        live = {opp.key for opp in found}
        for opp in found:
            opened = state.upsert_opportunity(opp, now_ns)
            action = "open" if opened else "update"
            result.events.append(("opportunity", {"action": action, **opp.to_dict()}))
        for member in state.open_members(symbol) - live:
            record = state.close_opportunity(symbol, member)
            if record is not None:
                record["closed_ns"] = now_ns
                result.closed.append(record)
                result.events.append(("opportunity", {"action": "close", **record}))


def ingest(
    state: RedisState,
    quotes: Iterable[Quote],
    fee_of: Callable[[str], float],
    now_ns: int,
    max_age_s: float = 5.0,
    min_net_pct: float = 0.0,
) -> PassResult:
    """Store a batch's newest quotes and recompute the symbols whose state moved."""
    result = PassResult()
    applied = state.update_quotes(newest_per_series(quotes))
    result.stored_quotes = len(applied)
    result.events.extend(("quote", q.to_dict()) for q in applied)
    touched = sorted({q.symbol for q in applied})
    refresh_symbols(state, touched, fee_of, now_ns, max_age_s, min_net_pct, result)
    return result


def expire_stale(
    state: RedisState,
    fee_of: Callable[[str], float],
    now_ns: int,
    max_age_s: float = 5.0,
    min_net_pct: float = 0.0,
) -> PassResult:
    """Recompute every symbol with open opportunities, closing those whose quotes went stale."""
    result = PassResult()
    refresh_symbols(
        state, sorted(state.open_symbols()), fee_of, now_ns, max_age_s, min_net_pct, result
    )
    return result
