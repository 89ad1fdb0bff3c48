"""One arbitrage pass over Redis state: store quotes and books, recompute symbols, open and close.

A pass costs four round trips however many symbols it touches: apply the batch and read the
changed symbols in one atomic script, write the opens and updates, write the closes, publish
(done by the caller).
Every opportunity carries its snapshot's version, so with several workers a decision taken from
an older snapshot never overwrites one taken from a newer snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.arbitrage import Rules, find_opportunities, is_fresh
from core.state import RedisState
from core.stores.quotes import Snapshot
from core.types import Depth, Opportunity, Quote


@dataclass(slots=True)
class PassResult:
    """What one pass changed: events to publish and opportunities that closed."""

    events: list[tuple[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    live: list[dict[str, Any]] = field(default_factory=list)  # opened or updated this pass
    stored_quotes: int = 0
    stored_books: int = 0
    superseded: int = 0  # decisions refused because a newer snapshot already decided


Item = TypeVar("Item", Quote, Depth)


def _newest(items: Iterable[Item], ts_of: Callable[[Item], int]) -> list[Item]:
    """Keep only the newest item per (exchange, symbol): the rest is history, not state."""
    newest: dict[tuple[str, str], Item] = {}
    for item in items:
        key = (item.exchange, item.symbol)
        held = newest.get(key)
        if held is None or ts_of(item) >= ts_of(held):
            newest[key] = item
    return list(newest.values())


def newest_per_series(quotes: Iterable[Quote]) -> list[Quote]:
    """The newest quote per (exchange, symbol), by the quote's own time."""
    return _newest(quotes, lambda q: q.ts_ns)


def newest_books(books: Iterable[Depth]) -> list[Depth]:
    """The newest book per (exchange, symbol)."""
    return _newest(books, lambda b: b.ts_ns)


def closing_time(member: str, snap: Snapshot, now_ns: int, max_age_s: float) -> int:
    """When a pair stopped being an opportunity, by the quotes' own receive times.

    Fell below the threshold: the newer of its two quotes. A quote went stale or vanished: the
    moment it aged out (never later than now), so queue lag does not stretch durations.
    """
    _, buy, sell = member.split("|")
    pair = [snap.quotes.get(buy), snap.quotes.get(sell)]
    if all(q is not None and is_fresh(q, now_ns, max_age_s) for q in pair):
        return max(q.ts_received_ns for q in pair if q is not None)
    expiries = [
        q.ts_received_ns + int(max_age_s * 1e9)
        for q in pair if q is not None and not is_fresh(q, now_ns, max_age_s)
    ]
    return min([now_ns, *expiries])


def decide(
    snapshots: dict[str, Snapshot],
    rules: Rules,
    now_ns: int,
    changed: dict[str, set[str]] | None = None,
) -> tuple[list[Opportunity], list[tuple[str, str, int, int]]]:
    """Pure step: opportunities to open or update, and (symbol, member, version, at) to close.

    With `changed` (symbol → exchanges whose quote or book this pass stored), an opportunity
    already open whose two venues did not change is not written again: its figures are the
    same, and its samples then count real changes rather than passes.
    """
    upserts: list[Opportunity] = []
    closes: list[tuple[str, str, int, int]] = []
    for symbol, snap in snapshots.items():
        found = find_opportunities(snap.quotes, rules, now_ns, snap.books)
        moved = None if changed is None else changed.get(symbol, set())
        live = set()
        for opp in found:
            opp.version = snap.version
            live.add(opp.key)
            if (moved is not None and opp.key in snap.open_members
                    and opp.buy_exchange not in moved and opp.sell_exchange not in moved):
                continue
            upserts.append(opp)
        for member in sorted(snap.open_members - live):
            at = closing_time(member, snap, now_ns, rules.max_age_s)
            closes.append((symbol, member, snap.version, at))
    return upserts, closes


def refresh_symbols(
    state: RedisState,
    symbols: Iterable[str],
    rules: Rules,
    now_ns: int,
    result: PassResult,
    changed: dict[str, set[str]] | None = None,
) -> None:
    """Recompute symbols from one atomic snapshot; open, update or close their opportunities."""
    write_decisions(state, state.snapshot(sorted(set(symbols))), rules, now_ns, result, changed)


def write_decisions(
    state: RedisState,
    snapshots: dict[str, Snapshot],
    rules: Rules,
    now_ns: int,
    result: PassResult,
    changed: dict[str, set[str]] | None = None,
) -> None:
    """Decide from snapshots and write the opens, updates and closes (two round trips)."""
    upserts, closes = decide(snapshots, rules, now_ns, changed)
    for opp, outcome in zip(upserts, state.upsert_many(upserts), strict=True):
        if outcome < 0:
            result.superseded += 1
            continue
        data = {"action": "open" if outcome == 1 else "update", **opp.to_dict()}
        result.live.append(data)
        result.events.append(("opportunity", data))
    for (_, _, _, at), record in zip(closes, state.close_many(closes), strict=True):
        if record is None:
            continue  # another worker closed it, or a newer snapshot kept it open
        record["closed_ns"] = max(at, record["opened_ns"])
        result.closed.append(record)
        result.events.append(("opportunity", {"action": "close", **record}))


def ingest(
    state: RedisState,
    quotes: Iterable[Quote],
    rules: Rules,
    now_ns: int,
    books: Iterable[Depth] = (),
) -> PassResult:
    """Store a batch's newest quotes and books and recompute the symbols whose state moved."""
    result = PassResult()
    applied, applied_books, snapshots = state.apply_and_snapshot(
        newest_per_series(quotes), newest_books(books)
    )
    result.stored_quotes = len(applied)
    result.stored_books = len(applied_books)
    result.events.extend(("quote", q.to_dict()) for q in applied)
    changed: dict[str, set[str]] = {}
    for item in (*applied, *applied_books):
        changed.setdefault(item.symbol, set()).add(item.exchange)
    if changed:
        write_decisions(state, snapshots, rules, now_ns, result, changed)
    return result


def expire_stale(state: RedisState, rules: Rules, now_ns: int) -> PassResult:
    """Recompute every symbol with open opportunities, closing those whose quotes went stale."""
    result = PassResult()
    symbols = state.open_symbols()
    if symbols:  # nothing changed: only closes (and pairs not yet open) are written
        refresh_symbols(state, symbols, rules, now_ns, result, changed={})
    return result


def recompute_all(state: RedisState, rules: Rules, now_ns: int) -> PassResult:
    """Recompute every known symbol (after a restart or a change of fees or thresholds)."""
    result = PassResult()
    refresh_symbols(state, state.symbols(), rules, now_ns, result)
    return result
